// A payment and its JSON shapes (pure functions, unit-tested).
//   pending --gateway approved--> succeeded --order closed unsold--> refunded
//   pending --gateway declined--> failed
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/events.hpp"
#include "core/http.hpp"

namespace flashtix::payments {

inline constexpr std::string_view kPending = "pending";
inline constexpr std::string_view kSucceeded = "succeeded";
inline constexpr std::string_view kFailed = "failed";
inline constexpr std::string_view kRefunded = "refunded";

bool is_payment_status(std::string_view text);

struct Payment {
  std::string id;
  std::string order_id;
  std::int64_t event_id = 0;
  std::int64_t quantity = 0;
  std::string payment_token;
  std::string status;
  std::optional<std::string> failure_reason;
  bool refund_due = false;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
  std::optional<std::int64_t> refunded_at_ms;
};

// The API's view. The token is not shown: it stands for the buyer's payment method.
core::json::object to_json(const Payment& payment);
// The payload of payment.succeeded, payment.failed and payment.refunded.
core::events::PaymentOutcome event_payload(const Payment& payment);

}  // namespace flashtix::payments
