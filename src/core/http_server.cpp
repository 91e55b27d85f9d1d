// Beast session loop, modelled on Beast's advanced server example, with problem+json for every failure.
#include "core/http_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>

#include "core/batcher.hpp"
#include "core/log.hpp"
#include "core/pg.hpp"

namespace flashtix::core {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::as_tuple;
using asio::use_awaitable;

namespace {

Problem unavailable(std::string code, std::string detail) {
  return Problem{http::status::service_unavailable, std::move(code), "Service temporarily unavailable",
                 std::move(detail), {}, {{"Retry-After", "1"}}};
}

http::response<http::string_body> to_message(Response response, unsigned version, bool keep_alive) {
  http::response<http::string_body> message{response.status, version};
  message.set(http::field::server, "flashtix");
  message.set(http::field::content_type, response.content_type);
  for (const auto& [name, value] : response.headers) message.set(name, value);
  message.keep_alive(keep_alive);
  message.body() = std::move(response.body);
  message.prepare_payload();
  return message;
}

// Maps a read error to the answer owed to the client, if any; the connection closes afterwards either way.
std::optional<Response> answer_for_read_error(const boost::system::error_code& ec) {
  if (ec == http::error::body_limit) {
    return problem_response(Problem{http::status::payload_too_large, "body_too_large", "Request body too large",
                                    "the request body is larger than this server accepts", {}, {}});
  }
  if (ec == http::error::header_limit) {
    return problem_response(Problem{http::status::request_header_fields_too_large, "header_too_large",
                                    "Request headers too large", "the request headers are larger than allowed", {},
                                    {}});
  }
  if (ec.category() == http::make_error_code(http::error::bad_target).category() && ec != http::error::end_of_stream &&
      ec != http::error::partial_message) {
    return problem_response(Problem{http::status::bad_request, "malformed_request", "Malformed HTTP request",
                                    "the request is not valid HTTP/1.1: " + ec.message(), {}, {}});
  }
  return std::nullopt;
}

// Counts a connection, or a request, for as long as it lives.
struct Counted {
  std::atomic<int>* counter;
  explicit Counted(std::atomic<int>* counted) : counter(counted) { counter->fetch_add(1, std::memory_order_relaxed); }
  ~Counted() { counter->fetch_sub(1, std::memory_order_relaxed); }
  Counted(const Counted&) = delete;
  Counted& operator=(const Counted&) = delete;
};

struct ClientSlot {
  ServerState* state;
  std::string client;
  bool held;
  ~ClientSlot() {
    if (held) state->leave(client);
  }
};

// Writes a last answer, then reads and drops whatever the client still sends, for a bounded time, before
// the connection closes: a client that writes its whole (too large) body before reading gets the answer.
asio::awaitable<void> answer_and_linger(beast::tcp_stream& stream, http::response<http::string_body> message,
                                        ServerLimits limits) {
  stream.expires_after(limits.write_timeout);
  auto [write_error, written] = co_await http::async_write(stream, message, as_tuple(use_awaitable));
  if (write_error) co_return;
  beast::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  stream.expires_after(limits.lingering_close);
  std::size_t dropped = 0;
  char sink[16 * 1024];
  while (dropped < limits.max_lingering_bytes) {
    auto [read_error, read] = co_await stream.async_read_some(asio::buffer(sink), as_tuple(use_awaitable));
    if (read_error) break;
    dropped += read;
  }
}

// Writes a streamed body's pieces straight to the socket, each within the write timeout, and notices a
// client that closes between them: a write into a closed connection may still succeed once.
class SocketBodyWriter final : public BodyWriter {
 public:
  SocketBodyWriter(beast::tcp_stream* stream, std::chrono::milliseconds timeout) : stream_(stream), timeout_(timeout) {
    // The handler holds the flag alone, so it may run after this writer and the socket are gone.
    stream_->socket().async_wait(asio::ip::tcp::socket::wait_read,
                                 [closed = closed_](const boost::system::error_code&) { *closed = true; });
  }
  asio::awaitable<bool> write(std::string text) override {
    stream_->expires_after(timeout_);
    auto [error, written] = co_await asio::async_write(*stream_, asio::buffer(text), as_tuple(use_awaitable));
    co_return !error;
  }
  bool open() const override { return !*closed_; }

