// The payment service's per-thread state its handlers share (its limits: payments/limits.hpp).
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
#include "payments/limits.hpp"

namespace flashtix::payments {

// The schema, compiled in from db/payments/.
const std::vector<core::Migration>& migrations();
// The OpenAPI document GET /openapi.json answers, compiled in from src/payments/openapi.json.
std::string_view openapi_document();

// Every flag of the service: the common ones, its limits, the broker's and the retention's.
std::vector<core::ConfigOption> options();

struct Payments {
  core::pg::Pool* db;
  Gateway* gateway;
  Limits limits;
  const core::messaging::Tables* tables;  // payments.outbox and payments.inbox
  core::messaging::OutboxRelay* relay;
  const core::messaging::Consumer* consumer;
  core::Doorbell* refunds;  // the refund loop: rung when money is held for a closed order
};

}  // namespace flashtix::payments
