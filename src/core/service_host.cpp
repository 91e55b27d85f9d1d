// Process scaffolding shared by every service binary.
#include "core/service_host.hpp"

#include <sys/resource.h>

#include <csignal>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>
#include <thread>

#include "core/backoff.hpp"
#include "core/json_fields.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/version.hpp"

namespace flashtix::core {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

pg::PoolOptions pool_options_from(const Config& config, int connections) {
  pg::PoolOptions options;
  options.connection.url = config.get("database-url");
  if (!service_name().empty()) options.connection.application_name = "flashtix-" + service_name();
  options.max_connections = connections;
  return options;
}

}  // namespace

ServiceHost::ServiceHost(std::string name, const Config& config)
    : name_(std::move(name)),
      listen_address_(config.get("listen-address")),
      port_(static_cast<unsigned short>(config.get_int("port", 1, 65535))),
      metrics_address_(config.get("metrics-address")),
      limits_(HostLimits::from(config)),
      credentials_(credentials_from(config)),
      rate_limiter_(rate_limit_settings_from(config, limits_.rate_limit)),
      pool_options_(pool_options_from(config, limits_.db_pool_size)) {
  for (int i = 0; i < limits_.threads; ++i) {
    auto worker = std::make_unique<Worker>();
    worker->index = i;
    worker->db = std::make_unique<pg::Pool>(worker->io.get_executor(), pool_options_);
    workers_.push_back(std::move(worker));
  }
  metrics::describe_process(name_, std::string(build_version()));
  // The pools belong to their threads; their counts are atomics, read here at each scrape.
  auto& in_use = metrics::gauge("flashtix_db_connections_in_use", "Database connections lent to requests now");
  auto& open = metrics::gauge("flashtix_db_connections_open", "Database connections open now (idle or lent)");
  auto& waiting = metrics::gauge("flashtix_db_waiting", "Requests waiting for a database connection now");
  metrics::on_scrape([this, &in_use, &open, &waiting] {
    int leased = 0, opened = 0, waiters = 0;
    for (const auto& worker : workers_) {
      const pg::PoolUse use = worker->db->use();
      leased += use.leased;
      opened += use.open;
      waiters += use.waiting;
    }
    in_use.Set(leased);
    open.Set(opened);
    waiting.Set(waiters);
  });
}

