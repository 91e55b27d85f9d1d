// The flags of the bounds every service shares, and the options around them.
#include "core/host_limits.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <thread>

#include "core/limits.hpp"
#include "core/log.hpp"

namespace flashtix::core {

namespace {

LimitFlags<HostLimits> flags() {
  LimitFlags<HostLimits> table;
  table.add("threads", &HostLimits::threads, 1, 256, "event-loop threads (one io_context each)")
      .add("db-pool-size", &HostLimits::db_pool_size, 1, 64, "PostgreSQL connections per thread")
      .add("max-body-bytes", &HostLimits::server, &ServerLimits::max_body_bytes, 1024, 16 * 1024 * 1024,
           "largest request body accepted")
      .add("max-connections", &HostLimits::server, &ServerLimits::max_connections, 16, 1'000'000,
           "open client connections at most; more are refused with 503")
      .add("max-connections-per-client", &HostLimits::server, &ServerLimits::max_connections_per_client, 1,
           1'000'000, "open connections from one client address at most")
      .add("drain-notice-ms", &HostLimits::drain_notice, 0, 600'000,
           "on SIGTERM, how long /ready answers 503 before new connections are refused")
      .add("drain-timeout-ms", &HostLimits::drain_timeout, 0, 600'000,
           "on SIGTERM, how long requests in flight may take to finish")
      .add("rate-limit-per-second", &HostLimits::rate_limit, &RateLimitSettings::requests_per_second, 0,
           1'000'000'000, "calls without a role token per client address and second; 0: no limit")
      .add("rate-limit-burst", &HostLimits::rate_limit, &RateLimitSettings::burst, 1, 1'000'000'000,
           "calls without a role token one client address may send at once");
  return table;
}

}  // namespace

int default_thread_count() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

std::vector<ConfigOption> HostLimits::options() { return flags().options(); }

HostLimits HostLimits::from(const Config& config) { return flags().read(config); }

void HostLimits::check() const {
  if (server.max_connections_per_client > server.max_connections) {
    throw std::invalid_argument("--max-connections-per-client (" + std::to_string(server.max_connections_per_client) +
                                ") is above --max-connections (" + std::to_string(server.max_connections) +
                                "): lower it, or raise --max-connections");
  }
}

std::vector<ConfigOption> common_options(int default_port) {
  std::vector<ConfigOption> options{
      {"listen-address", "127.0.0.1", "address to listen on"},
      {"port", std::to_string(default_port), "TCP port to listen on"},
      // No password in the default: ./flashtix up makes one per install and passes the whole URL (libpq
      // also takes one from PGPASSWORD or ~/.pgpass).
      {"database-url", "postgresql://flashuser@127.0.0.1:5432/flashtix",
       "PostgreSQL connection URL, with flashuser's password"},
      // Digests, not tokens: a service's configuration holds nothing that lets anyone call it.
      {"admin-token-sha256", "", "SHA-256 (hex) of the admin token; empty: no admin token is accepted"},
      {"service-token-sha256", "", "SHA-256 (hex) of the service token; empty: no service token is accepted"},
      {"trusted-proxies", "", "comma-separated IP addresses of reverse proxies whose X-Forwarded-For names the client"},
      {"metrics-address", "", "host:port for GET /metrics alone; empty: /metrics on the service's own port"},
  };
  for (auto& option : HostLimits::options()) options.push_back(std::move(option));
  for (auto& option : log_options()) options.push_back(std::move(option));
  return options;
}

}  // namespace flashtix::core
