// The order service's HTTP routes.
#pragma once

#include "core/router.hpp"
#include "orders/orders.hpp"

namespace flashtix::orders {

core::Router make_router(Orders* orders);

}  // namespace flashtix::orders