namespace {

// `only` serves every connection with that router (the metrics listener); otherwise each worker's own.
asio::awaitable<void> accept_loop(tcp::acceptor* acceptor, std::vector<std::unique_ptr<Worker>>* workers,
                                  ServerLimits limits, ServerState* state, const Router* only) {
  std::size_t next = 0;
  asio::steady_timer pause(acceptor->get_executor());
  Backoff pauses(std::chrono::milliseconds(50), std::chrono::milliseconds(1000));
  while (acceptor->is_open()) {
    Worker& worker = *(*workers)[next];
    next = (next + 1) % workers->size();
    const Router* router = only != nullptr ? only : &worker.router;
    // The socket is born on the worker's own loop, so everything it does stays on that thread.
    auto [ec, socket] = co_await acceptor->async_accept(worker.io, asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted) break;
    if (ec) {
      // Typically out of file descriptors: wait, longer while it lasts, instead of spinning.
      log_warn("accept failed: ", ec.message());
      pause.expires_after(pauses.next());
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    pauses.reset();
    asio::co_spawn(worker.io, serve_connection(std::move(socket), router, limits, state), LogIfFailed{"connection"});
  }
}

// Descriptors beyond the client connections: database and broker connections, calls to other
// services, files.
constexpr rlim_t kDescriptorsBesideClients = 1024;

// Raises the soft open-files limit to what max_connections needs (or to the hard limit); an error
// message when even the hard limit is too low.
std::optional<std::string> ensure_open_files(int max_connections) {
  const rlim_t needed = static_cast<rlim_t>(max_connections) + kDescriptorsBesideClients;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return std::nullopt;
  if (limit.rlim_cur >= needed) return std::nullopt;
  const rlim_t hard = limit.rlim_max;
  limit.rlim_cur = hard == RLIM_INFINITY ? needed : std::min(needed, hard);
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur < needed) {
    return "the open-files limit (" + std::to_string(static_cast<unsigned long long>(hard)) + ") is below the " +
           std::to_string(static_cast<unsigned long long>(needed)) +
           " that --max-connections needs; raise it (ulimit -n) or lower --max-connections";
  }
  return std::nullopt;
}

// After SIGTERM: new connections are refused once the notice is over; then the loops stop when no
// request is in flight any more, or at the deadline.
asio::awaitable<void> drain(tcp::acceptor* acceptor, std::vector<std::unique_ptr<Worker>>* workers,
                            const ServerState* state, std::chrono::milliseconds notice, std::chrono::milliseconds timeout) {
  asio::steady_timer timer(acceptor->get_executor());
  timer.expires_after(notice);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  boost::system::error_code ignored;
  acceptor->close(ignored);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (state->requests_in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  if (state->requests_in_flight.load() > 0) {
    log_warn("stopping with ", state->requests_in_flight.load(), " requests still in flight after the drain timeout");
  }
  for (auto& worker : *workers) worker->io.stop();
}

}  // namespace

namespace {

// GET /metrics: open to anyone and never rate limited, like the other probes; --metrics-address moves it
// to an address of its own (an internal network, say).
asio::awaitable<Response> serve_metrics(Request request) {
  static_cast<void>(request);
  Response response{http::status::ok, metrics::exposition(), std::string(metrics::kContentType), {}, {}};
  co_return response;
}

// Opens a listening socket; an error message when it cannot.
std::optional<std::string> listen_on(tcp::acceptor& acceptor, const std::string& address, unsigned short port) {
  boost::system::error_code ec;
  const auto ip = asio::ip::make_address(address, ec);
  if (ec) return "'" + address + "' is not an IP address";
  const tcp::endpoint endpoint(ip, port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return "cannot listen on " + address + ":" + std::to_string(port) + ": " + ec.message() +
           "; is another process using the port?";
  }
  return std::nullopt;
}

}  // namespace

int ServiceHost::run() {
  std::signal(SIGPIPE, SIG_IGN);
  if (const auto problem = ensure_open_files(limits_.server.max_connections)) {
    log_error(name_, " cannot start: ", *problem);
    return 1;
  }
  Worker& main_worker = *workers_.front();
  tcp::acceptor acceptor(main_worker.io);
  if (const auto problem = listen_on(acceptor, listen_address_, port_)) {
    log_error("--listen-address/--port: ", *problem, " (choose another with --port or FLASHTIX_PORT)");
    return 1;
  }
  log_info(name_, " listening on ", listen_address_, ":", port_, " with ", workers_.size(), " threads");

  // /metrics on the service's port, or alone on an address of its own.
  Router metrics_router;
  metrics_router.probe("/metrics", serve_metrics);
  tcp::acceptor metrics_acceptor(main_worker.io);
  if (metrics_address_.empty()) {
    for (auto& worker : workers_) worker->router.probe("/metrics", serve_metrics);
  } else {
    const std::size_t colon = metrics_address_.rfind(':');
    const auto metrics_port =
        colon == std::string::npos ? std::nullopt : parse_int(std::string_view(metrics_address_).substr(colon + 1), 1, 65535);
    const auto problem = metrics_port ? listen_on(metrics_acceptor, metrics_address_.substr(0, colon),
                                                  static_cast<unsigned short>(*metrics_port))
                                      : std::optional<std::string>("it is not host:port");
    if (problem) {
      log_error("--metrics-address '", metrics_address_, "': ", *problem);
      return 1;
    }
    log_info(name_, " serves /metrics on ", metrics_address_);
    asio::co_spawn(main_worker.io, accept_loop(&metrics_acceptor, &workers_, limits_.server, &server_state_, &metrics_router),
                   LogIfFailed{"metrics acceptor"});
  }

  for (auto& worker : workers_) {
    worker->router.set_credentials(&credentials_);
    worker->router.set_rate_limiter(&rate_limiter_);
  }
  asio::co_spawn(main_worker.io, accept_loop(&acceptor, &workers_, limits_.server, &server_state_, nullptr),
                 LogIfFailed{"acceptor"});

  std::optional<asio::signal_set> signals(std::in_place, main_worker.io, SIGINT, SIGTERM);
  signals->async_wait([this, &acceptor, &main_worker](const boost::system::error_code& error, int signal) {
    if (error) return;
    log_info(name_, " stopping on signal ", signal, ": draining ", server_state_.requests_in_flight.load(),
             " requests in flight");
    begin_stopping();
    asio::co_spawn(main_worker.io, drain(&acceptor, &workers_, &server_state_, limits_.drain_notice, limits_.drain_timeout),
                   LogIfFailed{"drain"});
  });

  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& worker : workers_) guards.push_back(asio::make_work_guard(worker->io));
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < workers_.size(); ++i) {
    threads.emplace_back([worker = workers_[i].get()] { worker->io.run(); });
  }
  main_worker.io.run();
  for (auto& thread : threads) thread.join();
  // The signal set gives SIGTERM its default action back when it goes. The process is stopping already:
  // a second SIGTERM (a supervisor repeating itself) must not kill it half way through its teardown.
  signals.reset();
  std::signal(SIGTERM, SIG_IGN);
  std::signal(SIGINT, SIG_IGN);
  log_info(name_, " stopped");
  return exit_code_.load();
}

void ServiceHost::stop(int exit_code) {
  exit_code_.store(exit_code);
  // The drain an operator's SIGTERM starts, through the signal set run() waits on.
  std::raise(SIGTERM);
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
  if (stopping()) {
    return problem_response(Problem{http::status::service_unavailable, "not_ready", "Not ready",
                                    "the service is stopping", {}, {{"Retry-After", "1"}}});
  }
  for (const Dependency& dependency : dependencies) {
    if (!dependency.up) {
      return problem_response(Problem{http::status::service_unavailable, "not_ready", "Not ready",
                                      std::string(dependency.missing), {}, {{"Retry-After", "1"}}});
    }
  }
  return json_response(http::status::ok, {{"status", "ready"}});
}

void add_health_route(Router& router) { router.probe("/health", health); }

void add_database_ready_route(Router& router, pg::Pool* pool) {
  router.probe("/ready", [pool](Request request) { return ready(pool, std::move(request)); });
}

}  // namespace flashtix::core
