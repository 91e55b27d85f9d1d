// Runs a service: one io_context per thread, each with its own database pool and route table, a single
// acceptor handing connections round-robin to the threads, and a clean stop on SIGINT/SIGTERM.
#pragma once

#include <atomic>
#include <initializer_list>
#include <string_view>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <vector>

#include "core/auth.hpp"
#include "core/config.hpp"
#include "core/host_limits.hpp"
#include "core/http_server.hpp"
#include "core/log.hpp"
#include "core/pg.hpp"
#include "core/router.hpp"

namespace flashtix::core {

// One event-loop thread and everything it owns. Nothing here is shared between threads. The service's
// own state for the thread is kept by its main, typed, one per worker in the same order, and goes
// before the host: its sockets and timers go while their loop still exists.
struct Worker {
  // Declared first so it is destroyed last: the pool's sockets and timers must go while their loop
  // still exists. Coroutines still pending at exit are destroyed with the loop and find the pool gone
  // (see pg::Lease).
  boost::asio::io_context io{1};
  std::unique_ptr<pg::Pool> db;
  Router router;
  int index = 0;
};

class ServiceHost {
 public:
  // Reads the common options (HostLimits, token digests) from `config`; throws std::invalid_argument
  // for a limit out of its range, limits that disagree or a malformed digest.
  ServiceHost(std::string name, const Config& config);

  std::vector<std::unique_ptr<Worker>>& workers() { return workers_; }
  const std::string& name() const { return name_; }
  // How each thread's pool connects (and how large it grows): also for the service's other pools.
  const pg::PoolOptions& pool_options() const { return pool_options_; }

  // Listens, serves until SIGINT/SIGTERM, and returns the process exit code. On the signal it drains:
  // /ready answers 503 at once, new connections are refused after the drain notice, requests in flight
  // are finished (within the drain timeout), then the process stops.
  int run();
  // From any thread while run() runs: stops the service as SIGTERM does, and run() then returns
  // `exit_code` (a start-up check that could only be made once the service ran, and failed).
  void stop(int exit_code);

 private:
  std::string name_;
  std::string listen_address_;
  unsigned short port_;
  std::string metrics_address_;  // empty: /metrics on port_
  HostLimits limits_;
  Credentials credentials_;  // the tokens every route that needs a role accepts
  RateLimiter rate_limiter_;  // shared by every thread's router
  pg::PoolOptions pool_options_;
  std::vector<std::unique_ptr<Worker>> workers_;
  ServerState server_state_;
  std::atomic<int> exit_code_{0};
};

// Blocks until SELECT 1 answers: used by /ready.
boost::asio::awaitable<bool> database_answers(pg::Pool* pool);

// One dependency as GET /ready reports it: `missing` is the problem's detail when it is down.
struct Dependency {
  bool up;
  std::string_view missing;  // e.g. "the database is not answering"
};
// 200 {"status":"ready"} when every dependency is up; otherwise 503 not_ready naming the first that is not.
Response ready_response(std::initializer_list<Dependency> dependencies);

// GET /health: 200 while the process runs.
void add_health_route(Router& router);
// GET /ready: 200 while the database answers, 503 otherwise.
void add_database_ready_route(Router& router, pg::Pool* pool);

}  // namespace flashtix::core
