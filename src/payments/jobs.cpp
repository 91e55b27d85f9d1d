// The refund loop: each due refund, of the amount charged, through the gateway, then recorded with its event.
#include "payments/jobs.hpp"

#include <cassert>

#include "core/log.hpp"
#include "core/periodic.hpp"
#include "payments/store.hpp"

namespace flashtix::payments {

using boost::asio::awaitable;

namespace {

awaitable<void> refund_due_payments(Payments* payments) {
  const std::vector<Payment> due = co_await store::due_refunds(payments->db, payments->limits.refunds_per_round);
  for (Payment payment : due) {
    // Only money taken goes back, and only once.
    assert(payment.status == kSucceeded);
    // The amount charged goes back; a free payment took nothing, so the gateway has nothing to give back.
    if (refund_needs_gateway(payment)) {
      const core::Money amount = amount_of(payment);
      co_await refund_within(payments->gateway, payments->limits.gateway_timeout, payment.id, amount);
    }
    payment.status = std::string(kRefunded);
    const bool recorded = co_await store::record_refund(payments->db, payment);
    if (recorded) {
      core::log_info("refunded payment ", payment.id, " of order ", payment.order_id,
                     ", which closed unsold: ", payment.amount_minor, " ",
                     payment.currency.value_or("(amount not stored)"));
      payments->relay->wake();
    }
  }
}

}  // namespace

awaitable<void> run_refunds(Payments* payments) {
  core::Periodic every{.interval = payments->limits.refund_interval,
                       .failed = "refund round failed, retrying next round: ",
                       .doorbell = payments->refunds};
  co_await core::run_periodically(std::move(every), [payments] { return refund_due_payments(payments); });
}

}  // namespace flashtix::payments
