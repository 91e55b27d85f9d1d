// Charging orders and giving money back. A charge starts when order.created arrives; money taken for an
// order that closed unsold (cancelled, or expired before its payment succeeded) is refunded.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "core/messaging/envelope.hpp"
#include "core/messaging/routes.hpp"
#include "payments/payments.hpp"

namespace flashtix::payments {

// Handles order.created, order.cancelled and order.expired from the payments queue: a message already in
// the inbox is dropped, any other goes to its type's route.
boost::asio::awaitable<void> handle_event(Payments* payments, core::messaging::Message message);
// The route table handle_event uses, one route for each type the contract binds to the payments queue.
const core::messaging::EventRoutes<Payments>& event_routes();

// Refunds succeeded payments of closed orders until the event loop stops: on a wake-up and on every
// interval, for refunds a crash or another instance left behind. Safe with several instances.
boost::asio::awaitable<void> run_refunds(Payments* payments);

}  // namespace flashtix::payments
