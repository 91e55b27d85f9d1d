// The test HTTP clients: Beast for well-formed HTTP (each call bounded by a deadline), POSIX sockets for raw
// bytes, and Asio coroutines on one io_context for concurrent load.
#include "support/http_client.hpp"

#include "support/answer_record.hpp"
#include "support/credentials.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace flashtix::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

namespace {

// Lists can be long; nothing a test fetches comes near this.
constexpr std::uint64_t kMaxResponseBodyBytes = 64ull * 1024 * 1024;

tcp::endpoint loopback(unsigned short port) { return tcp::endpoint(asio::ip::address_v4::loopback(), port); }

http::request<http::string_body> make_request(unsigned short port, std::string_view method, std::string_view target,
                                              std::string_view body, const Headers& headers) {
  http::request<http::string_body> request;
  const http::verb verb = http::string_to_verb(method);
  if (verb == http::verb::unknown) {
    request.method_string(method);
  } else {
    request.method(verb);
  }
  request.target(target);
  request.version(11);
  request.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  request.set(http::field::user_agent, "flashtix-tests");
  bool authorization_named = false;
  for (const auto& [name, value] : headers) {
    if (boost::beast::iequals(name, "Authorization")) {
      authorization_named = true;
      if (value.empty()) continue;  // the caller asks for no credential
    }
    request.set(name, value);
  }
  // The harness's admin token unless the test says otherwise (support/credentials.hpp).
  if (!authorization_named) request.set(http::field::authorization, bearer(test_tokens().admin));
  if (!body.empty() && request.find(http::field::content_type) == request.end()) {
    request.set(http::field::content_type, "application/json");
  }
  request.body() = std::string(body);
  request.prepare_payload();
  return request;
}

HttpResponse to_response(http::response<http::string_body> message) {
  HttpResponse response;
  response.status = static_cast<int>(message.result_int());
  for (const auto& field : message) {
    response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  response.keep_alive = message.keep_alive();
  response.body = std::move(message.body());
  return response;
}

std::string what_failed(unsigned short port, std::string_view method, std::string_view target, std::string_view step,
                        const beast::error_code& ec) {
  return "HTTP " + std::string(method) + " " + std::string(target) + " on port " + std::to_string(port) + ": " +
         std::string(step) + " failed: " + ec.message();
}

}  // namespace

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() && ::strncasecmp(key.data(), name.data(), name.size()) == 0) return value;
  }
  return {};
}

bool HttpResponse::has_header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() && ::strncasecmp(key.data(), name.data(), name.size()) == 0) return true;
  }
  return false;
}

json::value HttpResponse::json() const {
  boost::system::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec) throw std::runtime_error("response body is not JSON (" + ec.message() + "): " + describe());
  return value;
}

std::string HttpResponse::describe() const {
  constexpr std::size_t kMaxShown = 2000;
  std::string text = std::to_string(status) + " " + header("Content-Type") + " ";
  text += body.size() > kMaxShown ? body.substr(0, kMaxShown) + "...(" + std::to_string(body.size()) + " bytes)" : body;
  return text;
}

struct HttpConnection::Impl {
  asio::io_context io;
  beast::tcp_stream stream{io};
  beast::flat_buffer buffer;
  unsigned short port = 0;
  std::chrono::milliseconds timeout{};
  bool open = false;

  // Runs one asynchronous step to completion; tcp_stream's deadline makes it end by `timeout`.
  template <class Start>
  beast::error_code run(Start start) {
    beast::error_code result = asio::error::would_block;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    io.restart();
    io.run();
    return result;
  }
};

HttpConnection::HttpConnection(unsigned short port, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  impl_->port = port;
  impl_->timeout = timeout;
  impl_->stream.expires_after(timeout);
  const beast::error_code ec =
      impl_->run([this](auto handler) { impl_->stream.async_connect(loopback(impl_->port), std::move(handler)); });
  if (ec) throw std::runtime_error(what_failed(port, "CONNECT", "", "connect", ec));
  beast::error_code ignored;
  impl_->stream.socket().set_option(tcp::no_delay(true), ignored);
  impl_->open = true;
}

