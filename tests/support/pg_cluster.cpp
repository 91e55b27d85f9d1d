// Boots and stops a private PostgreSQL 15 server for the black-box tests and runs SQL against it with libpq.
#include "support/pg_cluster.hpp"

#include <libpq-fe.h>
#include <pwd.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/credentials.hpp"
#include "support/posix.hpp"

#ifndef FLASHTIX_SOURCE_DIR
#error "FLASHTIX_SOURCE_DIR must name the source tree (db/checks/ledger.sql, access/pg_hba.conf, embedded/)"
#endif

namespace flashtix::test {

void PgConnectionCloser::operator()(pg_conn* conn) const { PQfinish(conn); }

namespace {

const std::string kPgBin = "/usr/lib/postgresql/15/bin";
const std::string kSuperuser = "postgres";
constexpr auto kStartTimeout = std::chrono::seconds(60);
constexpr auto kInitdbTimeout = std::chrono::seconds(120);

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};

using Connection = std::unique_ptr<PGconn, PgConnectionCloser>;

Connection connect(const char* const* keys, const char* const* values) {
  Connection conn(PQconnectdbParams(keys, values, 0));
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    throw std::runtime_error(std::string("connecting to the test database failed: ") + PQerrorMessage(conn.get()));
  }
  return conn;
}

Rows run_sql(PGconn* conn, const std::string& sql) {
  std::unique_ptr<PGresult, ResultDeleter> result(PQexec(conn, sql.c_str()));
  const ExecStatusType status = PQresultStatus(result.get());
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    throw std::runtime_error("SQL failed: " + std::string(PQresultErrorMessage(result.get())) + "SQL: " + sql);
  }
  Rows rows;
  const int row_count = PQntuples(result.get());
  const int column_count = PQnfields(result.get());
  rows.reserve(static_cast<std::size_t>(row_count));
  for (int row = 0; row < row_count; ++row) {
    std::vector<std::string>& cells = rows.emplace_back();
    for (int column = 0; column < column_count; ++column) cells.emplace_back(PQgetvalue(result.get(), row, column));
  }
  return rows;
}

std::string read_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error("cannot read " + path);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

// Writes over an existing file, which keeps its owner (postgres, when the tests run as root).
void overwrite_file(const std::string& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << text;
  if (!file.flush()) throw std::runtime_error("cannot write " + path);
}

// Adds to the end of an existing file, which keeps its owner too.
void append_file(const std::string& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary | std::ios::app);
  file << text;
  if (!file.flush()) throw std::runtime_error("cannot write " + path);
}

// The name of the account this process runs as, which the access rules let in as the superuser.
std::string own_account_name() {
  const passwd* account = ::getpwuid(::geteuid());
  if (account == nullptr) throw std::runtime_error("this process's account has no name (getpwuid)");
  return account->pw_name;
}

// A login attempt's error, or empty when it succeeded.
std::string login_error(const char* const* keys, const char* const* values) {
  const Connection conn(PQconnectdbParams(keys, values, 0));
  return PQstatus(conn.get()) == CONNECTION_OK ? "" : PQerrorMessage(conn.get());
}

}  // namespace

PgCluster::PgCluster() {
  dir_ = make_temp_dir("flashtix-pg-");
  password_ = random_password();
  keep_all_ = std::getenv("FLASHTIX_TEST_KEEP_DIRS") != nullptr;
  try {
    init_data_directory();
    write_access_rules();
    port_ = free_tcp_port();
    start_server();
    create_role_and_database();
  } catch (...) {
    // A cluster that never booted is still cleaned up; its logs are already in the exception's message.
    if (server_pid_ > 0) stop_server();
    if (!keep_all_) remove_tree(dir_);
    throw;
  }
}

PgCluster::~PgCluster() {
  try {
    if (server_pid_ > 0) stop_server();
  } catch (const std::exception& e) {
    std::cerr << "[harness] stopping PostgreSQL failed: " << e.what() << "\n";
  }
  if (keep_all_) {
    std::cerr << "[harness] PostgreSQL directory kept: " << dir_ << "\n";
  } else if (keep_logs_) {
    remove_tree(dir_ + "/data");
    std::cerr << "[harness] PostgreSQL logs kept: " << dir_ << "\n";
  } else {
    remove_tree(dir_);
  }
}

