// A webhook target for black-box tests: an HTTP server on a free port that records every POST and
// answers 204, or 503 while told to refuse, so that delivery, retries and outages can be checked.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json/value.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace flashtix::test {

struct ReceivedHook {
  std::string target;
  std::string notification_id;  // the X-FlashTix-Notification-Id header
  std::string body;
  bool accepted = false;  // answered 2xx
};

class WebhookReceiver {
 public:
  WebhookReceiver();
  ~WebhookReceiver();
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  // http://127.0.0.1:<port>/hooks/flashtix
  std::string url() const;
  // While refusing, every POST is recorded and answered 503.
  void refuse(bool refusing) { refusing_ = refusing; }

  std::vector<ReceivedHook> received() const;
  // Accepted hooks whose JSON body has "order_id" == order_id.
  std::vector<boost::json::value> accepted_for(const std::string& order_id) const;

 private:
  void serve();
  void handle(std::shared_ptr<boost::asio::ip::tcp::socket> socket);

  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::atomic<bool> refusing_{false};
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::vector<ReceivedHook> received_;
  // A thread per connection: a client keeping an idle keep-alive connection must not block the next.
  std::vector<std::shared_ptr<boost::asio::ip::tcp::socket>> connections_;
  std::vector<std::thread> connection_threads_;
  std::thread thread_;
};

}  // namespace flashtix::test
