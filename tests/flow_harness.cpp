// The whole system for end-to-end tests, each process on its own free port.
#include "flow_harness.hpp"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <sys/time.h>

#include <cstdlib>

#include "core/amqp.hpp"
#include "core/messaging.hpp"
#include "core/time.hpp"
#include "core/uuid.hpp"

namespace flashtix::test {

namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<WebhookReceiver> g_webhook;
std::unique_ptr<ServiceProcess> g_payments;
std::unique_ptr<ServiceProcess> g_notifications;

std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

}  // namespace

WebhookReceiver& webhook() {
  if (!g_webhook) g_webhook = std::make_unique<WebhookReceiver>();
  return *g_webhook;
}

std::unique_ptr<ServiceProcess> start_payments(EnvVars extra) {
  return start_on_test_database("flashtix-payments",
                                {{"FLASHTIX_AMQP_URL", broker().url("payments")},
                                 {"FLASHTIX_GATEWAY_SLOW_DELAY_MS", std::to_string(kSlowPayment.count())},
                                 {"FLASHTIX_REFUND_INTERVAL_MS", "100"}},
                                std::move(extra));
}

std::unique_ptr<ServiceProcess> start_notifications(EnvVars extra) {
  return start_on_test_database("flashtix-notifications",
                                {{"FLASHTIX_AMQP_URL", broker().url("notifications")},
                                 {"FLASHTIX_WEBHOOK_URL", webhook().url()},
                                 {"FLASHTIX_WEBHOOK_FIRST_RETRY_MS", "100"},
                                 {"FLASHTIX_WEBHOOK_MAX_RETRY_MS", "400"},
                                 {"FLASHTIX_WEBHOOK_MAX_ATTEMPTS", "1000"},
                                 {"FLASHTIX_DELIVERY_INTERVAL_MS", "100"}},
                                std::move(extra));
}

ServiceProcess& payments() {
  if (!g_payments) g_payments = start_payments();
  return *g_payments;
}

ServiceProcess& notifications() {
  if (!g_notifications) g_notifications = start_notifications();
  return *g_notifications;
}

void FlowEnvironment::SetUp() {
  // Every service ready: connected to the database and the broker (orders also to inventory).
  for (ServiceProcess* service : {&orders(), &payments(), &notifications()}) {
    const bool ready = eventually(20s, [&] { return http_request(service->port(), "GET", "/ready").status == 200; });
    ASSERT_TRUE(ready) << service->binary_path() << " is not ready; log:\n" << service->log_tail();
  }
}

void FlowEnvironment::TearDown() {
  stop_checked(g_notifications, "flashtix-notifications");
  stop_checked(g_payments, "flashtix-payments");
  stop_shared_orders();
  stop_shared_broker();
  g_webhook.reset();
}

std::string place_order(std::int64_t event_id, std::int64_t quantity, std::string_view payment_token,
                        ServiceProcess* service) {
  const json::object body{{"event_id", event_id}, {"quantity", quantity}, {"payment_token", payment_token},
                          {"customer_email", "buyer@example.com"}};
  const HttpResponse response = order_post(service ? *service : orders(), body);
  if (response.status != 200) throw std::runtime_error("POST /orders answered " + response.describe());
  return string_field(response.json(), "order_id");
}

json::object order_json(const std::string& order_id) {
  const HttpResponse response = order_get(orders(), "/orders/" + order_id);
  if (response.status != 200) throw std::runtime_error("GET /orders/" + order_id + " answered " + response.describe());
  return response.json().as_object();
}

std::string final_status(const std::string& order_id, std::chrono::milliseconds timeout) {
  std::string status;
  eventually(timeout, [&] {
    status = std::string(order_json(order_id).at("status").as_string());
    return status != "PENDING_PAYMENT";
  });
  return status;
}

namespace {
json::array items_of(const ServiceProcess& service, const std::string& target) {
  const HttpResponse response = http_request(service.port(), "GET", target);
  if (response.status != 200) throw std::runtime_error("GET " + target + " answered " + response.describe());
  return response.json().at("items").as_array();
}
}  // namespace

json::array payments_of(const std::string& order_id) { return items_of(payments(), "/payments?order_id=" + order_id); }

json::array notifications_of(const std::string& order_id) {
  return items_of(notifications(), "/notifications?order_id=" + order_id);
}

std::int64_t count(const std::string& sql) { return std::stoll(pg().query(sql).at(0).at(0)); }

std::string outbox_message_id(const std::string& schema, const std::string& type, const std::string& order_id) {
  const Rows rows = pg().query("SELECT message_id FROM " + schema + ".outbox WHERE type = " + quoted(type) +
                               " AND correlation_id = " + quoted(order_id));
  return rows.empty() ? "" : rows.at(0).at(0);
}

namespace {

constexpr auto kConfirmTimeout = std::chrono::seconds(10);

void publish(const std::string& service, const core::amqp::OutgoingMessage& message) {
  core::amqp::BrokerSettings settings;
  settings.url = broker().url(service);
  core::amqp::Connection connection(settings);
  connection.enable_confirms();
  connection.publish(message);
  connection.wait_for_confirms(kConfirmTimeout);
}

core::amqp::OutgoingMessage outgoing(const core::messaging::Message& message) {
  return core::amqp::OutgoingMessage{message.id, message.type, message.correlation_id, message.occurred_at_ms / 1000,
                                     json::serialize(core::messaging::to_json(message)), message.traceparent};
}

// Closes a rabbitmq-c connection politely, then frees it.
struct AmqpConnectionCloser {
  void operator()(amqp_connection_state_t state) const {
    amqp_connection_close(state, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(state);
  }
};

std::string reply_error(const amqp_rpc_reply_t& reply, const char* what) {
  if (reply.reply_type == AMQP_RESPONSE_NORMAL) return "";
  if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION) {
    return std::string(what) + ": " + amqp_error_string2(reply.library_error);
  }
  if (reply.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
    const auto* close = static_cast<const amqp_connection_close_t*>(reply.reply.decoded);
    return std::string(what) + ": " +
           std::string(static_cast<const char*>(close->reply_text.bytes), close->reply_text.len);
  }
  return std::string(what) + ": refused";
}

}  // namespace

