// A synchronous Beast server: an accepting thread and one thread per connection.
#include "support/webhook_receiver.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>

namespace flashtix::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

WebhookReceiver::WebhookReceiver() : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
  thread_ = std::thread([this] { serve(); });
}

WebhookReceiver::~WebhookReceiver() {
  stopping_ = true;
  // A connection to ourselves wakes the blocking accept so the thread sees stopping_.
  try {
    tcp::socket wake(io_);
    wake.connect(acceptor_.local_endpoint());
  } catch (const std::exception&) {
  }
  thread_.join();
  std::lock_guard lock(mutex_);
  for (auto& connection : connections_) {
    boost::system::error_code ignored;
    connection->shutdown(tcp::socket::shutdown_both, ignored);
  }
  for (auto& thread : connection_threads_) thread.join();
}

std::string WebhookReceiver::url() const {
  return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/hooks/flashtix";
}

void WebhookReceiver::serve() {
  while (!stopping_) {
    boost::system::error_code ec;
    auto socket = std::make_shared<tcp::socket>(io_);
    acceptor_.accept(*socket, ec);
    if (ec || stopping_) continue;
    std::lock_guard lock(mutex_);
    connections_.push_back(socket);
    connection_threads_.emplace_back([this, socket] { handle(socket); });
  }
}

void WebhookReceiver::handle(std::shared_ptr<tcp::socket> socket) {
  beast::flat_buffer buffer;
  for (;;) {
    boost::system::error_code ec;
    http::request<http::string_body> request;
    http::read(*socket, buffer, request, ec);
    if (ec) return;
    ReceivedHook hook;
    hook.target = std::string(request.target());
    hook.notification_id = std::string(request["X-FlashTix-Notification-Id"]);
    hook.body = request.body();
    hook.accepted = !refusing_;
    {
      std::lock_guard lock(mutex_);
      received_.push_back(hook);
    }
    http::response<http::string_body> response{hook.accepted ? http::status::no_content
                                                              : http::status::service_unavailable,
                                               request.version()};
    response.keep_alive(request.keep_alive());
    response.prepare_payload();
    http::write(*socket, response, ec);
    if (ec || !request.keep_alive()) return;
  }
}

std::vector<ReceivedHook> WebhookReceiver::received() const {
  std::lock_guard lock(mutex_);
  return received_;
}

std::vector<boost::json::value> WebhookReceiver::accepted_for(const std::string& order_id) const {
  std::vector<boost::json::value> hooks;
  for (const ReceivedHook& hook : received()) {
    if (!hook.accepted) continue;
    boost::system::error_code ec;
    boost::json::value body = boost::json::parse(hook.body, ec);
    if (ec || !body.is_object()) continue;
    const auto* id = body.get_object().if_contains("order_id");
    if (id && id->is_string() && id->get_string() == order_id) hooks.push_back(std::move(body));
  }
  return hooks;
}

}  // namespace flashtix::test
