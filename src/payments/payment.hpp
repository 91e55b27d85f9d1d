// A payment, how it is charged and its JSON shapes (pure functions, unit-tested).
//   pending --gateway approved, or free--> succeeded --order closed unsold--> refunded
//   pending --gateway declined, or amount not chargeable--> failed
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/events.hpp"
#include "core/http.hpp"
#include "core/money.hpp"

namespace flashtix::payments {

inline constexpr std::string_view kPending = "pending";
inline constexpr std::string_view kSucceeded = "succeeded";
inline constexpr std::string_view kFailed = "failed";
inline constexpr std::string_view kRefunded = "refunded";

bool is_payment_status(std::string_view text);

// The failure reason of a payment whose order.created carried an amount it may not charge; the simulated
// gateway's decline code for an amount it cannot charge, too.
inline constexpr std::string_view kInvalidAmount = "invalid_amount";

struct Payment {
  std::string id;
  std::string order_id;
  std::int64_t event_id = 0;
  std::int64_t quantity = 0;
  std::string payment_token;
  // The order's amount, in minor units of `currency`. No currency: the order carried no chargeable
  // amount, or the payment was made before amounts were stored (db/payments/005_amounts.sql).
  std::int64_t amount_minor = 0;
  std::optional<std::string> currency;
  std::string status;
  std::optional<std::string> failure_reason;
  bool refund_due = false;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
  std::optional<std::int64_t> refunded_at_ms;
};

// Whether an order's amount may be charged: 0 (a free order) to core::kMaxAmountMinor, in a currency
// core::is_known_currency knows.
bool is_chargeable(const core::Money& amount);

// How a pending payment ends: failed with kInvalidAmount (no chargeable amount was stored), succeeded at
// once (a free order: nothing to take), or as the gateway answers.
enum class ChargeRoute { refuse, free, gateway };
ChargeRoute charge_route(const Payment& payment);
// Whether refunding a succeeded payment takes the gateway: not for a free one, which took nothing.
bool refund_needs_gateway(const Payment& payment);
// The amount for the gateway: the one charged. {0, ""} for a payment made before amounts were stored,
// whose refund is the whole of its charge at the gateway.
core::Money amount_of(const Payment& payment);

// The API's view. The token is not shown: it stands for the buyer's payment method.
core::json::object to_json(const Payment& payment);
// The payload of payment.succeeded, payment.failed and payment.refunded.
core::events::PaymentOutcome event_payload(const Payment& payment);

}  // namespace flashtix::payments