std::string PgCluster::database_url() const {
  return "postgresql://flashuser:" + password_ + "@127.0.0.1:" + std::to_string(port_) + "/flashtix";
}

void PgCluster::init_data_directory() {
  const auto account = postgres_account_if_root();
  // The server runs as `postgres` when we are root, so that account must own its directory.
  if (account && ::chown(dir_.c_str(), account->uid, account->gid) != 0) {
    throw std::runtime_error("chown " + dir_ + " to postgres failed");
  }
  SpawnOptions options;
  // As ./flashtix makes its clusters (embedded/initdb.options); the pg_hba.conf is replaced before the first
  // start (write_access_rules).
  std::vector<std::string> initdb{kPgBin + "/initdb", "-D", dir_ + "/data"};
  std::istringstream lines(read_file(std::string(FLASHTIX_SOURCE_DIR) + "/embedded/initdb.options"));
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line[0] != '#') initdb.push_back(line);
  }
  // The harness's own: only initdb's final flush is skipped (a test cluster lives minutes); the server
  // itself runs durable.
  initdb.push_back("--no-sync");
  if (account) {
    options.argv = {"/usr/sbin/runuser", "-u", "postgres", "--"};
    options.argv.insert(options.argv.end(), initdb.begin(), initdb.end());
  } else {
    options.argv = initdb;
  }
  options.env = {{"LC_ALL", "C.UTF-8"}};
  options.log_path = dir_ + "/initdb.log";
  const int code = run_to_completion(options, kInitdbTimeout);
  if (code != 0) {
    throw std::runtime_error("initdb exited with " + std::to_string(code) + "; log tail:\n" +
                             file_tail(options.log_path));
  }
  // The settings of ./flashtix's clusters, from the same file (embedded/postgresql.conf): loopback only,
  // durable commits, SCRAM passwords, 300 connections. What is the harness's own is on the server's
  // command line (start_server).
  append_file(dir_ + "/data/postgresql.conf",
              "\n" + read_file(std::string(FLASHTIX_SOURCE_DIR) + "/embedded/postgresql.conf"));
}

void PgCluster::write_access_rules() const {
  // The rules of ./flashtix up (which installs the same file): the superuser only over the socket, as this
  // process's account; flashuser only over TCP with its password. So every test logs in as production does.
  overwrite_file(dir_ + "/data/pg_hba.conf", read_file(std::string(FLASHTIX_SOURCE_DIR) + "/access/pg_hba.conf"));
  overwrite_file(dir_ + "/data/pg_ident.conf", "owner " + own_account_name() + " postgres\n");
}

void PgCluster::start_server() {
  if (server_pid_ > 0) return;
  SpawnOptions options;
  // The server is our own child rather than pg_ctl's or runuser's (both fork), so the parent-death
  // signal reaches it: SIGQUIT is an immediate shutdown that also ends the backends.
  // On top of embedded/postgresql.conf, the harness's own: the socket in the cluster's directory, a free
  // port, and a quieter log whose lines say when, which process and who.
  options.argv = {kPgBin + "/postgres", "-D", dir_ + "/data", "-k", dir_, "-p", std::to_string(port_)};
  options.argv.insert(options.argv.end(), {"-c", "log_min_messages=warning", "-c", "log_line_prefix=%m [%p] %q%u@%d "});
  options.env = {{"LC_ALL", "C.UTF-8"}};
  options.log_path = log_path();
  options.run_as = postgres_account_if_root();
  options.parent_death_signal = SIGQUIT;
  server_pid_ = spawn(options);
  wait_until_accepting();
}

void PgCluster::wait_until_accepting() {
  const std::string conninfo = "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=postgres connect_timeout=2";
  const std::string not_accepting = "accept connections on port " + std::to_string(port_);
  wait_until_started(
      server_pid_, "PostgreSQL", [&] { return PQping(conninfo.c_str()) == PQPING_OK ? std::string() : not_accepting; },
      kStartTimeout, std::chrono::milliseconds(50), log_path());
}

