// Orders and their lifecycle, and how a request body becomes a command (pure functions, unit-tested).
//   PENDING_PAYMENT --payment succeeded, hold confirmed--> CONFIRMED
//   PENDING_PAYMENT --payment failed or cancelled by the customer, hold released--> CANCELLED
//   PENDING_PAYMENT --hold expired before the payment succeeded--> EXPIRED (a payment is refunded)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/events.hpp"
#include "core/http.hpp"
#include "orders/orders.hpp"

namespace flashtix::orders {

inline constexpr std::string_view kPendingPayment = "PENDING_PAYMENT";
inline constexpr std::string_view kConfirmed = "CONFIRMED";
inline constexpr std::string_view kCancelled = "CANCELLED";
inline constexpr std::string_view kExpired = "EXPIRED";

inline constexpr std::string_view kDefaultPaymentToken = "tok_ok";

// Why an order ended other than CONFIRMED (its status_reason).
inline constexpr std::string_view kReasonPaymentDeclined = "payment_declined";
inline constexpr std::string_view kReasonCancelledByCustomer = "cancelled_by_customer";
inline constexpr std::string_view kReasonHoldExpired = "hold_expired";
// Its event was reset by hand and its seats voided (also a CONFIRMED order: it is refunded).
inline constexpr std::string_view kReasonEventReset = "event_reset";
// A payment succeeded for another amount or currency than the order's: refunded, and nothing sold.
inline constexpr std::string_view kReasonPaymentAmountMismatch = "payment_amount_mismatch";

bool is_order_status(std::string_view text);

// Tickets of one type in an order: as asked (no price yet), or as inventory held them (at the type's price
// when the hold was made).
struct OrderItem {
  std::int64_t ticket_type_id = 0;
  std::int64_t quantity = 0;
  std::int64_t unit_price_minor = 0;
  bool operator==(const OrderItem&) const = default;
};
// Ticket types one order may name at most (inventory's bound on a hold's items).
inline constexpr std::size_t kMaxOrderItems = 10;

struct Order {
  std::string id;
  std::int64_t event_id = 0;
  std::int64_t quantity = 0;
  std::optional<std::string> customer_email;
  std::string status;
  std::int64_t reservation_id = 0;
  std::int64_t expires_at_ms = 0;
  std::int64_t created_at_ms = 0;
  std::optional<std::string> payment_id;
  std::optional<std::string> status_reason;
  // The SHA-256 (hex) of the order's secret, which lets its buyer read and cancel it; empty for orders
  // made before orders had secrets. Never part of an answer.
  std::string secret_sha256;
  // The W3C trace context of the request that made the order: every event about it is published in this
  // trace, and the calls to inventory about it carry it. Empty for orders made before traces.
  std::string traceparent;
  // What it buys, by type, and the total its payment charges; none, 0 and empty for orders made before
  // ticket types.
  std::vector<OrderItem> items;
  std::int64_t amount_minor = 0;
  std::string currency;
};

struct CreateOrder {
  std::int64_t event_id = 0;
  std::int64_t quantity = 1;
  std::optional<std::string> customer_email;
  // The payment method's token, handed to the payment service in order.created and not stored here.
  std::string payment_token = std::string(kDefaultPaymentToken);
  // By ticket type, each once; none: `quantity` tickets of the event's default type.
  std::vector<OrderItem> items;

  // What makes two requests "the same body" for an idempotency key: the parsed fields, so that
  // spacing or member order in the JSON does not matter.
  std::string fingerprint() const;
};

core::Result<CreateOrder> parse_create_order(std::string_view body, const Limits& limits);
// The Idempotency-Key header: absent is fine; present must be 1..255 visible ASCII characters.
core::Result<std::optional<std::string>> parse_idempotency_key(std::string_view header, bool present);

core::json::object to_json(const Order& order);
core::json::array to_json(const std::vector<OrderItem>& items);
// The payload of order.created: the order as placed, with the token its payment is charged with.
core::events::OrderCreated created_event(const Order& order, const std::string& payment_token);
// The payload of order.confirmed, order.cancelled and order.expired: the order as it ended.
core::events::OrderEnded ended_event(const Order& order);

// Whether a succeeded payment paid this order: its amount and currency are the order's. A payment that
// names no currency (one made before amounts, during an upgrade) is taken as before, at its word.
bool pays_for(const core::events::PaymentOutcome& paid, const Order& order);

}  // namespace flashtix::orders
