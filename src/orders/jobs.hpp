// Background upkeep of orders: pending orders past their hold become EXPIRED.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "orders/orders.hpp"

namespace flashtix::orders {

// Runs until the event loop stops. Safe with several instances: every step is idempotent.
boost::asio::awaitable<void> sweep_orders(Orders* orders);

}  // namespace flashtix::orders
