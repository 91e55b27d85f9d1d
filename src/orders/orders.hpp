// The order service's per-thread state its handlers share (its limits: orders/limits.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "core/batcher.hpp"
#include "core/http_client.hpp"
#include "core/messaging.hpp"
#include "core/migrations.hpp"
#include "core/pg.hpp"
#include "orders/limits.hpp"

namespace flashtix::orders {

// The schema, compiled in from db/orders/.
const std::vector<core::Migration>& migrations();
// The OpenAPI document GET /openapi.json answers, compiled in from src/orders/openapi.json.
std::string_view openapi_document();

// Every flag of the service: the common ones, inventory's address and token, its limits, the broker's and
// the retention's.
std::vector<core::ConfigOption> options();

class InventoryClient;
class KeysInFlight;
class ReserveQueue;
namespace store {
class CheckoutWrites;
class KeyLookups;
}

struct Orders {
  core::pg::Pool* db;             // this thread's pool
  store::CheckoutWrites* writes;  // the process's group-committed checkout writes
  store::KeyLookups* key_lookups;  // the process's Idempotency-Key lookups, read together
  InventoryClient* inventory;  // this thread's client: release and confirm
  ReserveQueue* reserves;      // the process's reserves, sent to inventory in batches
  KeysInFlight* keys_in_flight;  // the process's Idempotency-Keys being answered
  Limits limits;
  const core::messaging::Tables* tables;  // orders.outbox and orders.inbox
  // Told after each commit that wrote to the outbox, so that the event goes out at once.
  core::messaging::OutboxRelay* relay;
};

}  // namespace flashtix::orders
