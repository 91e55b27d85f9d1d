// Inter-service HTTP: a stream is reused while the peer keeps it alive and dropped on any error.
#include "core/http_client.hpp"

#include "core/backoff.hpp"
#include "core/trace.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace flashtix::core {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::as_tuple;
using asio::use_awaitable;

json::value ClientResponse::json() const {
  boost::system::error_code ec;
  json::value value = json::parse(body, ec);
  return ec ? json::value() : value;
}

HttpClient::HttpClient(asio::any_io_executor executor, const std::string& base_url, ClientOptions options)
    : executor_(std::move(executor)), base_url_(base_url), options_(options) {
  auto url = boost::urls::parse_uri(base_url);
  if (!url || url->scheme() != "http" || url->host().empty()) {
    throw std::invalid_argument("'" + base_url + "' is not an http:// URL");
  }
  host_ = url->host();
  port_ = url->has_port() ? std::string(url->port()) : "80";
}

asio::awaitable<ClientResponse> HttpClient::attempt(http::verb method, std::string target, std::string body,
                                                    std::chrono::milliseconds timeout,
                                                    std::chrono::milliseconds caller_waits, std::string traceparent) {
  std::unique_ptr<beast::tcp_stream> stream;
  bool reused = false;
  if (!idle_.empty()) {
    stream = std::move(idle_.back());
    idle_.pop_back();
    reused = true;
  } else {
    stream = std::make_unique<beast::tcp_stream>(executor_);
    asio::ip::tcp::resolver resolver(executor_);
    auto [resolve_error, endpoints] = co_await resolver.async_resolve(host_, port_, as_tuple(use_awaitable));
    if (resolve_error) throw PeerUnavailable(base_url_ + ": cannot resolve: " + resolve_error.message());
    stream->expires_after(timeout);
    auto [connect_error, endpoint] = co_await stream->async_connect(endpoints, as_tuple(use_awaitable));
    if (connect_error) throw PeerUnavailable(base_url_ + ": cannot connect: " + connect_error.message());
  }

  http::request<http::string_body> request{method, target, 11};
  request.set(http::field::host, host_ + ":" + port_);
  request.set(http::field::content_type, "application/json");
  request.set(kRequestTimeoutHeader, std::to_string(caller_waits.count()));
  if (!options_.bearer_token.empty()) request.set(http::field::authorization, "Bearer " + options_.bearer_token);
  if (!traceparent.empty()) request.set(kTraceparentHeader, traceparent);
  request.keep_alive(true);
  request.body() = body;
  request.prepare_payload();

  stream->expires_after(timeout);
  auto [write_error, written] = co_await http::async_write(*stream, request, as_tuple(use_awaitable));
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(1024 * 1024);
  boost::system::error_code read_error = write_error;
  if (!write_error) {
    auto [error, read] = co_await http::async_read(*stream, buffer, parser, as_tuple(use_awaitable));
    read_error = error;
  }
  if (read_error) {
    const std::string what = reused ? " (on a kept-alive connection)" : "";
    throw PeerUnavailable(base_url_ + target + ": " + read_error.message() + what);
  }
  auto response = parser.release();
  if (response.keep_alive() && idle_.size() < options_.max_idle_connections) idle_.push_back(std::move(stream));
  co_return ClientResponse{response.result(), std::move(response.body())};
}

asio::awaitable<ClientResponse> HttpClient::call(http::verb method, std::string target, std::string body,
                                                 bool idempotent, std::string traceparent) {
  const int attempts = idempotent ? options_.max_attempts : 1;
  const auto deadline = std::chrono::steady_clock::now() + options_.total_timeout;
  Backoff pauses(options_.first_retry_pause, options_.total_timeout);
  asio::steady_timer timer(executor_);
  std::string last_failure = base_url_ + target + ": no attempt fitted in the deadline";
  for (int i = 1; i <= attempts; ++i) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    try {
      ClientResponse response =
          co_await attempt(method, target, body, std::min(left, options_.timeout), left, traceparent);
      const auto status = response.status;
      const bool busy = status == http::status::bad_gateway || status == http::status::service_unavailable ||
                        status == http::status::gateway_timeout;
      if (!busy) co_return response;
      // Busy to the last attempt is the peer being unavailable, as a refused connection would be.
      last_failure = base_url_ + target + " answered " + std::to_string(static_cast<int>(status));
    } catch (const PeerUnavailable& e) {
      last_failure = e.what();
    }
    if (i == attempts) break;
    timer.expires_after(pauses.next());
    co_await timer.async_wait(as_tuple(use_awaitable));
  }
  throw PeerUnavailable(last_failure);
}

}  // namespace flashtix::core
