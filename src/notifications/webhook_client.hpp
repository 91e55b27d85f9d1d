// POSTs signed notifications to the configured webhook receiver, over http:// or https:// (TLS with the
// receiver's certificate verified): kept-alive connections and one deadline per POST. Its own client rather
// than core::HttpClient because each POST carries headers of its own (the Standard Webhooks signature) and
// may need TLS, neither of which core::HttpClient does.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
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

// The TLS client settings of an https:// webhook: TLS 1.2 or later, and a certificate that chains to the
// system's trust store, or, given `ca_file` (PEM), to one of its certificates only. Throws
// std::invalid_argument when `ca_file` cannot be loaded.
std::shared_ptr<boost::asio::ssl::context> webhook_tls_context(const std::string& ca_file);

// A connection to the receiver: plain TCP, or TLS over it (webhook_client.cpp).
struct WebhookConnection;

// Owned by one event-loop thread, like the database pool.
class WebhookClient {
 public:
  // `tls` is needed for an https:// target and ignored for http://. `keys` sign every POST (at least one).
  WebhookClient(boost::asio::any_io_executor executor, WebhookTarget target, std::vector<WebhookKey> keys,
                std::chrono::milliseconds timeout, std::shared_ptr<boost::asio::ssl::context> tls);
  ~WebhookClient();

  // POSTs `body` as one attempt of notification `notification_id`, signed with this attempt's time, and
  // returns the receiver's status code. Throws core::PeerUnavailable when there was no answer within the
  // deadline, or the receiver's certificate did not verify (name resolution is bounded by the system
  // resolver's own timeouts, not by it).
  boost::asio::awaitable<unsigned> post(std::string notification_id, std::int64_t attempt, std::string body);

  const WebhookTarget& target() const { return target_; }

 private:
  boost::asio::awaitable<std::unique_ptr<WebhookConnection>> connect(std::chrono::steady_clock::time_point deadline);

  boost::asio::any_io_executor executor_;
  WebhookTarget target_;
  std::vector<WebhookKey> keys_;
  std::chrono::milliseconds timeout_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  std::vector<std::unique_ptr<WebhookConnection>> idle_;
};

}  // namespace flashtix::notifications
