// The payment service's settings and the per-thread state its handlers share.
#pragma once

#include <chrono>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "core/doorbell.hpp"
#include "core/messaging.hpp"
#include "core/migrations.hpp"
#include "core/pg.hpp"
#include "payments/gateway.hpp"

namespace flashtix::payments {

struct Settings {
  SimulatedGatewaySettings gateway;
  std::chrono::milliseconds refund_interval{500};
};

// The schema, compiled in from db/payments/.
const std::vector<core::Migration>& migrations();
// The OpenAPI document GET /openapi.json answers, compiled in from src/payments/openapi.json.
std::string_view openapi_document();

std::vector<core::ConfigOption> options();
Settings settings_from(const core::Config& config);

struct Payments {
  core::pg::Pool* db;
  Gateway* gateway;
  Settings settings;
  const core::messaging::Tables* tables;  // payments.outbox and payments.inbox
  core::messaging::OutboxRelay* relay;
  const core::messaging::Consumer* consumer;
  core::Doorbell* refunds;  // the refund loop: rung when money is held for a closed order
};

}  // namespace flashtix::payments
