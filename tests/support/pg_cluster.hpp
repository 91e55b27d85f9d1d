// A throwaway PostgreSQL 15 cluster for one test binary: initdb in a temporary directory, a free port,
// the settings and the access rules of ./flashtix up (embedded/postgresql.conf, access/pg_hba.conf), the
// flashuser role with a password of its own and the flashtix database.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

struct pg_conn;  // libpq's PGconn, kept out of this header

namespace flashtix::test {

// Closes a libpq connection (PQfinish).
struct PgConnectionCloser {
  void operator()(pg_conn* conn) const;
};

// Query results as text, row by row; SQL NULL reads as an empty string.
using Rows = std::vector<std::vector<std::string>>;

// One connection of its own, as a second client of the database: for a test that holds a transaction
// (and its locks) open while the services work.
class PgSession {
 public:
  explicit PgSession(std::unique_ptr<pg_conn, PgConnectionCloser> conn) : conn_(std::move(conn)) {}
  Rows exec(const std::string& sql);

 private:
  std::unique_ptr<pg_conn, PgConnectionCloser> conn_;
};

class PgCluster {
 public:
  // Boots the cluster and waits until it accepts connections; throws with the server log tail on failure.
  PgCluster();
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  unsigned short port() const { return port_; }
  // postgresql://flashuser:<password>@127.0.0.1:<port>/flashtix
  std::string database_url() const;
  // flashuser's password, random per cluster.
  const std::string& password() const { return password_; }

  // Why a login over TCP as `user` (with `password`, when given) fails; empty when it succeeds.
  std::string tcp_login_error(const std::string& user, const std::optional<std::string>& password) const;
  // Why a login over the Unix socket as `user`, without a password, fails; empty when it succeeds.
  std::string socket_login_error(const std::string& user) const;

  // Runs SQL as flashuser over TCP with its password, as `psql -h 127.0.0.1 -U flashuser -d flashtix` does,
  // on a new connection each call (so the database's search_path applies and any thread may call it).
  Rows query(const std::string& sql) const;
  // Runs SQL as the superuser over the Unix socket, on a connection kept per database (any thread may call it).
  Rows admin_query(const std::string& sql, const std::string& database = "flashtix") const;
  // A new superuser connection of the caller's own.
  std::unique_ptr<PgSession> session(const std::string& database = "flashtix") const;
  // Runs db/checks/ledger.sql: one row per event whose books do not balance; empty means all is well.
  Rows ledger_violations() const;

  // Stops the server at once, as a crash would (what `pg_ctl stop -m immediate` does), keeping the data.
  void stop_server();
  // Starts it again on the same port and data directory and waits until it accepts connections.
  void start_server();
  bool server_running() const { return server_pid_ > 0; }

  const std::string& directory() const { return dir_; }
  std::string log_path() const { return dir_ + "/postgres.log"; }
  std::string log_tail(std::size_t max_bytes = 4000) const;
  // Keeps the logs after the cluster stops, for a look after a failed run; the data directory goes
  // unless FLASHTIX_TEST_KEEP_DIRS is set, so that failed runs do not fill /tmp.
  void keep_logs() { keep_logs_ = true; }

 private:
  void init_data_directory();
  void write_access_rules() const;
  void wait_until_accepting();
  void create_role_and_database();

  std::string dir_;
  std::string password_;
  unsigned short port_ = 0;
  mutable std::mutex admin_mutex_;
  mutable std::map<std::string, std::unique_ptr<pg_conn, PgConnectionCloser>> admin_connections_;
  pid_t server_pid_ = -1;
  bool keep_all_ = false;
  bool keep_logs_ = false;
};

}  // namespace flashtix::test
