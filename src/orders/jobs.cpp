// The order sweeper loop; a failed step is logged and retried on the next tick.
#include "orders/jobs.hpp"

#include "core/log.hpp"
#include "core/periodic.hpp"
#include "orders/events.hpp"
#include "orders/inventory_client.hpp"
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
  core::Periodic every{.interval = orders->limits.sweep_interval, .failed = "order sweep failed, retrying next tick: "};
  co_await core::run_periodically(std::move(every), [orders] { return expire_due_orders(orders); });
}

}  // namespace flashtix::orders
