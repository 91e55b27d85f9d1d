// Order processes for the black-box tests, each on its own free port.
#include "orders_harness.hpp"

namespace flashtix::test {

namespace {
std::unique_ptr<ServiceProcess> g_orders;
std::unique_ptr<RabbitBroker> g_broker;
}  // namespace

RabbitBroker& broker() {
  if (!g_broker) g_broker = std::make_unique<RabbitBroker>();
  return *g_broker;
}

void stop_shared_broker() { g_broker.reset(); }

std::unique_ptr<ServiceProcess> start_orders(EnvVars extra) {
  EnvVars env{{"FLASHTIX_DATABASE_URL", pg().database_url()},
              {"FLASHTIX_INVENTORY_URL", "http://127.0.0.1:" + std::to_string(inventory_port())},
              {"FLASHTIX_AMQP_URL", broker().url("orders")},
              {"FLASHTIX_SWEEP_INTERVAL_MS", "100"}};
  for (auto& entry : extra) env.push_back(std::move(entry));
  return std::make_unique<ServiceProcess>("flashtix-orders", std::move(env));
}

ServiceProcess& orders() {
  if (!g_orders) g_orders = start_orders();
  return *g_orders;
}

void stop_shared_orders() {
  if (!g_orders) return;
  if (g_orders->running()) {
    EXPECT_EQ(g_orders->stop(), 0) << "flashtix-orders must exit 0 on SIGTERM; log:\n" << g_orders->log_tail();
  } else {
    ADD_FAILURE() << "flashtix-orders stopped during the tests; log:\n" << g_orders->log_tail();
  }
  g_orders.reset();
}

HttpResponse order_post(const ServiceProcess& service, const boost::json::value& body, const Headers& headers) {
  return http_request(service.port(), "POST", "/orders", boost::json::serialize(body), headers);
}

HttpResponse order_get(const ServiceProcess& service, std::string_view target) {
  return http_request(service.port(), "GET", target);
}

std::int64_t db_order_count(std::int64_t event_id) {
  return std::stoll(
      pg().query("SELECT count(*) FROM orders.orders WHERE event_id = " + std::to_string(event_id)).at(0).at(0));
}

std::int64_t db_hold_count(std::int64_t event_id) {
  return std::stoll(pg().query("SELECT count(*) FROM inventory.reservations WHERE event_id = " +
                               std::to_string(event_id)).at(0).at(0));
}

}  // namespace flashtix::test
