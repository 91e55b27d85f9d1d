// The order sweeper loop; a failed step is logged and retried on the next tick.
#include "orders/sweeper.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/log.hpp"
#include "orders/inventory_client.hpp"
#include "orders/lifecycle.hpp"
#include "orders/store.hpp"

namespace flashtix::orders {

namespace {

// Unpaid orders past their hold time end EXPIRED, one inventory release each.
boost::asio::awaitable<void> expire_due_orders(Orders* orders) {
  const std::vector<Order> due = co_await store::due_orders(orders->db, orders->limits.max_orders_per_sweep);
  for (const Order& order : due) co_await expire_order(orders, order);
  if (!due.empty()) core::log_info("settled ", due.size(), " unpaid orders past their hold time");
}

}  // namespace

boost::asio::awaitable<void> sweep_orders(Orders* orders) {
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
  for (;;) {
    timer.expires_after(orders->limits.sweep_interval);
    co_await timer.async_wait(boost::asio::use_awaitable);
    try {
      co_await expire_due_orders(orders);
    } catch (const std::exception& e) {
      core::log_warn("order sweep failed, retrying next tick: ", e.what());
    }
  }
}

}  // namespace flashtix::orders
