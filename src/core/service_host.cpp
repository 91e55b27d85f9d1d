// Process scaffolding shared by every service binary.
#include "core/service_host.hpp"

#include <csignal>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <thread>

#include "core/log.hpp"

namespace flashtix::core {

namespace asio = boost::asio;
using asio::ip::tcp;

pg::PoolOptions pool_options_from(const Config& config) {
  pg::PoolOptions options;
  options.connection.url = config.get("database-url");
  options.max_connections = static_cast<int>(config.get_int("db-pool-size", 1, 64));
  return options;
}

ServiceHost::ServiceHost(std::string name, const Config& config)
    : name_(std::move(name)),
      listen_address_(config.get("listen-address")),
      port_(static_cast<unsigned short>(config.get_int("port", 1, 65535))) {
  limits_.max_body_bytes = static_cast<std::size_t>(config.get_int("max-body-bytes", 1024, 16 * 1024 * 1024));
  limits_.max_connections = static_cast<int>(config.get_int("max-connections", 16, 1000000));
  const auto threads = config.get_int("threads", 1, 256);
  const auto pool = pool_options_from(config);
  for (int i = 0; i < threads; ++i) {
    auto worker = std::make_unique<Worker>();
    worker->index = i;
    worker->db = std::make_unique<pg::Pool>(worker->io.get_executor(), pool);
    workers_.push_back(std::move(worker));
  }
}

namespace {

asio::awaitable<void> accept_loop(tcp::acceptor* acceptor, std::vector<std::unique_ptr<Worker>>* workers,
                                  ServerLimits limits, std::atomic<int>* open_connections) {
  std::size_t next = 0;
  asio::steady_timer backoff(acceptor->get_executor());
  while (acceptor->is_open()) {
    Worker& worker = *(*workers)[next];
    next = (next + 1) % workers->size();
    // The socket is born on the worker's own loop, so everything it does stays on that thread.
    auto [ec, socket] = co_await acceptor->async_accept(worker.io, asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted) break;
    if (ec) {
      // Typically out of file descriptors: wait a little instead of spinning.
      log_warn("accept failed: ", ec.message());
      backoff.expires_after(std::chrono::milliseconds(50));
      co_await backoff.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    asio::co_spawn(worker.io, serve_connection(std::move(socket), &worker.router, limits, open_connections),
                   LogIfFailed{"connection"});
  }
}

}  // namespace

int ServiceHost::run() {
  std::signal(SIGPIPE, SIG_IGN);
  Worker& main_worker = *workers_.front();
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(listen_address_, ec);
  if (ec) {
    log_error("--listen-address '", listen_address_, "' is not an IP address");
    return 1;
  }
  const tcp::endpoint endpoint(address, port_);
  tcp::acceptor acceptor(main_worker.io);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    log_error("cannot listen on ", listen_address_, ":", port_, ": ", ec.message(),
              "; is another process using the port? choose another with --port or FLASHTIX_PORT");
    return 1;
  }
  log_info(name_, " listening on ", listen_address_, ":", port_, " with ", workers_.size(), " threads");

  asio::co_spawn(main_worker.io, accept_loop(&acceptor, &workers_, limits_, &open_connections_),
                 LogIfFailed{"acceptor"});

  asio::signal_set signals(main_worker.io, SIGINT, SIGTERM);
  signals.async_wait([this, &acceptor](const boost::system::error_code& error, int signal) {
    if (error) return;
    log_info(name_, " stopping on signal ", signal);
    boost::system::error_code ignored;
    acceptor.close(ignored);
    for (auto& worker : workers_) worker->io.stop();
  });

  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& worker : workers_) guards.push_back(asio::make_work_guard(worker->io));
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < workers_.size(); ++i) {
    threads.emplace_back([worker = workers_[i].get()] { worker->io.run(); });
  }
  main_worker.io.run();
  for (auto& thread : threads) thread.join();
  log_info(name_, " stopped");
  return 0;
}

asio::awaitable<bool> database_answers(pg::Pool* pool) {
  static constexpr pg::Query kPing{"ping", "SELECT 1"};
  try {
    co_await pool->exec(kPing, {});
    co_return true;
  } catch (const std::exception& e) {
    log_warn("readiness check: ", e.what());
  }
  co_return false;
}

namespace {

// Coroutine parameters stay named even when unused: GCC 12 miscompiles unnamed ones.
asio::awaitable<Response> health(Request request) {
  static_cast<void>(request);
  co_return json_response(http::status::ok, {{"status", "ok"}});
}

asio::awaitable<Response> ready(pg::Pool* pool, Request request) {
  static_cast<void>(request);
  const bool database_up = co_await database_answers(pool);
  co_return ready_response({{database_up, "the database is not answering"}});
}

}  // namespace

Response ready_response(std::initializer_list<Dependency> dependencies) {
  for (const Dependency& dependency : dependencies) {
    if (!dependency.up) {
      return problem_response(Problem{http::status::service_unavailable, "not_ready", "Not ready",
                                      std::string(dependency.missing), {}, {{"Retry-After", "1"}}});
    }
  }
  return json_response(http::status::ok, {{"status", "ready"}});
}

void add_health_route(Router& router) { router.get("/health", health); }

void add_database_ready_route(Router& router, pg::Pool* pool) {
  router.get("/ready", [pool](Request request) { return ready(pool, std::move(request)); });
}

}  // namespace flashtix::core