HttpConnection::~HttpConnection() {
  if (impl_ && impl_->open) {
    beast::error_code ignored;
    impl_->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    impl_->stream.close();
  }
}

HttpConnection::HttpConnection(HttpConnection&&) noexcept = default;
HttpConnection& HttpConnection::operator=(HttpConnection&&) noexcept = default;

bool HttpConnection::is_open() const { return impl_ && impl_->open; }

HttpResponse HttpConnection::request(std::string_view method, std::string_view target, std::string_view body,
                                     const Headers& headers) {
  Impl& impl = *impl_;
  if (!impl.open) {
    throw std::runtime_error("HTTP " + std::string(method) + " " + std::string(target) +
                             ": the connection is already closed");
  }
  auto message = make_request(impl.port, method, target, body, headers);
  impl.stream.expires_after(impl.timeout);
  beast::error_code ec = impl.run([&](auto handler) { http::async_write(impl.stream, message, std::move(handler)); });
  if (ec) {
    impl.open = false;
    throw std::runtime_error(what_failed(impl.port, method, target, "write", ec));
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBodyBytes);
  impl.stream.expires_after(impl.timeout);
  ec = impl.run([&](auto handler) { http::async_read(impl.stream, impl.buffer, parser, std::move(handler)); });
  if (ec) {
    impl.open = false;
    throw std::runtime_error(what_failed(impl.port, method, target, "read", ec));
  }
  HttpResponse response = to_response(parser.release());
  record_answer(method, target, response.status, response.headers, response.body);
  if (!response.keep_alive) {
    beast::error_code ignored;
    impl.stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    impl.stream.close();
    impl.open = false;
  }
  return response;
}

HttpResponse HttpConnection::post(std::string_view target, const json::value& body) {
  return request("POST", target, json::serialize(body));
}

HttpResponse http_request(unsigned short port, std::string_view method, std::string_view target, std::string_view body,
                          const Headers& headers, std::chrono::milliseconds timeout) {
  HttpConnection connection(port, timeout);
  Headers with_close = headers;
  with_close.emplace_back("Connection", "close");
  return connection.request(method, target, body, with_close);
}

// ---- raw sockets ----

RawConnection::RawConnection(unsigned short port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    const std::string reason = std::strerror(errno);
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + ": " + reason);
  }
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

RawConnection::~RawConnection() { close(); }

bool RawConnection::send(std::string_view bytes) {
  while (!bytes.empty()) {
    // MSG_NOSIGNAL: a peer that already hung up must not kill the test binary with SIGPIPE.
    const ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(sent));
  }
  return true;
}

namespace {

// Reads whatever arrives until `done(data)` says so, the peer closes, or the deadline passes.
template <class Done>
RawConnection::ReadResult read_raw(int fd, std::chrono::milliseconds timeout, Done done) {
  RawConnection::ReadResult result;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char chunk[16384];
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return result;
    pollfd descriptor{fd, POLLIN, 0};
    const int ready = ::poll(&descriptor, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return result;
    const ssize_t received = ::recv(fd, chunk, sizeof(chunk), 0);
    if (received < 0 && errno == EINTR) continue;
    if (received <= 0) {
      result.closed = true;
      return result;
    }
    result.data.append(chunk, static_cast<std::size_t>(received));
    if (done(result.data)) return result;
  }
}

}  // namespace

RawConnection::ReadResult RawConnection::read_until_closed(std::chrono::milliseconds timeout) {
  return read_raw(fd_, timeout, [](const std::string&) { return false; });
}

RawConnection::ReadResult RawConnection::read_response(std::chrono::milliseconds timeout) {
  return read_raw(fd_, timeout, [](const std::string& data) { return parse_http_response(data).has_value(); });
}

RawConnection::ReadResult RawConnection::read_until(std::string_view text, std::chrono::milliseconds timeout) {
  return read_raw(fd_, timeout, [text](const std::string& data) { return data.find(text) != std::string::npos; });
}

