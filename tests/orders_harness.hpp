// What the order service's black-box tests share on top of the inventory harness: a RabbitMQ node,
// order processes wired to the test's inventory and broker, and requests to them.
#pragma once

#include <memory>

#include "inventory_harness.hpp"
#include "support/rabbit_broker.hpp"

namespace flashtix::test {

// The binary's RabbitMQ node (started on first use, stopped with the environment).
RabbitBroker& broker();
void stop_shared_broker();

// Stops a process the tests share and checks that it lived through them and exited 0 on SIGTERM; `name`
// labels its log in a failure.
void stop_checked(std::unique_ptr<ServiceProcess>& service, const char* name);

// Starts flashtix-orders against the test database, inventory and broker, with `extra` environment on top
// (failpoints, hold time, ...). Returns once it answers /health.
std::unique_ptr<ServiceProcess> start_orders(EnvVars extra = {});

// The orders process most tests share (started on first use, stopped with the environment).
ServiceProcess& orders();
void stop_shared_orders();

// The smallest POST /orders body: an event and a quantity, nothing optional.
boost::json::object order_body(std::int64_t event_id, std::int64_t quantity);
HttpResponse order_post(const ServiceProcess& service, const boost::json::value& body, const Headers& headers = {});
HttpResponse order_get(const ServiceProcess& service, std::string_view target);

// Rows of orders.orders for an event, and of its holds in inventory.
std::int64_t db_order_count(std::int64_t event_id);
std::int64_t db_hold_count(std::int64_t event_id);
// Its holds that hold or sold tickets.
std::int64_t db_live_hold_count(std::int64_t event_id);

}  // namespace flashtix::test
