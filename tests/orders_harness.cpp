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

void stop_checked(std::unique_ptr<ServiceProcess>& service, const char* name) {
  if (!service) return;
  if (service->running()) {
    EXPECT_EQ(service->stop(), 0) << name << " must exit 0 on SIGTERM; log:\n" << service->log_tail();
  } else {
    ADD_FAILURE() << name << " stopped during the tests; log:\n" << service->log_tail();
  }
  service.reset();
}

std::unique_ptr<ServiceProcess> start_orders(EnvVars extra) {
  return start_on_test_database("flashtix-orders",
                                {{"FLASHTIX_INVENTORY_URL", "http://127.0.0.1:" + std::to_string(inventory_port())},
                                 {"FLASHTIX_AMQP_URL", broker().url("orders")},
                                 {"FLASHTIX_SWEEP_INTERVAL_MS", "100"}},
                                std::move(extra));
}

ServiceProcess& orders() {
  if (!g_orders) g_orders = start_orders();
  return *g_orders;
}

void stop_shared_orders() { stop_checked(g_orders, "flashtix-orders"); }

boost::json::object order_body(std::int64_t event_id, std::int64_t quantity) {
  return {{"event_id", event_id}, {"quantity", quantity}};
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

std::int64_t db_live_hold_count(std::int64_t event_id) {
  return std::stoll(pg().query("SELECT count(*) FROM inventory.reservations WHERE status IN ('HELD', 'CONFIRMED') "
                               "AND event_id = " + std::to_string(event_id)).at(0).at(0));
}

}  // namespace flashtix::test
