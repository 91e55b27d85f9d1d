// The order service's settings and the per-thread state its handlers share.
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

namespace flashtix::orders {

struct Settings {
  std::string inventory_url = "http://127.0.0.1:8001";
  std::int64_t max_quantity = 10;
  std::int64_t hold_seconds = 600;  // how long an order's tickets are held while payment runs
  std::chrono::milliseconds inventory_timeout{3000};
  std::string inventory_token;  // the service token, sent with every call to inventory
  std::chrono::milliseconds sweep_interval{500};
  core::BatchLimits checkout_writes;  // writes in one transaction, writes waiting
  core::BatchLimits key_lookups;      // Idempotency-Keys in one read, lookups waiting
  // Reserves in one call to inventory (its bound, kMaxReserveBatch there, is 256), reserves waiting,
  // calls at once: the second call's reserves wait in inventory's queue of the event rather than here.
  core::BatchLimits reserve_batches{256, 10'000, 2};
  // A checkout write or reserve no batch has taken by then is refused (503), and never runs.
  std::chrono::milliseconds queue_wait{2000};
};

// The schema, compiled in from db/orders/.
const std::vector<core::Migration>& migrations();
// The OpenAPI document GET /openapi.json answers, compiled in from src/orders/openapi.json.
std::string_view openapi_document();

std::vector<core::ConfigOption> options();
Settings settings_from(const core::Config& config);

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
  Settings settings;
  const core::messaging::Tables* tables;  // orders.outbox and orders.inbox
  // Told after each commit that wrote to the outbox, so that the event goes out at once.
  core::messaging::OutboxRelay* relay;
};

}  // namespace flashtix::orders
