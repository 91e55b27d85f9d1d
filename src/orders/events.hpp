// How an order ends: on its payment's outcome, or when its hold time passes without one. Every ending
// settles the hold in inventory first (confirm or release) and then moves the order, so that an order's
// status always agrees with its tickets: CONFIRMED exactly when the hold was sold.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "core/messaging/envelope.hpp"
#include "core/messaging/routes.hpp"
#include "orders/order.hpp"
#include "orders/orders.hpp"

namespace flashtix::orders {

// Handles payment.succeeded, payment.failed, hold.voided and hold.expired from the orders queue: a message already in
// the inbox is dropped, any other goes to its type's route.
boost::asio::awaitable<void> handle_event(Orders* orders, core::messaging::Message message);
// The route table handle_event uses, one route for each type the contract binds to the orders queue.
const core::messaging::EventRoutes<Orders>& event_routes();

// An unpaid order past its hold time: releases the hold and marks the order EXPIRED, or, when the hold
// turns out to be sold (a confirm got there first), CONFIRMED. Throws core::PeerUnavailable when
// inventory cannot be reached; the sweep tries again later.
boost::asio::awaitable<void> expire_order(Orders* orders, Order order);

}  // namespace flashtix::orders
