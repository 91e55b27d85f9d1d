// A synchronous Beast server, optionally over OpenSSL: an accepting thread and one thread per connection.
#include "support/webhook_receiver.hpp"

#include <openssl/ssl.h>

#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>

#include "support/credentials.hpp"
#include "support/standard_webhooks.hpp"

namespace flashtix::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

std::string order_id_of(const std::string& body) {
  boost::system::error_code ec;
  const boost::json::value value = boost::json::parse(body, ec);
  if (ec || !value.is_object()) return "";
  const auto* id = value.get_object().if_contains("order_id");
  return id && id->is_string() ? std::string(id->get_string()) : "";
}

}  // namespace

WebhookReceiver::WebhookReceiver() : WebhookReceiver(Options{}) {}

WebhookReceiver::WebhookReceiver(Options options)
    : options_(std::move(options)), acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
  if (options_.secret.empty()) options_.secret = test_tokens().webhook_secret;
  if (options_.tls) {
    tls_context_ = std::make_unique<ssl::context>(ssl::context::tls_server);
    tls_context_->use_certificate_chain_file(options_.tls->certificate_chain_file);
    tls_context_->use_private_key_file(options_.tls->key_file, ssl::context::pem);
  }
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

std::string WebhookReceiver::url(const std::string& host) const {
  return std::string(options_.tls ? "https://" : "http://") + host + ":" + std::to_string(port()) + "/hooks/flashtix";
}

unsigned short WebhookReceiver::port() const { return acceptor_.local_endpoint().port(); }

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
  if (!tls_context_) {
    answer_requests(*socket, "");
    return;
  }
  // Over the socket by reference, so that the destructor's shutdown of it still ends a blocked read.
  ssl::stream<tcp::socket&> stream(*socket, *tls_context_);
  boost::system::error_code ec;
  stream.handshake(ssl::stream_base::server, ec);
  if (ec) {
    ++tls_handshake_failures_;
    return;
  }
  ++tls_handshakes_;
  const char* server_name = SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name);
  answer_requests(stream, server_name ? server_name : "");
}

template <class Stream>
void WebhookReceiver::answer_requests(Stream& stream, const std::string& server_name) {
  beast::flat_buffer buffer;
  for (;;) {
    boost::system::error_code ec;
    http::request<http::string_body> request;
    http::read(stream, buffer, request, ec);
    if (ec) return;
    ReceivedHook hook;
    hook.target = std::string(request.target());
    hook.notification_id = std::string(request["X-FlashTix-Notification-Id"]);
    hook.webhook_id = std::string(request["webhook-id"]);
    hook.webhook_timestamp = std::string(request["webhook-timestamp"]);
    hook.webhook_signature = std::string(request["webhook-signature"]);
    hook.body = request.body();
    hook.server_name = server_name;
    // Down first: a receiver that is down checks nothing (and an unsigned caller, such as orders in a test
    // that uses this as a busy inventory, gets its 503).
    if (refusing_) {
      hook.status = 503;
    } else if (auto refusal = verify_delivery(
                   options_.secret, {hook.webhook_id, hook.webhook_timestamp, hook.webhook_signature, hook.body},
                   unix_seconds_now())) {
      hook.status = 401;
      hook.refusal = *refusal;
    } else {
      hook.status = 204;
    }
    hook.accepted = hook.status >= 200 && hook.status <= 299;
    {
      std::lock_guard lock(mutex_);
      received_.push_back(hook);
    }
    http::response<http::string_body> response{static_cast<http::status>(hook.status), request.version()};
    response.keep_alive(request.keep_alive());
    response.prepare_payload();
    http::write(stream, response, ec);
    if (ec || !request.keep_alive()) return;
  }
}

std::vector<ReceivedHook> WebhookReceiver::received() const {
  std::lock_guard lock(mutex_);
  return received_;
}

std::vector<ReceivedHook> WebhookReceiver::received_for(const std::string& order_id) const {
  std::vector<ReceivedHook> hooks;
  for (ReceivedHook& hook : received()) {
    if (order_id_of(hook.body) == order_id) hooks.push_back(std::move(hook));
  }
  return hooks;
}

std::vector<boost::json::value> WebhookReceiver::accepted_for(const std::string& order_id) const {
  std::vector<boost::json::value> hooks;
  for (const ReceivedHook& hook : received_for(order_id)) {
    if (hook.accepted) hooks.push_back(boost::json::parse(hook.body));
  }
  return hooks;
}

}  // namespace flashtix::test
