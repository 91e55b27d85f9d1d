// Order endings. Inventory is settled before the order moves, and the order moves with its event in one
// statement; a consumed payment event is recorded in the inbox in that same transaction.
#include "orders/events.hpp"

#include "core/log.hpp"
#include "core/messaging/inbox.hpp"
#include "core/uuid.hpp"
#include "orders/inventory_client.hpp"
#include "orders/store.hpp"

namespace flashtix::orders {

using boost::asio::awaitable;
using core::messaging::InvalidMessage;
using core::messaging::Message;
using core::pg::Statement;
namespace events = core::events;
namespace messaging = core::messaging;

namespace {

// The order a payment event is about; it exists, since order.created commits with the order.
awaitable<Order> order_of(Orders* orders, const Message& message, const std::string& order_id) {
  std::optional<Order> order = co_await store::find_order(orders->db, order_id);
  if (!order) throw InvalidMessage(message.type + " " + message.id + ": there is no order " + order_id);
  co_return *order;
}

// The order that made a hold: its key is the order's id. Nothing for a hold made without an order (a
// manual reserve, whatever its key).
awaitable<std::optional<Order>> order_of_hold(Orders* orders, const events::HoldFacts& hold) {
  if (!core::is_uuid(hold.reservation_key)) co_return std::nullopt;
  co_return co_await store::find_order(orders->db, hold.reservation_key);
}

// Commits `effect` with the message's inbox row; a redelivered message changes nothing.
awaitable<void> apply_once(Orders* orders, Message message, std::vector<Statement> effect) {
  const bool announces = !effect.empty();
  const auto results = co_await messaging::handle_once(orders->db, orders->tables, std::move(message), std::move(effect));
  if (announces && results && !results->front().empty()) orders->relay->wake();
}

// A pending order whose payment does not pay for it (declined, or of another amount): its hold goes back,
// then the order ends CANCELLED for `reason` with its order.cancelled in `effect`, which has a succeeded
// payment refunded.
awaitable<void> cancel_unpaid(Orders* orders, Order& order, const std::string& payment_id, std::string_view reason,
                              std::vector<Statement>& effect) {
  const ReleaseOutcome released = co_await orders->inventory->release(order.id, order.traceparent);
  if (std::holds_alternative<HoldSold>(released)) {
    // Only a payment of the order's amount confirms its hold, and an order has one payment: a broken invariant.
    core::log_error("order ", order.id, ": payment ", payment_id, " did not pay for it (", reason,
                    ") but its tickets are sold");
    co_return;
  }
  order.status = std::string(kCancelled);
  order.status_reason = std::string(reason);
  order.payment_id = payment_id;
  effect.push_back(store::finish_order(order, events::OrderCancelled::kType));
}

awaitable<void> on_payment_succeeded(Orders* orders, Message message, events::PaymentOutcome paid) {
  const std::string payment_id = paid.payment_id;
  Order order = co_await order_of(orders, message, paid.order_id);
  std::vector<Statement> effect;
  // Already CANCELLED or EXPIRED: the payment service saw that event too and refunds on its own.
  if (order.status == kPendingPayment && !pays_for(paid, order)) {
    // Money of another amount does not sell these tickets.
    core::log_error("order ", order.id, " costs ", order.amount_minor, " ", order.currency, " but payment ", payment_id,
                    " paid ", paid.amount_minor, " ", paid.currency, "; cancelled, and the payment refunded");
    co_await cancel_unpaid(orders, order, payment_id, kReasonPaymentAmountMismatch, effect);
  } else if (order.status == kPendingPayment) {
    const ConfirmOutcome confirmed = co_await orders->inventory->confirm(order.id, order.traceparent);
    order.payment_id = payment_id;
    if (std::holds_alternative<HoldConfirmed>(confirmed)) {
      order.status = std::string(kConfirmed);
      effect.push_back(store::finish_order(order, events::OrderConfirmed::kType));
    } else if (const auto* lapsed = std::get_if<HoldLapsed>(&confirmed); lapsed && lapsed->reservation_status == "VOIDED") {
      // The event was reset before the money arrived: refunded on order.cancelled.
      effect.push_back(store::void_order(order));
    } else {
      // The hold lapsed before the money arrived: these tickets are not this buyer's any more. A lapsed
      // hold still HELD goes back now rather than at inventory's next sweep; the payment is refunded on
      // order.expired.
      if (std::holds_alternative<HoldUnknown>(confirmed)) core::log_error("order ", order.id, " has no hold in inventory");
      co_await orders->inventory->release(order.id, order.traceparent);
      order.status = std::string(kExpired);
      order.status_reason = std::string(kReasonHoldExpired);
      effect.push_back(store::finish_order(order, events::OrderExpired::kType));
    }
  }
  co_await apply_once(orders, std::move(message), std::move(effect));
}

awaitable<void> on_payment_failed(Orders* orders, Message message, events::PaymentOutcome failed) {
  const std::string payment_id = failed.payment_id;
  Order order = co_await order_of(orders, message, failed.order_id);
  std::vector<Statement> effect;
  if (order.status == kPendingPayment) {
    co_await cancel_unpaid(orders, order, payment_id, kReasonPaymentDeclined, effect);
  }
  co_await apply_once(orders, std::move(message), std::move(effect));
}

// The documented reset voided this hold: its order, pending or paid, is cancelled (event_reset), and its
// order.cancelled gets the payment refunded and the buyer told. A hold made without an order (a manual
// reserve) has nothing to cancel.
awaitable<void> on_hold_voided(Orders* orders, Message message, events::HoldVoided voided) {
  std::optional<Order> order = co_await order_of_hold(orders, voided);
  std::vector<Statement> effect;
  if (order && (order->status == kPendingPayment || order->status == kConfirmed)) {
    core::log_info("order ", order->id, ": its event was reset, so it is cancelled and refunded");
    effect.push_back(store::void_order(*order));
  }
  co_await apply_once(orders, std::move(message), std::move(effect));
}

// Inventory's sweep expired this hold: its order, still waiting for its payment, ends EXPIRED
// (hold_expired) now, as the expiry sweep here would end it later, and its order.expired gets the buyer
// told and any payment that arrives afterwards refunded. The hold is gone for good (an expired hold is
// never confirmed), so inventory needs no call. A hold made without an order, or an order that has
// ended already, changes nothing; finish_order moves only a pending order, so a payment or the sweep
// ending it meanwhile wins or loses as a whole.
awaitable<void> on_hold_expired(Orders* orders, Message message, events::HoldExpired expired) {
  std::optional<Order> order = co_await order_of_hold(orders, expired);
  std::vector<Statement> effect;
  if (order && order->status == kPendingPayment) {
    order->status = std::string(kExpired);
    order->status_reason = std::string(kReasonHoldExpired);
    effect.push_back(store::finish_order(*order, events::OrderExpired::kType));
  }
  co_await apply_once(orders, std::move(message), std::move(effect));
}

// What the order service does with each event its queue gets (events::consumed_by(events::kOrders)).
const messaging::EventRoutes<Orders> kRoutes{events::kOrders,
                                             {
                                                 messaging::on<events::PaymentSucceeded, on_payment_succeeded>(),
                                                 messaging::on<events::PaymentFailed, on_payment_failed>(),
                                                 messaging::on<events::HoldVoided, on_hold_voided>(),
                                                 messaging::on<events::HoldExpired, on_hold_expired>(),
                                             }};

}  // namespace

const core::messaging::EventRoutes<Orders>& event_routes() { return kRoutes; }

awaitable<void> handle_event(Orders* orders, Message message) {
  return kRoutes.handle(orders, std::move(message));
}

awaitable<void> expire_order(Orders* orders, Order order) {
  const ReleaseOutcome released = co_await orders->inventory->release(order.id, order.traceparent);
  if (std::holds_alternative<HoldSold>(released)) {
    // A confirm for a succeeded payment got in before the hold lapsed; its consumer has not moved the
    // order yet (or died before it could). The tickets are sold: so is the order.
    order.status = std::string(kConfirmed);
  } else {
    order.status = std::string(kExpired);
    order.status_reason = std::string(kReasonHoldExpired);
  }
  const std::string_view event =
      order.status == kConfirmed ? events::OrderConfirmed::kType : events::OrderExpired::kType;
  const bool changed = co_await store::finish_order(orders->db, order, event);
  if (changed) orders->relay->wake();
}

}  // namespace flashtix::orders
