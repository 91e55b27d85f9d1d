// Webhook POSTs over Beast, in the clear or over OpenSSL. A connection is reused while the receiver keeps it
// alive and dropped on any error.
#include "notifications/webhook_client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <optional>
#include <stdexcept>

#include "core/http_client.hpp"
#include "core/log.hpp"
#include "core/time.hpp"

namespace flashtix::notifications {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using asio::as_tuple;
using asio::use_awaitable;
using Clock = std::chrono::steady_clock;

struct WebhookConnection {
  // Exactly one of them.
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;

  beast::tcp_stream& tcp() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
};

namespace {

using Request = http::request<http::string_body>;

struct Answer {
  unsigned status;
  bool reusable;  // the connection may carry the next POST
};

// Asio's host_name_verification, telling OpenSSL why it refused, so that the recorded error says so.
class VerifyHostName {
 public:
  explicit VerifyHostName(const std::string& host) : check_(host) {}

  bool operator()(bool preverified, ssl::verify_context& context) const {
    if (check_(preverified, context)) return true;
    // A chain that did not verify carries its own reason; only a name that does not match is ours to add.
    if (preverified) X509_STORE_CTX_set_error(context.native_handle(), X509_V_ERR_HOSTNAME_MISMATCH);
    return false;
  }

 private:
  ssl::host_name_verification check_;
};

// Why a handshake failed: the certificate's verdict when that was the reason, else the TLS error.
std::string tls_failure(SSL* session, const boost::system::error_code& error) {
  const long verdict = SSL_get_verify_result(session);
  if (verdict != X509_V_OK) {
    return "the receiver's certificate did not verify: " + std::string(X509_verify_cert_error_string(verdict));
  }
  return "TLS handshake failed: " + error.message();
}

template <class Stream>
asio::awaitable<Answer> exchange_over(Stream* stream, const Request* request, const WebhookTarget* target) {
  auto [write_error, written] = co_await http::async_write(*stream, *request, as_tuple(use_awaitable));
  if (write_error) throw core::PeerUnavailable(target->url + ": " + write_error.message());
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxWebhookResponseBodyBytes);
  auto [header_error, header_read] = co_await http::async_read_header(*stream, buffer, parser, as_tuple(use_awaitable));
  if (header_error) throw core::PeerUnavailable(target->url + ": " + header_error.message());
  const unsigned status = parser.get().result_int();
  bool reusable = parser.get().keep_alive();
  if (!parser.is_done()) {
    // The status is the answer; a body that is too large or too slow only costs the connection.
    auto [body_error, body_read] = co_await http::async_read(*stream, buffer, parser, as_tuple(use_awaitable));
    if (body_error) reusable = false;
  }
  co_return Answer{status, reusable};
}

asio::awaitable<Answer> exchange(WebhookConnection* connection, const Request* request, Clock::time_point deadline,
                                 const WebhookTarget* target) {
  // One expiry for write and read together: the deadline is the whole POST's.
  connection->tcp().expires_at(deadline);
  if (connection->tls) co_return co_await exchange_over(&*connection->tls, request, target);
  co_return co_await exchange_over(&*connection->plain, request, target);
}

}  // namespace

std::shared_ptr<ssl::context> webhook_tls_context(const std::string& ca_file) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  if (SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION) != 1) {
    throw std::runtime_error("cannot require TLS 1.2 for webhooks");
  }
  context->set_options(ssl::context::default_workarounds | ssl::context::no_compression);
  context->set_verify_mode(ssl::verify_peer);
  boost::system::error_code error;
  if (ca_file.empty()) {
    context->set_default_verify_paths(error);
    if (error) throw std::invalid_argument("cannot load the system's trust store: " + error.message());
  } else {
    context->load_verify_file(ca_file, error);
    if (error) throw std::invalid_argument("cannot load CA certificates from " + ca_file + ": " + error.message());
  }
  return context;
}

WebhookClient::WebhookClient(asio::any_io_executor executor, WebhookTarget target, std::vector<WebhookKey> keys,
                             std::chrono::milliseconds timeout, std::shared_ptr<ssl::context> tls)
    : executor_(std::move(executor)),
      target_(std::move(target)),
      keys_(std::move(keys)),
      timeout_(timeout),
      tls_(std::move(tls)) {
  if (keys_.empty()) throw std::invalid_argument("a webhook client needs a key to sign with");
  if (target_.tls && !tls_) throw std::invalid_argument("an https:// webhook needs a TLS context");
}

WebhookClient::~WebhookClient() = default;

asio::awaitable<std::unique_ptr<WebhookConnection>> WebhookClient::connect(Clock::time_point deadline) {
  asio::ip::tcp::resolver resolver(executor_);
  auto [resolve_error, endpoints] =
      co_await resolver.async_resolve(target_.host, target_.port, as_tuple(use_awaitable));
  if (resolve_error) throw core::PeerUnavailable(target_.url + ": cannot resolve: " + resolve_error.message());
  auto connection = std::make_unique<WebhookConnection>();
  if (target_.tls) {
    connection->tls.emplace(executor_, *tls_);
  } else {
    connection->plain.emplace(executor_);
  }
  beast::tcp_stream& tcp = connection->tcp();
  tcp.expires_at(deadline);
  auto [connect_error, endpoint] = co_await tcp.async_connect(endpoints, as_tuple(use_awaitable));
  if (connect_error) throw core::PeerUnavailable(target_.url + ": cannot connect: " + connect_error.message());
  if (!target_.tls) co_return connection;

  beast::ssl_stream<beast::tcp_stream>& stream = *connection->tls;
  SSL* session = stream.native_handle();
  // SNI: a receiver behind a shared address picks its certificate by name. An address is not a name to send.
  if (!target_.host_is_address && SSL_set_tlsext_host_name(session, target_.host.c_str()) != 1) {
    throw core::PeerUnavailable(target_.url + ": cannot set the TLS server name");
  }
  // The chain is checked against the context's trust store; the name here, against the URL's host.
  stream.set_verify_callback(VerifyHostName(target_.host));
  auto [handshake_error] = co_await stream.async_handshake(ssl::stream_base::client, as_tuple(use_awaitable));
  if (handshake_error) throw core::PeerUnavailable(target_.url + ": " + tls_failure(session, handshake_error));
  co_return connection;
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

  std::unique_ptr<WebhookConnection> connection;
  std::optional<Answer> answer;
  const Request* sent = &request;
  const WebhookTarget* target = &target_;
  if (!idle_.empty()) {
    connection = std::move(idle_.back());
    idle_.pop_back();
    WebhookConnection* kept = connection.get();
    try {
      answer = co_await exchange(kept, sent, deadline, target);
    } catch (const core::PeerUnavailable& e) {
      // The receiver closed the idle connection, most likely: send once more on a fresh one. It may
      // have got the first copy; the webhook-id lets it tell.
      core::log_debug("webhook ", target_.url, ": kept-alive connection failed, reconnecting: ", e.what());
    }
  }
  if (!answer) {
    connection = co_await connect(deadline);
    WebhookConnection* fresh = connection.get();
    answer = co_await exchange(fresh, sent, deadline, target);
  }
  if (answer->reusable && idle_.size() < kMaxIdleWebhookConnections) idle_.push_back(std::move(connection));
  co_return answer->status;
}

}  // namespace flashtix::notifications
