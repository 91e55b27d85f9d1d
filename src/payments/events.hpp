// The payment service's event handlers: a charge starts when order.created arrives; an order that closed
// unsold (cancelled, or expired before its payment succeeded) marks money taken for it as due back (jobs.hpp).
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

}  // namespace flashtix::payments
