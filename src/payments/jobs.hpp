// The payment service's background loop: money taken for an order that closed unsold (cancelled, or
// expired before its payment succeeded) goes back.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "payments/payments.hpp"

namespace flashtix::payments {

// Refunds succeeded payments of closed orders until the event loop stops: on a wake-up and on every
// interval, for refunds a crash or another instance left behind. Safe with several instances.
boost::asio::awaitable<void> run_refunds(Payments* payments);

}  // namespace flashtix::payments