void PgCluster::stop_server() {
  {
    const std::lock_guard lock(admin_mutex_);
    admin_connections_.clear();
  }
  if (server_pid_ <= 0) return;
  const pid_t pid = server_pid_;
  server_pid_ = -1;
  stop_process(pid, SIGQUIT, std::chrono::seconds(15));
}

void PgCluster::create_role_and_database() {
  // The password is hex, so it needs no quoting; the statement is not logged (log_statement is off).
  admin_query("CREATE ROLE flashuser LOGIN PASSWORD '" + password_ + "'", "postgres");
  admin_query("CREATE DATABASE flashtix OWNER flashuser", "postgres");
}

Rows PgCluster::query(const std::string& sql) const {
  const std::string port = std::to_string(port_);
  const char* keys[] = {"host", "port", "user", "password", "dbname", "connect_timeout", "application_name", nullptr};
  const char* values[] = {"127.0.0.1", port.c_str(), "flashuser",      password_.c_str(),
                          "flashtix",  "10",         "flashtix-tests", nullptr};
  const Connection conn = connect(keys, values);
  return run_sql(conn.get(), sql);
}

std::string PgCluster::tcp_login_error(const std::string& user, const std::optional<std::string>& password) const {
  const std::string port = std::to_string(port_);
  // No password file either: a ~/.pgpass must not answer for the test.
  const char* keys[] = {"host", "port", "user", "dbname", "passfile", "connect_timeout", "password", nullptr};
  const char* values[] = {"127.0.0.1", port.c_str(), user.c_str(), "flashtix", "/dev/null", "10",
                          password ? password->c_str() : nullptr, nullptr};
  return login_error(keys, values);
}

std::string PgCluster::socket_login_error(const std::string& user) const {
  const std::string port = std::to_string(port_);
  const char* keys[] = {"host", "port", "user", "dbname", "passfile", "connect_timeout", nullptr};
  const char* values[] = {dir_.c_str(), port.c_str(), user.c_str(), "flashtix", "/dev/null", "10", nullptr};
  return login_error(keys, values);
}

Rows PgCluster::admin_query(const std::string& sql, const std::string& database) const {
  // Tests check the database after nearly every request; a kept connection makes that cheap.
  const std::lock_guard lock(admin_mutex_);
  auto& cached = admin_connections_[database];
  if (cached && PQstatus(cached.get()) != CONNECTION_OK) cached.reset();
  if (!cached) {
    const std::string port = std::to_string(port_);
    const char* keys[] = {"host", "port", "user", "dbname", "connect_timeout", "application_name", nullptr};
    const char* values[] = {dir_.c_str(),     port.c_str(), kSuperuser.c_str(), database.c_str(), "10",
                            "flashtix-tests", nullptr};
    cached = connect(keys, values);
  }
  try {
    return run_sql(cached.get(), sql);
  } catch (...) {
    // A broken connection is not kept; the next call connects anew.
    if (PQstatus(cached.get()) != CONNECTION_OK) cached.reset();
    throw;
  }
}

Rows PgSession::exec(const std::string& sql) { return run_sql(conn_.get(), sql); }

std::unique_ptr<PgSession> PgCluster::session(const std::string& database) const {
  const std::string port = std::to_string(port_);
  const char* keys[] = {"host", "port", "user", "dbname", "connect_timeout", "application_name", nullptr};
  const char* values[] = {dir_.c_str(),     port.c_str(), kSuperuser.c_str(), database.c_str(), "10",
                          "flashtix-tests", nullptr};
  return std::make_unique<PgSession>(connect(keys, values));
}

Rows PgCluster::ledger_violations() const {
  return admin_query(read_file(std::string(FLASHTIX_SOURCE_DIR) + "/db/checks/ledger.sql"));
}

std::string PgCluster::log_tail(std::size_t max_bytes) const { return file_tail(log_path(), max_bytes); }

}  // namespace flashtix::test
