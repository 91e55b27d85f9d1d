// Payment JSON.
#include "payments/payment.hpp"

#include "core/time.hpp"

namespace flashtix::payments {

namespace json = core::json;

bool is_payment_status(std::string_view text) {
  return text == kPending || text == kSucceeded || text == kFailed || text == kRefunded;
}

json::object to_json(const Payment& payment) {
  json::object object{{"payment_id", payment.id},
                      {"order_id", payment.order_id},
                      {"status", payment.status},
                      {"event_id", payment.event_id},
                      {"quantity", payment.quantity},
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
          .reason = payment.failure_reason};
}

}  // namespace flashtix::payments
