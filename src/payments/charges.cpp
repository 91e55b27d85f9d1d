// A charge is two transactions around the gateway call: the pending payment first (so a crash, a
// redelivery or a second instance finds it and repeats the call under the same idempotency key), then
// the answer with its event and the inbox row.
#include "payments/charges.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cassert>

#include "core/errors.hpp"
#include "core/log.hpp"
#include "core/messaging/inbox.hpp"
#include "payments/store.hpp"

namespace flashtix::payments {

namespace events = core::events;
namespace messaging = core::messaging;
using boost::asio::awaitable;
using core::pg::Statement;
using messaging::InvalidMessage;
using messaging::Message;

namespace {

namespace asio = boost::asio;

// A gateway that has not answered by the deadline is treated as one that cannot be reached (an outage):
// the call is repeated later under the same payment id, and the gateway answers a repeat as the first.
core::PeerUnavailable gateway_too_slow(std::string_view call, std::chrono::milliseconds deadline) {
  return core::PeerUnavailable("the payment gateway did not answer a " + std::string(call) + " within " +
                               std::to_string(deadline.count()) + " ms (--gateway-timeout-ms)");
}

// The call or its deadline, whichever ends first. A call that fails fails at once, with its own error (an
// outage is retried, anything else dead-letters the message); one still running at the deadline is
// cancelled (a gateway stops on cancellation, see gateway.hpp) and counts as an outage.
template <class T>
awaitable<T> within_deadline(awaitable<T> call, std::chrono::milliseconds deadline, std::string_view what) {
  const auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor, deadline);
  auto [order, call_error, result, timer_error] =
      co_await asio::experimental::make_parallel_group(asio::co_spawn(executor, std::move(call), asio::deferred),
                                                       timer.async_wait(asio::deferred))
          .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
  if (order[0] != 0) throw gateway_too_slow(what, deadline);
  if (call_error) std::rethrow_exception(call_error);
  co_return std::move(result);
}

awaitable<ChargeResult> charge_in_time(Payments* payments, std::string payment_id, std::string token) {
  co_return co_await within_deadline(payments->gateway->charge(std::move(payment_id), std::move(token)),
                                     payments->limits.gateway_timeout, "charge");
}

// A refund has no answer but its end; within_deadline waits for a value.
awaitable<bool> refund_done(Gateway* gateway, std::string payment_id) {
  co_await gateway->refund(std::move(payment_id));
  co_return true;
}

awaitable<void> refund_in_time(Payments* payments, std::string payment_id) {
  co_await within_deadline(refund_done(payments->gateway, std::move(payment_id)), payments->limits.gateway_timeout,
                           "refund");
}

awaitable<void> on_order_created(Payments* payments, Message message, events::OrderCreated created) {
  store::NewCharge charge{created.order_id, created.event_id, created.quantity, created.payment_token,
                          message.traceparent};
  if (charge.quantity <= 0 || charge.payment_token.empty() || charge.payment_token.size() > kMaxPaymentTokenLength) {
    throw InvalidMessage("order.created " + message.id + ": quantity or payment_token out of bounds");
  }
  std::optional<Payment> payment = co_await store::start_charge(payments->db, charge);
  std::vector<Statement> effect;
  bool approved = false;
  // No payment: the order closed before its charge began, and none ever will. Already final: an earlier
  // delivery finished it; only the inbox row is missing.
  if (payment && payment->status == kPending) {
    const ChargeResult result = co_await charge_in_time(payments, payment->id, payment->payment_token);
    approved = result.approved;
    // A decline says why; an approval has nothing to say.
    assert(approved == result.decline_code.empty());
    payment->status = std::string(approved ? kSucceeded : kFailed);
    if (!approved) payment->failure_reason = result.decline_code;
    effect.push_back(store::lock_order(payment->order_id));
    effect.push_back(
        store::finish_charge(*payment, approved ? events::PaymentSucceeded::kType : events::PaymentFailed::kType));
  }
  const auto results = co_await messaging::handle_once(payments->db, payments->tables, std::move(message),
                                                       std::move(effect));
  if (!results || results->size() < 2 || (*results)[1].empty()) co_return;
  payments->relay->wake();
  // The order closed while the gateway worked: this money goes straight back.
  if (approved && (*results)[1].boolean(0, "refund_due")) payments->refunds->ring();
}

awaitable<void> on_order_closed(Payments* payments, Message message, events::OrderEnded closed) {
  const std::string order_id = closed.order_id;
  const std::string order_status = closed.status;
  std::vector<Statement> effect;
  effect.push_back(store::lock_order(order_id));
  effect.push_back(store::close_order(order_id, order_status));
  const auto results = co_await messaging::handle_once(payments->db, payments->tables, std::move(message),
                                                       std::move(effect));
  if (!results || (*results)[1].empty()) co_return;
  if ((*results)[1].text(0, "status") == kSucceeded) payments->refunds->ring();
}

awaitable<void> refund_due_payments(Payments* payments) {
  const std::vector<Payment> due = co_await store::due_refunds(payments->db, payments->limits.refunds_per_round);
  for (Payment payment : due) {
    // Only money taken goes back, and only once.
    assert(payment.status == kSucceeded);
    co_await refund_in_time(payments, payment.id);
    payment.status = std::string(kRefunded);
    const bool recorded = co_await store::record_refund(payments->db, payment);
    if (recorded) {
      core::log_info("refunded payment ", payment.id, " of order ", payment.order_id, ", which closed unsold");
      payments->relay->wake();
    }
  }
}

// What the payment service does with each event its queue gets (events::consumed_by(events::kPayments)).
const messaging::EventRoutes<Payments> kRoutes{events::kPayments,
                                               {
                                                   messaging::on<events::OrderCreated, on_order_created>(),
                                                   messaging::on<events::OrderCancelled, on_order_closed>(),
                                                   messaging::on<events::OrderExpired, on_order_closed>(),
                                               }};

}  // namespace

const core::messaging::EventRoutes<Payments>& event_routes() { return kRoutes; }

awaitable<void> handle_event(Payments* payments, Message message) {
  const bool seen = co_await messaging::already_handled(payments->db, payments->tables, message.id);
  if (seen) co_return;
  co_await kRoutes.dispatch(payments, std::move(message));
}

awaitable<void> run_refunds(Payments* payments) {
  for (;;) {
    co_await payments->refunds->wait(payments->limits.refund_interval);
    try {
      co_await refund_due_payments(payments);
    } catch (const std::exception& e) {
      core::log_warn("refund round failed, retrying next round: ", e.what());
    }
  }
}

}  // namespace flashtix::payments
