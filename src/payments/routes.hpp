// The payment service's HTTP routes.
#pragma once

#include "core/router.hpp"
#include "payments/payments.hpp"

namespace flashtix::payments {

core::Router make_router(Payments* payments);

}  // namespace flashtix::payments
