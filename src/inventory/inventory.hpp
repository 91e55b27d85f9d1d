// The inventory service's settings and the per-thread state its handlers share.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/config.hpp"
#include "core/migrations.hpp"
#include "core/pg.hpp"

namespace flashtix::inventory {

// The bounds of the per-event batching (EventDesk).
struct DeskLimits {
  std::size_t max_batch = 512;       // requests of one event in one transaction at most
  std::size_t max_waiting = 10'000;  // requests of one event waiting for a transaction at most
  // A request no transaction has taken by then is answered 503 overloaded, and never runs.
  std::chrono::milliseconds queue_wait{2000};
  // How long a refusal from the stock the last batch committed stands before the database is asked again.
  std::chrono::milliseconds sold_out_recheck{500};
  int expire_batch = 1000;           // holds one batch expires at most
  // Events with a queue at most: idle ones are dropped past it; with none idle, 503 overloaded.
  std::size_t max_events = 100'000;
  // Event batches in one transaction at most (each of at most max_batch requests).
  std::size_t max_events_per_transaction = 64;
};

// The bounds of the live streams (GET /events/{id}/stream).
struct StreamLimits {
  // How often a stream looks at its event: changes within one tick go out as one update.
  std::chrono::milliseconds tick{250};
  // A comment line after this long without a change, so that a gone client is noticed and proxies keep
  // the connection.
  std::chrono::milliseconds keepalive{15000};
  // Streams open at once in this process at most, and from one client address; more are refused with 503.
  int max_subscribers = 1000;
  int max_per_client = 10;
  // A stream ends after this long; the browser's EventSource reconnects on its own.
  std::chrono::milliseconds max_duration{std::chrono::hours(1)};
};

struct Settings {
  std::int64_t max_quantity = 10;          // tickets one reserve may hold
  std::int64_t default_hold_seconds = 600;
  std::int64_t max_hold_seconds = 3600;
  std::int64_t max_total_tickets = 10'000'000;
  std::chrono::milliseconds sweep_interval{250};
  int max_sweep_rounds = 20;  // expiry batches per event per sweep at most
  DeskLimits desk;
  StreamLimits stream;
};

// The schema, compiled in from db/inventory/.
const std::vector<core::Migration>& migrations();
// The OpenAPI document GET /openapi.json answers, compiled in from src/inventory/openapi.json.
std::string_view openapi_document();

std::vector<core::ConfigOption> options();
Settings settings_from(const core::Config& config);

class EventDesk;
class EventSnapshots;
struct StreamCount;

// What a handler on one event-loop thread works with.
struct Inventory {
  core::pg::Pool* db;  // this thread's pool, for reads
  EventDesk* desk;     // every change to a stock, for all threads
  Settings settings;
  EventSnapshots* snapshots;  // this thread's copies of the watched events
  StreamCount* streams;       // the open streams, for all threads
};

}  // namespace flashtix::inventory
