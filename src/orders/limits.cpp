// The order service's limit flags, read once at start, and the check of its limits against inventory's.
#include "orders/limits.hpp"

#include <algorithm>
#include <stdexcept>

#include "core/backoff.hpp"
#include "core/doorbell.hpp"
#include "core/errors.hpp"
#include "core/limits.hpp"
#include "core/log.hpp"
#include "orders/inventory_client.hpp"

namespace flashtix::orders {

namespace asio = boost::asio;

namespace {

constexpr std::int64_t kWeekSeconds = 7 * 24 * 3600;

core::LimitFlags<Limits> flags() {
  core::LimitFlags<Limits> table;
  table.add("inventory-timeout-ms", &Limits::inventory_timeout, 10, 60'000, "deadline of one call to inventory")
      .add("max-quantity", &Limits::max_tickets_per_order, 1, 1000, "tickets one order may buy")
      .add("hold-seconds", &Limits::hold_seconds, 1, kWeekSeconds, "how long an order's tickets are held for payment")
      .add("sweep-interval-ms", &Limits::sweep_interval, 10, 60'000,
           "how often unpaid orders past their hold time are expired")
      .add("max-batch-size", &Limits::checkout_writes, &core::BatchLimits::max_batch, 1, 10'000,
           "checkout writes in one transaction at most")
      .add("max-waiting-writes", &Limits::checkout_writes, &core::BatchLimits::max_waiting, 1, 1'000'000,
           "checkout writes waiting for their transaction at most")
      .add("queue-wait-ms", &Limits::queue_wait, 10, 60'000,
           "a checkout write or reserve not started within this is answered 503");
  return table;
}

}  // namespace

std::vector<core::ConfigOption> Limits::options() { return flags().options(); }

Limits Limits::from(const core::Config& config) { return flags().read(config); }

std::optional<std::string> Limits::disagreement_with(const InventoryLimits& inventory) const {
  if (hold_seconds > inventory.max_hold_seconds) {
    return "--hold-seconds (" + std::to_string(hold_seconds) + ") is above inventory's --max-hold-seconds (" +
           std::to_string(inventory.max_hold_seconds) +
           "): inventory would refuse every order's hold; lower --hold-seconds or raise inventory's --max-hold-seconds";
  }
  if (max_tickets_per_order > inventory.max_quantity) {
    return "--max-quantity (" + std::to_string(max_tickets_per_order) + ") is above inventory's --max-quantity (" +
           std::to_string(inventory.max_quantity) + "): inventory would refuse the hold of an order of more than " +
           std::to_string(inventory.max_quantity) + " tickets; lower orders' --max-quantity or raise inventory's";
  }
  if (static_cast<std::int64_t>(reserve_batches.max_batch) > inventory.max_reservations_per_batch) {
    return "orders sends up to " + std::to_string(reserve_batches.max_batch) +
           " reserves in one call and inventory takes at most " + std::to_string(inventory.max_reservations_per_batch) +
           ": the two services are of versions that do not fit together";
  }
  return std::nullopt;
}

asio::awaitable<void> check_limits_with_inventory(Limits limits, InventoryClient* inventory,
                                                  std::function<void(std::string)> refuse) {
  constexpr std::chrono::milliseconds kLongestPause{5000};
  core::Backoff backoff(std::chrono::milliseconds(200), kLongestPause);
  bool said_waiting = false;
  for (;;) {
    std::optional<InventoryLimits> theirs;
    std::string unknown_why;
    bool published = true;
    bool refused = false;
    try {
      theirs = co_await inventory->limits();
      published = theirs.has_value();
    } catch (const core::PeerUnavailable& e) {
      unknown_why = e.what();
    } catch (const std::exception& e) {
      // Inventory answered, but not with its limits: a wrong service token (401, 403) fails every
      // reserve the same way, so it is an error, not a wait.
      unknown_why = e.what();
      refused = true;
    }
    if (!published) {
      core::log_warn(
          "inventory publishes no limits (GET /inventory/limits answered 404): --hold-seconds and "
          "--max-quantity are not checked against inventory's");
      co_return;
    }
    if (theirs) {
      if (auto why = limits.disagreement_with(*theirs)) {
        refuse(std::move(*why));
      } else {
        core::log_info("limits agree with inventory's: holds of ", limits.hold_seconds, " s (inventory allows ",
                       theirs->max_hold_seconds, " s), orders of up to ", limits.max_tickets_per_order,
                       " tickets (inventory allows ", theirs->max_quantity, ")");
      }
      co_return;
    }
    if (refused) {
      core::log_error("inventory did not answer its limits (", unknown_why,
                      "); check --inventory-token-file; asking again");
    } else if (!said_waiting) {
      core::log_info("inventory's limits are not known yet (", unknown_why, "); asking again until it answers");
      said_waiting = true;
    }
    co_await core::sleep_for(backoff.next());
  }
}

}  // namespace flashtix::orders
