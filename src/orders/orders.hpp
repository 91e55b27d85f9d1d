// The order service's settings and the per-thread state its handlers share.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/config.hpp"
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
  // A claim still IN_PROGRESS after this is from a request that died: its hold is released.
  std::chrono::seconds claim_timeout{30};
  std::chrono::milliseconds sweep_interval{500};
};

// The schema, compiled in from db/orders/.
const std::vector<core::Migration>& migrations();

std::vector<core::ConfigOption> options();
Settings settings_from(const core::Config& config);

class InventoryClient;

struct Orders {
  core::pg::Pool* db;
  InventoryClient* inventory;
  Settings settings;
  const core::messaging::Tables* tables;  // orders.outbox and orders.inbox
  // Told after each commit that wrote to the outbox, so that the event goes out at once.
  core::messaging::OutboxRelay* relay;
  const core::messaging::Consumer* consumer;
};

}  // namespace flashtix::orders
