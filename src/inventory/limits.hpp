// Every bound of the inventory service in one place: the fixed bounds of its API, and the limits an
// operator sets (each a flag whose default is the member's initial value), with the checks that they agree.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/config.hpp"

namespace flashtix::inventory {

// Fixed bounds of the API (the OpenAPI document states them too).
inline constexpr std::size_t kMaxKeyLength = 128;
// Reserve requests in one POST /inventory/reserve-batch at most.
inline constexpr std::size_t kMaxReserveBatch = 256;
inline constexpr std::size_t kMaxEventNameLength = 200;
inline constexpr std::size_t kMaxTicketTypeNameLength = 100;
// Ticket types of one event at most, and items (types) of one hold.
inline constexpr std::size_t kMaxTicketTypes = 20;
inline constexpr std::size_t kMaxItemsPerHold = 10;
// The highest price of one ticket, in minor units (the table's CHECK says the same).
inline constexpr std::int64_t kMaxPriceMinor = 100'000'000'000;

// The bounds of the per-event batching (EventDesk).
struct DeskLimits {
  std::size_t max_batch = 512;       // requests of one event in one transaction at most
  std::size_t max_waiting = 10'000;  // requests of one event waiting for a transaction at most
  // A request no transaction has taken by then is answered 503 overloaded, and never runs.
  std::chrono::milliseconds queue_wait{2000};
  // How long a refusal from the stock the last batch committed stands before the database is asked again.
  std::chrono::milliseconds sold_out_recheck{500};
  int expire_batch = 1000;  // holds one batch expires at most
  // Events with a queue at most: idle ones are dropped past it; with none idle, 503 overloaded.
  std::size_t max_events = 100'000;
  // Event batches in one transaction at most (each of at most max_batch requests).
  std::size_t max_events_per_transaction = 64;
  // Tries of one transaction that lost a deadlock or a serialization race.
  int max_transaction_attempts = 2;
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

struct Limits {
  std::int64_t max_tickets_per_hold = 10;  // tickets one reserve may hold
  std::int64_t default_hold_seconds = 600;
  std::int64_t max_hold_seconds = 3600;
  std::int64_t max_total_tickets = 10'000'000;
  std::chrono::milliseconds sweep_interval{250};
  // Due holds a sweep looks at to find their events; it expires up to max_sweep_rounds batches of each,
  // so one sweep may return many more holds than this.
  int due_holds_per_sweep = 10'000;
  int max_sweep_rounds = 20;  // expiry batches per event per sweep at most
  DeskLimits desk;
  StreamLimits stream;

  // The flags of these limits: name, default (the initial values above) and help.
  static std::vector<core::ConfigOption> options();
  // The limits the flags set; throws std::invalid_argument naming the flags when one is out of its range
  // or two disagree.
  static Limits from(const core::Config& config);
  // Throws std::invalid_argument naming the flags of two limits that disagree.
  void check() const;
};

}  // namespace flashtix::inventory
