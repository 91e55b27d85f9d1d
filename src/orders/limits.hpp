// Every bound of the order service in one place: the fixed bounds of its API, and the limits an operator
// sets (each a flag whose default is the member's initial value), with the checks that they agree, among
// themselves and with inventory's.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/batcher.hpp"
#include "core/config.hpp"

namespace flashtix::orders {

// Fixed bounds of the API (the OpenAPI document states them too).
inline constexpr std::size_t kMaxIdempotencyKeyLength = 255;
inline constexpr std::size_t kMaxPaymentTokenLength = 64;

// The bounds inventory sets on a reserve, as its GET /inventory/limits tells them.
struct InventoryLimits {
  std::int64_t max_quantity = 0;
  std::int64_t default_hold_seconds = 0;
  std::int64_t max_hold_seconds = 0;
  std::int64_t max_reservations_per_batch = 0;
};

struct Limits {
  std::int64_t max_tickets_per_order = 10;
  std::int64_t hold_seconds = 600;  // how long an order's tickets are held while payment runs
  std::chrono::milliseconds inventory_timeout{3000};
  std::chrono::milliseconds sweep_interval{500};
  int max_orders_per_sweep = 500;     // unpaid orders one sweep expires at most
  core::BatchLimits checkout_writes;  // writes in one transaction, writes waiting
  core::BatchLimits key_lookups;      // Idempotency-Keys in one read, lookups waiting
  // Reserves in one call to inventory (at most what inventory takes, checked at start), reserves waiting,
  // calls at once: the second call's reserves wait in inventory's queue of the event rather than here.
  core::BatchLimits reserve_batches{256, 10'000, 2};
  // A checkout write or reserve no batch has taken by then is refused (503), and never runs.
  std::chrono::milliseconds queue_wait{2000};

  // The flags of these limits: name, default (the initial values above) and help.
  static std::vector<core::ConfigOption> options();
  // The limits the flags set; throws std::invalid_argument naming the flag that is out of its range.
  static Limits from(const core::Config& config);
  // Why inventory would refuse reserves these limits make, naming the flags of both services; nothing when
  // they agree.
  std::optional<std::string> disagreement_with(const InventoryLimits& inventory) const;
};

class InventoryClient;

// Reads inventory's limits once it answers (trying again, more slowly each time, while it does not) and
// compares them with `limits`; on a disagreement calls `refuse` with the reason, once. Inventory keeps
// its limits in its own flags, so this is the only place both are seen together.
boost::asio::awaitable<void> check_limits_with_inventory(Limits limits, InventoryClient* inventory,
                                                         std::function<void(std::string)> refuse);

}  // namespace flashtix::orders
