// The bounds every service shares, in one place as a service's own are (core/limits.hpp): each a flag
// whose default is the member's initial value, with the check that related ones agree.
#pragma once

#include <chrono>
#include <vector>

#include "core/config.hpp"
#include "core/http_server.hpp"
#include "core/rate_limit.hpp"

namespace flashtix::core {

// One event-loop thread per core unless told otherwise.
int default_thread_count();

struct HostLimits {
  int threads = default_thread_count();  // event-loop threads, one io_context each
  int db_pool_size = 4;                  // PostgreSQL connections per thread
  // Client connections and request bodies (max-body-bytes, max-connections, max-connections-per-client;
  // the timeouts there are fixed).
  ServerLimits server;
  std::chrono::milliseconds drain_notice{0};
  std::chrono::milliseconds drain_timeout{10000};
  // Calls without a role token per client address (trusted-proxies is read beside these).
  RateLimitSettings rate_limit;

  // The flags of these limits: name, default (the initial values above) and help.
  static std::vector<ConfigOption> options();
  // The limits the flags set; throws std::invalid_argument naming the flag that is out of its range or
  // the flags that disagree.
  static HostLimits from(const Config& config);
  void check() const;
};

// The options every service understands (where it listens, its database, its tokens, the limits above,
// logging); a service appends its own.
std::vector<ConfigOption> common_options(int default_port);

}  // namespace flashtix::core
