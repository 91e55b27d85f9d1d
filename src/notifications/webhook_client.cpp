// Webhook POSTs over Beast. A connection is reused while the receiver keeps it alive and dropped on any error.
#include "notifications/webhook_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <optional>
#include <stdexcept>

#include "core/http_client.hpp"
#include "core/log.hpp"
#include "core/time.hpp"

namespace flashtix::notifications {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::as_tuple;
using asio::use_awaitable;
using Clock = std::chrono::steady_clock;

WebhookClient::WebhookClient(asio::any_io_executor executor, WebhookTarget target, std::vector<WebhookKey> keys,
                             std::chrono::milliseconds timeout)
    : executor_(std::move(executor)), target_(std::move(target)), keys_(std::move(keys)), timeout_(timeout) {
  if (keys_.empty()) throw std::invalid_argument("a webhook client needs a key to sign with");
}

asio::awaitable<std::unique_ptr<beast::tcp_stream>> WebhookClient::connect(Clock::time_point deadline) {
  asio::ip::tcp::resolver resolver(executor_);
  auto [resolve_error, endpoints] =
      co_await resolver.async_resolve(target_.host, target_.port, as_tuple(use_awaitable));
  if (resolve_error) throw core::PeerUnavailable(target_.url + ": cannot resolve: " + resolve_error.message());
  auto stream = std::make_unique<beast::tcp_stream>(executor_);
  stream->expires_at(deadline);
  auto [connect_error, endpoint] = co_await stream->async_connect(endpoints, as_tuple(use_awaitable));
  if (connect_error) throw core::PeerUnavailable(target_.url + ": cannot connect: " + connect_error.message());
  co_return stream;
}

asio::awaitable<WebhookClient::Answer> WebhookClient::exchange(beast::tcp_stream* stream, const Request* request,
                                                               Clock::time_point deadline) {
  // One expiry for write and read together: the deadline is the whole POST's.
  stream->expires_at(deadline);
  auto [write_error, written] = co_await http::async_write(*stream, *request, as_tuple(use_awaitable));
  if (write_error) throw core::PeerUnavailable(target_.url + ": " + write_error.message());
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxWebhookResponseBodyBytes);
  auto [header_error, header_read] = co_await http::async_read_header(*stream, buffer, parser, as_tuple(use_awaitable));
  if (header_error) throw core::PeerUnavailable(target_.url + ": " + header_error.message());
  const unsigned status = parser.get().result_int();
  bool reusable = parser.get().keep_alive();
  if (!parser.is_done()) {
    // The status is the answer; a body that is too large or too slow only costs the connection.
    auto [body_error, body_read] = co_await http::async_read(*stream, buffer, parser, as_tuple(use_awaitable));
    if (body_error) reusable = false;
  }
  co_return Answer{status, reusable};
}

asio::awaitable<unsigned> WebhookClient::post(std::string notification_id, std::int64_t attempt, std::string body) {
  const Clock::time_point deadline = Clock::now() + timeout_;
  // Standard Webhooks: the id is the same on every attempt (a receiver drops a repeat by it), the time is
  // this attempt's (a receiver refuses an old one, so a captured POST cannot be replayed later).
  const std::int64_t timestamp = core::unix_ms_now() / 1000;
  Request request{http::verb::post, target_.target, 11};
  request.set(http::field::host, target_.authority);
  request.set(http::field::user_agent, "flashtix-notifications");
  request.set(http::field::content_type, "application/json");
  request.set("webhook-id", notification_id);
  request.set("webhook-timestamp", std::to_string(timestamp));
  request.set("webhook-signature", webhook_signature(keys_, notification_id, timestamp, body));
  // The headers receivers had before the signature, kept for them.
  request.set("X-FlashTix-Notification-Id", notification_id);
  request.set("X-FlashTix-Delivery-Attempt", std::to_string(attempt));
  request.keep_alive(true);
  request.body() = std::move(body);
  request.prepare_payload();

  std::unique_ptr<beast::tcp_stream> stream;
  std::optional<Answer> answer;
  if (!idle_.empty()) {
    stream = std::move(idle_.back());
    idle_.pop_back();
    beast::tcp_stream* kept = stream.get();
    const Request* sent = &request;
    try {
      answer = co_await exchange(kept, sent, deadline);
    } catch (const core::PeerUnavailable& e) {
      // The receiver closed the idle connection, most likely: send once more on a fresh one. It may
      // have got the first copy; the webhook-id lets it tell.
      core::log_debug("webhook ", target_.url, ": kept-alive connection failed, reconnecting: ", e.what());
    }
  }
  if (!answer) {
    stream = co_await connect(deadline);
    beast::tcp_stream* fresh = stream.get();
    const Request* sent = &request;
    answer = co_await exchange(fresh, sent, deadline);
  }
  if (answer->reusable && idle_.size() < kMaxIdleWebhookConnections) idle_.push_back(std::move(stream));
  co_return answer->status;
}

}  // namespace flashtix::notifications