 private:
  beast::tcp_stream* stream_;
  std::chrono::milliseconds timeout_;
  std::shared_ptr<bool> closed_ = std::make_shared<bool>(false);
};

// The head of a streamed answer (no length: the body ends when the connection closes), then its body.
asio::awaitable<void> answer_streamed(beast::tcp_stream& stream, Response response, unsigned version,
                                      ServerLimits limits) {
  http::response<http::empty_body> head{response.status, version};
  head.set(http::field::server, "flashtix");
  head.set(http::field::content_type, response.content_type);
  for (const auto& [name, value] : response.headers) head.set(name, value);
  head.keep_alive(false);
  http::response_serializer<http::empty_body> serializer{head};
  stream.expires_after(limits.write_timeout);
  auto [head_error, written] = co_await http::async_write_header(stream, serializer, as_tuple(use_awaitable));
  if (head_error) co_return;
  SocketBodyWriter writer(&stream, limits.write_timeout);
  co_await response.stream(&writer);
}

}  // namespace

Problem failure_problem(std::exception_ptr error, std::string_view what) {
  try {
    std::rethrow_exception(error);
  } catch (const Overloaded& e) {
    // Expected under a stampede: the answer says so and when to come back; no log line per request.
    return unavailable("overloaded", std::string("the service is overloaded; retry shortly (") + e.what() + ")");
  } catch (const pg::Unavailable& e) {
    log_warn(what, ": database unavailable: ", e.what());
    return unavailable("database_unavailable", "the database is not answering; retry shortly");
  } catch (const pg::Error& e) {
    if (pg::is_transient(e)) {
      log_warn(what, ": database busy (", e.sqlstate(), "): ", e.what());
      return unavailable("database_busy", "the database is busy; retry shortly");
    }
    log_error(what, ": database error ", e.sqlstate(), ": ", e.what());
  } catch (const std::exception& e) {
    log_error(what, ": ", e.what());
  }
  return Problem{http::status::internal_server_error, "internal_error", "Internal server error",
                 "the server failed to handle the request; it has been logged", {}, {}};
}

namespace {

// One line per answered request, with what ties it to its caller's logs: the request id and the trace.
void log_answer(std::string_view method, std::string_view route, http::status status,
                std::chrono::steady_clock::duration elapsed, std::string_view request_id, const TraceContext& trace) {
  const std::string code = std::to_string(static_cast<unsigned>(status));
  char duration[32];
  std::snprintf(duration, sizeof duration, "%.3f", std::chrono::duration<double, std::milli>(elapsed).count());
  write_log_line(LogLevel::info, "request", {{"method", method},
                                             {"route", route},
                                             {"status", code, false},
                                             {"duration_ms", duration, false},
                                             {"request_id", request_id},
                                             {"trace_id", trace.trace_id},
                                             {"span_id", trace.span_id}});
}

}  // namespace

asio::awaitable<Response> dispatch(const Router* router, Request request) {
  const auto started = std::chrono::steady_clock::now();
  auto matched = router->match(request);
  const RouteMetrics& metrics = request.metrics != nullptr ? *request.metrics : router->unmatched_metrics();
  // What the answer and the access log need once the request itself has gone to its handler.
  const bool log_it = access_log_enabled() && log_enabled(LogLevel::info);
  const std::string method = log_it ? std::string(request.message.method_string()) : std::string();
  const std::string route = request.route.empty() ? std::string("unmatched") : std::string(request.route);
  const std::string request_id = request.request_id;
  const TraceContext trace = log_it ? request.trace : TraceContext{};
  Response response;
  if (const auto* problem = std::get_if<Problem>(&matched)) {
    response = problem_response(*problem);
  } else {
    const Handler& handler = *std::get<const Handler*>(matched);
    const std::string what = std::string(request.message.method_string()) + " " + std::string(request.target.path());
    std::vector<std::pair<std::string, std::string>> rate_limit_headers = std::move(request.rate_limit_headers);
    std::exception_ptr failure;
    try {
      response = co_await handler(std::move(request));
    } catch (const std::exception&) {
      failure = std::current_exception();
    }
    if (failure) response = problem_response(failure_problem(failure, what));
    for (auto& header : rate_limit_headers) response.headers.push_back(std::move(header));
  }
  const auto elapsed = std::chrono::steady_clock::now() - started;
  metrics.observe(response.status, elapsed);
  response.headers.emplace_back(std::string(kRequestIdHeader), request_id);
  if (log_it) log_answer(method, route, response.status, elapsed, request_id, trace);
  co_return response;
}

namespace {
std::atomic<bool> g_stopping{false};
}  // namespace

void begin_stopping() { g_stopping.store(true); }
bool stopping() { return g_stopping.load(std::memory_order_relaxed); }

bool ServerState::enter(const std::string& client, int max) {
  const std::lock_guard lock(mutex_);
  int& count = per_client_[client];
  if (count >= max) {
    if (count == 0) per_client_.erase(client);
    return false;
  }
  ++count;
  return true;
}

void ServerState::leave(const std::string& client) {
  const std::lock_guard lock(mutex_);
  const auto found = per_client_.find(client);
  if (found == per_client_.end()) return;
  if (--found->second == 0) per_client_.erase(found);
}

asio::awaitable<void> serve_connection(asio::ip::tcp::socket socket, const Router* router, ServerLimits limits,
                                       ServerState* state) {
  const Counted connection_counted{&state->open_connections};
  beast::error_code ignored;
  const auto peer = socket.remote_endpoint(ignored);
  ClientSlot client{state, ignored ? std::string() : peer.address().to_string(), false};
  beast::tcp_stream stream(std::move(socket));
  stream.socket().set_option(asio::ip::tcp::no_delay(true), ignored);

  std::optional<Problem> refusal;
  if (state->open_connections.load(std::memory_order_relaxed) > limits.max_connections) {
    refusal = unavailable("too_many_connections", "the server has too many open connections");
  } else if (!(client.held = state->enter(client.client, limits.max_connections_per_client))) {
    refusal = unavailable("too_many_connections", "this client has too many open connections to the server");
  }
  if (refusal) {
    // Refuse politely and at once instead of letting the process run out of descriptors.
    auto message = to_message(problem_response(*refusal), 11, false);
    stream.expires_after(limits.write_timeout);
    co_await http::async_write(stream, message, as_tuple(use_awaitable));
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    co_return;
  }

  beast::flat_buffer buffer;
  bool first_request = true;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
    parser.body_limit(limits.max_body_bytes);

    // Waiting for the next request on a kept-alive connection may take longer than reading one, but not
    // while the server is crowded.
    const bool crowded = state->open_connections.load(std::memory_order_relaxed) > limits.max_connections / 2;
    const auto idle_timeout = crowded ? limits.idle_timeout_under_pressure : limits.idle_timeout;
    stream.expires_after(first_request || buffer.size() > 0 ? limits.read_timeout : idle_timeout);
    first_request = false;
    auto [header_error, header_bytes] =
        co_await http::async_read_header(stream, buffer, parser, as_tuple(use_awaitable));
    boost::system::error_code read_error = header_error;
    if (!read_error && beast::iequals(parser.get()[http::field::expect], "100-continue")) {
      // The client waits before it sends the body: tell it now whether to.
      const auto length = parser.content_length();
      if (length && *length > limits.max_body_bytes) {
        read_error = http::error::body_limit;
      } else {
        http::response<http::empty_body> go_on{http::status::continue_, parser.get().version()};
        stream.expires_after(limits.write_timeout);
        auto [continue_error, written] = co_await http::async_write(stream, go_on, as_tuple(use_awaitable));
        read_error = continue_error;
      }
    }
    if (!read_error && !parser.is_done()) {
      stream.expires_after(limits.read_timeout);
      auto [body_error, body_bytes] = co_await http::async_read(stream, buffer, parser, as_tuple(use_awaitable));
      read_error = body_error;
    }
    if (read_error) {
      if (auto answer = answer_for_read_error(read_error)) {
        co_await answer_and_linger(stream, to_message(std::move(*answer), 11, false), limits);
      }
      break;
    }

    const Counted request_counted{&state->requests_in_flight};
    Request request;
    request.message = parser.release();
    request.client_address = client.client;
    request.request_id = request_id_from(request.header(kRequestIdHeader));
    request.trace = next_span(parse_traceparent(request.header(kTraceparentHeader)));
    const unsigned version = request.message.version();
    const bool asked_keep_alive = request.message.keep_alive();
    Response response;
    if (auto target = boost::urls::parse_origin_form(request.message.target())) {
      request.target = *target;
      response = co_await dispatch(router, std::move(request));
    } else {
      response = problem_response(invalid_request("the request target is not a valid origin-form path"));
    }
    if (response.stream) {
      co_await answer_streamed(stream, std::move(response), version, limits);
      break;
    }
    // A stopping server answers what it was asked, and closes.
    const bool keep_alive = asked_keep_alive && !stopping();

    auto message = to_message(std::move(response), version, keep_alive);
    stream.expires_after(limits.write_timeout);
    auto [write_error, written] = co_await http::async_write(stream, message, as_tuple(use_awaitable));
    if (write_error || !keep_alive) break;
  }
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

}  // namespace flashtix::core
