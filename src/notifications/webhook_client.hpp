// POSTs signed notifications to the configured webhook receiver: kept-alive connections and one deadline per
// POST. Its own client rather than core::HttpClient because each POST carries headers of its own (the
// Standard Webhooks signature), which core::HttpClient::call cannot send.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "notifications/notification.hpp"
#include "notifications/signature.hpp"

namespace flashtix::notifications {

// Idle kept-alive connections at most; a round's concurrent POSTs beyond this connect afresh next time.
inline constexpr std::size_t kMaxIdleWebhookConnections = 64;
// The receiver's answer is only looked at for its status; a longer body is not read, and its
// connection not reused.
inline constexpr std::uint64_t kMaxWebhookResponseBodyBytes = 64 * 1024;

// Owned by one event-loop thread, like the database pool.
class WebhookClient {
 public:
  // `keys` sign every POST (at least one).
  WebhookClient(boost::asio::any_io_executor executor, WebhookTarget target, std::vector<WebhookKey> keys,
                std::chrono::milliseconds timeout);

  // POSTs `body` as one attempt of notification `notification_id`, signed with this attempt's time, and
  // returns the receiver's status code.
  // Throws core::PeerUnavailable when there was no answer within the deadline (name resolution is bounded
  // by the system resolver's own timeouts, not by it).
  boost::asio::awaitable<unsigned> post(std::string notification_id, std::int64_t attempt, std::string body);

  const WebhookTarget& target() const { return target_; }

 private:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  struct Answer {
    unsigned status;
    bool reusable;  // the connection may carry the next POST
  };
  boost::asio::awaitable<std::unique_ptr<boost::beast::tcp_stream>> connect(
      std::chrono::steady_clock::time_point deadline);
  boost::asio::awaitable<Answer> exchange(boost::beast::tcp_stream* stream, const Request* request,
                                          std::chrono::steady_clock::time_point deadline);

  boost::asio::any_io_executor executor_;
  WebhookTarget target_;
  std::vector<WebhookKey> keys_;
  std::chrono::milliseconds timeout_;
  std::vector<std::unique_ptr<boost::beast::tcp_stream>> idle_;
};

}  // namespace flashtix::notifications
