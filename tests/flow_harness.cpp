// The whole system for end-to-end tests, each process on its own free port.
#include "flow_harness.hpp"

#include <cstdlib>

#include "core/amqp.hpp"
#include "core/messaging.hpp"

namespace flashtix::test {

namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<WebhookReceiver> g_webhook;
std::unique_ptr<ServiceProcess> g_payments;
std::unique_ptr<ServiceProcess> g_notifications;

void stop_checked(std::unique_ptr<ServiceProcess>& service, const char* name) {
  if (!service) return;
  if (service->running()) {
    EXPECT_EQ(service->stop(), 0) << name << " must exit 0 on SIGTERM; log:\n" << service->log_tail();
  } else {
    ADD_FAILURE() << name << " stopped during the tests; log:\n" << service->log_tail();
  }
  service.reset();
}

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
  EnvVars env{{"FLASHTIX_DATABASE_URL", pg().database_url()},
              {"FLASHTIX_AMQP_URL", broker().url()},
              {"FLASHTIX_GATEWAY_SLOW_DELAY_MS", std::to_string(kSlowPayment.count())},
              {"FLASHTIX_REFUND_INTERVAL_MS", "100"}};
  for (auto& entry : extra) env.push_back(std::move(entry));
  return std::make_unique<ServiceProcess>("flashtix-payments", std::move(env));
}

std::unique_ptr<ServiceProcess> start_notifications(EnvVars extra) {
  EnvVars env{{"FLASHTIX_DATABASE_URL", pg().database_url()},
              {"FLASHTIX_AMQP_URL", broker().url()},
              {"FLASHTIX_WEBHOOK_URL", webhook().url()},
              {"FLASHTIX_WEBHOOK_FIRST_RETRY_MS", "100"},
              {"FLASHTIX_WEBHOOK_MAX_RETRY_MS", "400"},
              {"FLASHTIX_WEBHOOK_MAX_ATTEMPTS", "1000"},
              {"FLASHTIX_DELIVERY_INTERVAL_MS", "100"}};
  for (auto& entry : extra) env.push_back(std::move(entry));
  return std::make_unique<ServiceProcess>("flashtix-notifications", std::move(env));
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
void publish(const core::amqp::OutgoingMessage& message) {
  core::amqp::BrokerSettings settings;
  settings.url = broker().url();
  core::amqp::Connection connection(settings);
  connection.enable_confirms();
  connection.publish(message);
  connection.wait_for_confirms(std::chrono::seconds(10));
}
}  // namespace

void publish_raw(const std::string& type, const std::string& body) {
  publish(core::amqp::OutgoingMessage{"raw-" + std::to_string(std::rand()), type, "", 0, body});
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
  publish(core::amqp::OutgoingMessage{message.id, message.type, message.correlation_id, message.occurred_at_ms / 1000,
                                      json::serialize(core::messaging::to_json(message))});
}

}  // namespace flashtix::test