void RawConnection::shutdown_write() { ::shutdown(fd_, SHUT_WR); }

void RawConnection::reset() {
  if (fd_ < 0) return;
  // A zero linger time turns close() into a reset.
  linger option{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &option, sizeof(option));
  close();
}

void RawConnection::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::optional<HttpResponse> parse_http_response(std::string_view bytes) {
  http::response_parser<http::string_body> parser;
  parser.eager(true);
  parser.body_limit(kMaxResponseBodyBytes);
  beast::error_code ec;
  while (!bytes.empty() && !parser.is_done()) {
    const std::size_t used = parser.put(asio::buffer(bytes.data(), bytes.size()), ec);
    if (ec) return std::nullopt;  // need_more, or not HTTP at all
    bytes.remove_prefix(used);
  }
  if (!parser.is_done()) return std::nullopt;
  return to_response(parser.release());
}

// ---- load ----

namespace {

struct LoadState {
  unsigned short port = 0;
  std::chrono::milliseconds timeout{};
  const std::vector<LoadRequest>* requests = nullptr;
  std::vector<LoadResult>* results = nullptr;
  std::size_t next = 0;  // one thread runs every worker, so no lock is needed
};

// GCC 12 misreads Asio's recycling allocator for coroutine frames at -O2 as a mismatched new/delete.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

// One connection: takes the next request as soon as the previous one is answered.
asio::awaitable<void> load_worker(LoadState* state) {
  const auto executor = co_await asio::this_coro::executor;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  for (;;) {
    const std::size_t index = state->next++;
    if (index >= state->requests->size()) break;
    const LoadRequest& request = (*state->requests)[index];
    LoadResult& result = (*state->results)[index];

    if (!stream) {
      stream.emplace(executor);
      buffer.clear();
      stream->expires_after(state->timeout);
      auto [connect_error] = co_await stream->async_connect(loopback(state->port), asio::as_tuple(asio::use_awaitable));
      if (connect_error) {
        result.error = "connect: " + connect_error.message();
        stream.reset();
        continue;
      }
      beast::error_code ignored;
      stream->socket().set_option(tcp::no_delay(true), ignored);
    }

    auto message = make_request(state->port, request.method, request.target, request.body, request.headers);
    stream->expires_after(state->timeout);
    auto [write_error, written] = co_await http::async_write(*stream, message, asio::as_tuple(asio::use_awaitable));
    if (write_error) {
      result.error = "write: " + write_error.message();
      stream.reset();
      continue;
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxResponseBodyBytes);
    stream->expires_after(state->timeout);
    auto [read_error, read] = co_await http::async_read(*stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    if (read_error) {
      result.error = "read: " + read_error.message();
      stream.reset();
      continue;
    }
    HttpResponse answer = to_response(parser.release());
    record_answer(request.method, request.target, answer.status, answer.headers, answer.body);
    result.status = answer.status;
    result.replayed = answer.header("Idempotent-Replayed") == "true";
    result.body = std::move(answer.body);
    if (!answer.keep_alive) stream.reset();
  }
  if (stream) {
    beast::error_code ignored;
    stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
  }
}

#pragma GCC diagnostic pop

}  // namespace

std::vector<LoadResult> run_load(unsigned short port, std::vector<LoadRequest> requests, std::size_t connections,
                                 std::chrono::milliseconds timeout) {
  std::vector<LoadResult> results(requests.size());
  LoadState state;
  state.port = port;
  state.timeout = timeout;
  state.requests = &requests;
  state.results = &results;

  asio::io_context io{1};
  std::exception_ptr failure;
  for (std::size_t i = 0; i < connections; ++i) {
    asio::co_spawn(io, load_worker(&state), [&failure](std::exception_ptr error) {
      if (error && !failure) failure = error;
    });
  }
  io.run();
  if (failure) std::rethrow_exception(failure);
  return results;
}

}  // namespace flashtix::test
