// How a payment is charged, and its JSON.
#include "payments/payment.hpp"

#include "core/time.hpp"

namespace flashtix::payments {

namespace json = core::json;

bool is_payment_status(std::string_view text) {
  return text == kPending || text == kSucceeded || text == kFailed || text == kRefunded;
}

bool is_chargeable(const core::Money& amount) {
  return amount.amount_minor >= 0 && amount.amount_minor <= core::kMaxAmountMinor &&
         core::is_known_currency(amount.currency);
}

ChargeRoute charge_route(const Payment& payment) {
  if (!payment.currency) return ChargeRoute::refuse;
  if (payment.amount_minor == 0) return ChargeRoute::free;
  return ChargeRoute::gateway;
}

bool refund_needs_gateway(const Payment& payment) { return payment.amount_minor > 0 || !payment.currency; }

core::Money amount_of(const Payment& payment) { return {payment.amount_minor, payment.currency.value_or("")}; }

json::object to_json(const Payment& payment) {
  json::object object{{"payment_id", payment.id},
                      {"order_id", payment.order_id},
                      {"status", payment.status},
                      {"event_id", payment.event_id},
                      {"quantity", payment.quantity},
                      {"amount_minor", payment.amount_minor},
                      {"currency", payment.currency ? json::value(*payment.currency) : json::value(nullptr)},
                      {"created_at", core::rfc3339_from_unix_ms(payment.created_at_ms)},
                      {"updated_at", core::rfc3339_from_unix_ms(payment.updated_at_ms)}};
  object["failure_reason"] = payment.failure_reason ? json::value(*payment.failure_reason) : json::value(nullptr);
  object["refunded_at"] =
      payment.refunded_at_ms ? json::value(core::rfc3339_from_unix_ms(*payment.refunded_at_ms)) : json::value(nullptr);
  return object;
}

core::events::PaymentOutcome event_payload(const Payment& payment) {
  return {.payment_id = payment.id,
          .order_id = payment.order_id,
          .status = payment.status,
          .event_id = payment.event_id,
          .quantity = payment.quantity,
          .amount_minor = payment.amount_minor,
          .currency = payment.currency.value_or(""),
          .reason = payment.failure_reason};
}

}  // namespace flashtix::payments
