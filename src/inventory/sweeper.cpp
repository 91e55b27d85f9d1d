// The expiry sweeper loop; a failed sweep is logged and retried on the next tick.
#include "inventory/sweeper.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/log.hpp"
#include "inventory/store.hpp"

namespace flashtix::inventory {

boost::asio::awaitable<void> sweep_expired_holds(Inventory* inventory) {
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
  for (;;) {
    timer.expires_after(inventory->settings.sweep_interval);
    co_await timer.async_wait(boost::asio::use_awaitable);
    try {
      const std::int64_t expired = co_await store::expire_due_holds(inventory->db, inventory->settings.sweep_batch);
      if (expired > 0) core::log_info("expired ", expired, " holds");
    } catch (const std::exception& e) {
      core::log_warn("expiry sweep failed, retrying next tick: ", e.what());
    }
  }
}

}  // namespace flashtix::inventory
