// The inventory service's per-thread state its handlers share (its limits: inventory/limits.hpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/config.hpp"
#include "core/migrations.hpp"
#include "core/pg.hpp"
#include "inventory/limits.hpp"

namespace flashtix::inventory {

// The schema, compiled in from db/inventory/.
const std::vector<core::Migration>& migrations();
// The OpenAPI document GET /openapi.json answers, compiled in from src/inventory/openapi.json.
std::string_view openapi_document();

// Every flag of the service: the common ones, its limits, the broker's and the retention's.
std::vector<core::ConfigOption> options();

class EventDesk;
class EventSnapshots;
struct StreamCount;

// What a handler on one event-loop thread works with.
struct Inventory {
  core::pg::Pool* db;  // this thread's pool, for reads
  EventDesk* desk;     // every change to a stock, for all threads
  Limits limits;
  EventSnapshots* snapshots;  // this thread's copies of the watched events
  StreamCount* streams;       // the open streams, for all threads
};

}  // namespace flashtix::inventory
