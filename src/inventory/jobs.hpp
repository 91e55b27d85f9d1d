// Returns expired holds to stock: the hold's time limit is the last guard against a lost ticket.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "inventory/inventory.hpp"

namespace flashtix::core::messaging {
class OutboxRelay;
}

namespace flashtix::inventory {

// Runs until the event loop stops, sweeping every `limits.sweep_interval`. Safe with any number of
// instances: each hold is expired once, under its row lock. Each expired hold is announced as a
// hold.expired in the transaction that expires it, and `relay` is woken once that has committed.
boost::asio::awaitable<void> sweep_expired_holds(Inventory* inventory, core::messaging::OutboxRelay* relay);

}  // namespace flashtix::inventory
