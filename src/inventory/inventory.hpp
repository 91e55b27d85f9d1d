// The inventory service's settings and the per-thread state its handlers share.
#pragma once

#include <chrono>
#include <cstdint>

#include "core/config.hpp"
#include "core/migrations.hpp"
#include "core/pg.hpp"

namespace flashtix::inventory {

struct Settings {
  std::int64_t max_quantity = 10;          // tickets one reserve may hold
  std::int64_t default_hold_seconds = 600;
  std::int64_t max_hold_seconds = 3600;
  std::int64_t max_total_tickets = 10'000'000;
  std::chrono::milliseconds sweep_interval{250};
  int sweep_batch = 500;                   // holds expired per event per statement
};

// The schema, compiled in from db/inventory/.
const std::vector<core::Migration>& migrations();

std::vector<core::ConfigOption> options();
Settings settings_from(const core::Config& config);

// What a handler on one event-loop thread works with.
struct Inventory {
  core::pg::Pool* db;
  Settings settings;
};

}  // namespace flashtix::inventory
