// The expiry sweeper loop; a failed sweep is logged and retried on the next tick.
#include "inventory/jobs.hpp"

#include "core/log.hpp"
#include "core/messaging/outbox_relay.hpp"
#include "core/periodic.hpp"
#include "inventory/event_desk.hpp"
#include "inventory/store.hpp"

namespace flashtix::inventory {

namespace {

// Expiry joins each event's next batch, so it costs that event no commit of its own.
boost::asio::awaitable<std::int64_t> sweep_once(Inventory* inventory, core::messaging::OutboxRelay* relay) {
  const int due_holds = inventory->limits.due_holds_per_sweep;
  const std::vector<std::int64_t> events = co_await store::events_with_due_holds(inventory->db, due_holds);
  std::int64_t expired = 0;
  for (const std::int64_t event_id : events) {
    for (int round = 0; round < inventory->limits.max_sweep_rounds; ++round) {
      const std::int64_t holds = co_await inventory->desk->expire_due(event_id);
      expired += holds;
      // Committed with a hold.expired each: the orders of these holds hear of it now, not at the relay's poll.
      if (holds > 0) relay->wake();
      if (holds < inventory->desk->limits().expire_batch) break;
    }
  }
  co_return expired;
}

boost::asio::awaitable<void> sweep_and_tell(Inventory* inventory, core::messaging::OutboxRelay* relay) {
  const std::int64_t expired = co_await sweep_once(inventory, relay);
  if (expired > 0) core::log_info("expired ", expired, " holds");
}

}  // namespace

boost::asio::awaitable<void> sweep_expired_holds(Inventory* inventory, core::messaging::OutboxRelay* relay) {
  core::Periodic every{.interval = inventory->limits.sweep_interval,
                       .failed = "expiry sweep failed, retrying next tick: "};
  co_await core::run_periodically(std::move(every), [inventory, relay] { return sweep_and_tell(inventory, relay); });
}

}  // namespace flashtix::inventory
