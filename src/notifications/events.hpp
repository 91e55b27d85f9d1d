// Turns the order events of the notifications queue into notifications, each recorded once.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "core/messaging/envelope.hpp"
#include "core/messaging/routes.hpp"
#include "notifications/notifications.hpp"

namespace flashtix::notifications {

// Handles order.confirmed, order.cancelled and order.expired: records the notification with the message's
// inbox row in one transaction (one per order and event type, however often the event arrives) and
// wakes the delivery loop. Throws core::messaging::InvalidMessage for any other event or a malformed one.
boost::asio::awaitable<void> handle_event(Notifications* notifications, core::messaging::Message message);
// The route table handle_event uses, one route for each type the contract binds to the notifications queue.
const core::messaging::EventRoutes<Notifications>& event_routes();

}  // namespace flashtix::notifications
