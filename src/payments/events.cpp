// A charge is two transactions around the gateway call: the pending payment first (so a crash, a
// redelivery or a second instance finds it and repeats the call under the same idempotency key), then
// the answer with its event and the inbox row.
#include "payments/events.hpp"

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

// The answer a pending payment gets: from the gateway, or without it when there is nothing it may charge
// (the order's amount was not chargeable) or nothing to charge (a free order).
awaitable<ChargeResult> charge_answer(Payments* payments, Payment payment) {
  const ChargeRoute route = charge_route(payment);
  if (route == ChargeRoute::refuse) co_return ChargeResult{false, std::string(kInvalidAmount)};
  if (route == ChargeRoute::free) co_return ChargeResult{true, {}};
  const core::Money amount = amount_of(payment);
  co_return co_await charge_within(payments->gateway, payments->limits.gateway_timeout, payment.id,
                                   payment.payment_token, amount);
}

awaitable<void> on_order_created(Payments* payments, Message message, events::OrderCreated created) {
  const core::Money amount{created.amount_minor, created.currency};
  store::NewCharge charge{created.order_id, created.event_id, created.quantity, created.payment_token,
                          message.traceparent, std::nullopt};
  if (charge.quantity <= 0 || charge.payment_token.empty() || charge.payment_token.size() > kMaxPaymentTokenLength) {
    throw InvalidMessage("order.created " + message.id + ": quantity or payment_token out of bounds");
  }
  // An amount it may not charge is not a malformed message: the payment fails on it, so that the order
  // is cancelled and its tickets go back.
  if (is_chargeable(amount)) {
    charge.amount = amount;
  } else {
    core::log_warn("order.created ", message.id, " of order ", created.order_id, ": amount_minor ",
                   created.amount_minor, " in currency '", created.currency, "' is not chargeable");
  }
  std::optional<Payment> payment = co_await store::start_charge(payments->db, charge);
  std::vector<Statement> effect;
  bool approved = false;
  // No payment: the order closed before its charge began, and none ever will. Already final: an earlier
  // delivery finished it; only the inbox row is missing.
  if (payment && payment->status == kPending) {
    const ChargeResult result = co_await charge_answer(payments, *payment);
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
  return kRoutes.handle(payments, std::move(message));
}

}  // namespace flashtix::payments
