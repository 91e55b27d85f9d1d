// Start-up migrations over a plain blocking libpq connection (nothing else runs yet).
#include "core/migrations.hpp"

#include <libpq-fe.h>

#include <memory>
#include <set>
#include <stdexcept>
#include <thread>

#include "core/backoff.hpp"
#include "core/log.hpp"

namespace flashtix::core {
namespace {

using ConnectionPtr = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using ResultPtr = std::unique_ptr<PGresult, decltype(&PQclear)>;

ResultPtr run(PGconn* conn, const std::string& sql) {
  ResultPtr result(PQexec(conn, sql.c_str()), &PQclear);
  const auto status = PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    throw std::runtime_error(std::string(PQresultErrorMessage(result.get())));
  }
  return result;
}

ConnectionPtr connect_with_retry(const std::string& url, std::chrono::seconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  Backoff pauses(std::chrono::milliseconds(250), std::chrono::milliseconds(2000));
  for (;;) {
    ConnectionPtr conn(PQconnectdb(url.c_str()), &PQfinish);
    if (PQstatus(conn.get()) == CONNECTION_OK) return conn;
    const std::string message = PQerrorMessage(conn.get());
    if (std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error("cannot connect to PostgreSQL at start-up: " + message);
    }
    log_warn("waiting for PostgreSQL: ", message);
    std::this_thread::sleep_for(pauses.next());
  }
}

}  // namespace

void apply_migrations(const std::string& database_url, const std::string& schema,
                      const std::vector<Migration>& migrations, std::chrono::seconds wait_for_database) {
  ConnectionPtr conn = connect_with_retry(database_url, wait_for_database);
  PGconn* c = conn.get();
  std::unique_ptr<char, decltype(&PQfreemem)> quoted(PQescapeIdentifier(c, schema.data(), schema.size()),
                                                     &PQfreemem);
  const std::string ident = quoted.get();
  run(c, "SET client_min_messages = warning");
  // One lock for every schema: migrations may also touch database-wide settings.
  run(c, "SELECT pg_advisory_lock(hashtext('flashtix.migrations'))");
  run(c, "CREATE SCHEMA IF NOT EXISTS " + ident);
  run(c, "CREATE TABLE IF NOT EXISTS " + ident +
             ".schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
             "applied_at timestamptz NOT NULL DEFAULT now())");
  std::set<int> applied;
  {
    auto rows = run(c, "SELECT version FROM " + ident + ".schema_migrations");
    for (int i = 0; i < PQntuples(rows.get()); ++i) applied.insert(std::stoi(PQgetvalue(rows.get(), i, 0)));
  }
  for (const Migration& migration : migrations) {
    if (applied.contains(migration.version)) continue;
    log_info("applying migration ", schema, "/", migration.name);
    try {
      run(c, "BEGIN");
      run(c, std::string(migration.sql));
      const std::string version = std::to_string(migration.version);
      const std::string name(migration.name);
      const char* values[] = {version.c_str(), name.c_str()};
      ResultPtr recorded(PQexecParams(c, ("INSERT INTO " + ident + ".schema_migrations (version, name) VALUES ($1, $2)").c_str(),
                                      2, nullptr, values, nullptr, nullptr, 0),
                         &PQclear);
      if (PQresultStatus(recorded.get()) != PGRES_COMMAND_OK) throw std::runtime_error(PQresultErrorMessage(recorded.get()));
      run(c, "COMMIT");
    } catch (const std::exception& e) {
      PQclear(PQexec(c, "ROLLBACK"));
      throw std::runtime_error("migration " + schema + "/" + std::string(migration.name) + " failed: " + e.what());
    }
  }
  run(c, "SELECT pg_advisory_unlock(hashtext('flashtix.migrations'))");
}

}  // namespace flashtix::core
