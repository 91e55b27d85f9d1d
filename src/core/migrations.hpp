// Schema migrations, compiled into each service (see cmake/embed_migrations.cmake) and applied at start-up.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace flashtix::core {

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

// Creates `schema` and applies the migrations it has not seen, each in its own transaction, in version
// order. Several instances may start at once: an advisory lock lets one apply while the others wait.
// Retries the connection until `wait_for_database` passes. Blocking: call before serving.
void apply_migrations(const std::string& database_url, const std::string& schema,
                      const std::vector<Migration>& migrations, std::chrono::seconds wait_for_database);

}  // namespace flashtix::core
