// A webhook target for black-box tests: an HTTP (or HTTPS) server on a free port that records every POST and
// verifies its Standard Webhooks signature as a careful receiver would. It answers 204, or 503 while told to
// refuse, or 401 to a delivery whose signature does not verify with its secret or whose timestamp is stale,
// so that delivery, retries, outages and forgeries can be checked.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/json/value.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/test_ca.hpp"

namespace flashtix::test {

struct ReceivedHook {
  std::string target;
  std::string notification_id;  // the X-FlashTix-Notification-Id header
  std::string webhook_id;
  std::string webhook_timestamp;
  std::string webhook_signature;
  std::string body;
  int status = 0;           // what the receiver answered
  bool accepted = false;    // answered 2xx
  std::string refusal;      // why a delivery was answered 401
  std::string server_name;  // over TLS: the name the client asked for (SNI), "" when it sent none
};

class WebhookReceiver {
 public:
  struct Options {
    // whsec_...: deliveries must be signed with it. Empty: the test process's (test_tokens().webhook_secret).
    std::string secret;
    // Serves HTTPS with this certificate when set.
    std::optional<ServerIdentity> tls;
  };

  WebhookReceiver();
  explicit WebhookReceiver(Options options);
  ~WebhookReceiver();
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  // http://127.0.0.1:<port>/hooks/flashtix, or https://<host>:<port>/hooks/flashtix when serving TLS.
  std::string url(const std::string& host = "127.0.0.1") const;
  unsigned short port() const;
  // While refusing, every POST is recorded and answered 503.
  void refuse(bool refusing) { refusing_ = refusing; }

  std::vector<ReceivedHook> received() const;
  // Accepted hooks whose JSON body has "order_id" == order_id.
  std::vector<boost::json::value> accepted_for(const std::string& order_id) const;
  // Every recorded hook whose JSON body has "order_id" == order_id, accepted or not.
  std::vector<ReceivedHook> received_for(const std::string& order_id) const;
  // TLS: connections that completed the handshake, and those that did not (the client refused our certificate).
  int tls_handshakes() const { return tls_handshakes_; }
  int tls_handshake_failures() const { return tls_handshake_failures_; }

 private:
  void serve();
  void handle(std::shared_ptr<boost::asio::ip::tcp::socket> socket);
  template <class Stream>
  void answer_requests(Stream& stream, const std::string& server_name);

  Options options_;
  std::unique_ptr<boost::asio::ssl::context> tls_context_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::atomic<bool> refusing_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<int> tls_handshakes_{0};
  std::atomic<int> tls_handshake_failures_{0};
  mutable std::mutex mutex_;
  std::vector<ReceivedHook> received_;
  // A thread per connection: a client keeping an idle keep-alive connection must not block the next.
  std::vector<std::shared_ptr<boost::asio::ip::tcp::socket>> connections_;
  std::vector<std::thread> connection_threads_;
  std::thread thread_;
};

}  // namespace flashtix::test