void publish_raw(const std::string& type, const std::string& body) {
  const auto owner = core::messaging::event_owner(type);
  if (!owner) throw std::logic_error("no service publishes " + type);
  publish(std::string(*owner), core::amqp::OutgoingMessage{"raw-" + std::to_string(std::rand()), type, "", 0, body, ""});
}

core::messaging::Message new_event(std::string_view type, const std::string& order_id, json::object payload) {
  core::messaging::Message message;
  message.id = core::random_uuid();
  message.type = std::string(type);
  message.occurred_at_ms = core::unix_ms_now();
  message.correlation_id = order_id;
  message.payload = std::move(payload);
  return message;
}

void publish_as(const std::string& service, const core::messaging::Message& message) {
  publish(service, outgoing(message));
}

std::string publish_with_user_id(const std::string& service, const std::optional<std::string>& user_id,
                                 const core::messaging::Message& message) {
  // rabbitmq-c itself, not core::amqp::Connection, which always stamps its own login.
  const std::unique_ptr<amqp_connection_state_t_, AmqpConnectionCloser> state(amqp_new_connection());
  amqp_socket_t* socket = amqp_tcp_socket_new(state.get());
  if (socket == nullptr || amqp_socket_open(socket, "127.0.0.1", broker().port()) != AMQP_STATUS_OK) {
    throw std::runtime_error("cannot connect to the test broker");
  }
  const std::string user = core::messaging::broker_user(service);
  std::string error = reply_error(
      amqp_login(state.get(), "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, user.c_str(), broker().password(user).c_str()),
      "log in");
  if (!error.empty()) throw std::runtime_error(error);
  amqp_channel_open(state.get(), 1);
  amqp_confirm_select(state.get(), 1);
  error = reply_error(amqp_get_rpc_reply(state.get()), "open a channel with confirms");
  if (!error.empty()) throw std::runtime_error(error);

  const core::amqp::OutgoingMessage out = outgoing(message);
  amqp_basic_properties_t properties{};
  properties._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG |
                      AMQP_BASIC_TYPE_FLAG;
  properties.content_type = amqp_cstring_bytes("application/json");
  properties.delivery_mode = AMQP_DELIVERY_PERSISTENT;
  properties.message_id = amqp_cstring_bytes(out.message_id.c_str());
  properties.type = amqp_cstring_bytes(out.type.c_str());
  if (user_id) {
    properties._flags |= AMQP_BASIC_USER_ID_FLAG;
    properties.user_id = amqp_cstring_bytes(user_id->c_str());
  }
  if (amqp_basic_publish(state.get(), 1, amqp_cstring_bytes("flashtix.events"), amqp_cstring_bytes(out.type.c_str()), 0,
                         0, &properties, amqp_cstring_bytes(out.body.c_str())) != AMQP_STATUS_OK) {
    throw std::runtime_error("cannot publish to the test broker");
  }
  // The broker's answer: an ack, or the channel closed with its reason.
  const timeval wait{std::chrono::seconds(kConfirmTimeout).count(), 0};
  for (;;) {
    amqp_frame_t frame;
    const int status = amqp_simple_wait_frame_noblock(state.get(), &frame, &wait);
    if (status != AMQP_STATUS_OK) return std::string("no answer from the broker: ") + amqp_error_string2(status);
    if (frame.frame_type != AMQP_FRAME_METHOD) continue;
    switch (frame.payload.method.id) {
      case AMQP_BASIC_ACK_METHOD:
        return "";
      case AMQP_BASIC_NACK_METHOD:
        return "nack";
      case AMQP_CHANNEL_CLOSE_METHOD: {
        const auto* close = static_cast<const amqp_channel_close_t*>(frame.payload.method.decoded);
        // Answered, so that the connection closes cleanly afterwards.
        amqp_channel_close_ok_t close_ok{};
        amqp_send_method(state.get(), 1, AMQP_CHANNEL_CLOSE_OK_METHOD, &close_ok);
        return std::string(static_cast<const char*>(close->reply_text.bytes), close->reply_text.len);
      }
      default:
        continue;
    }
  }
}

void republish(const std::string& schema, const std::string& message_id) {
  const Rows rows = pg().query(
      "SELECT type, correlation_id, payload::text, (extract(epoch FROM occurred_at) * 1000)::bigint FROM " + schema +
      ".outbox WHERE message_id = " + quoted(message_id));
  if (rows.empty()) throw std::runtime_error("no outbox message " + message_id + " in " + schema);
  core::messaging::Message message;
  message.id = message_id;
  message.type = rows[0][0];
  message.correlation_id = rows[0][1];
  message.payload = json::parse(rows[0][2]).as_object();
  message.occurred_at_ms = std::stoll(rows[0][3]);
  publish_as(schema, message);
}

}  // namespace flashtix::test
