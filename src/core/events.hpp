// The event contract: every event type the services exchange, its payload as a struct with its JSON form,
// the service that publishes it and the services that consume it. The broker's queue bindings, the
// consumers' check of who published a message and the payloads written to the outboxes all come from here.
// "How to add an event type" in docs/ARCHITECTURE.md walks through a change to it.
#pragma once

#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <concepts>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace flashtix::core::events {

namespace json = boost::json;

// The services as the contract names them. A service logs in to the broker as "flashtix-<service>" and,
// when it consumes events, reads the queue "flashtix.<service>".
inline constexpr std::string_view kInventory = "inventory";
inline constexpr std::string_view kOrders = "orders";
inline constexpr std::string_view kPayments = "payments";
inline constexpr std::string_view kNotifications = "notifications";

// A payload without its type's shape: a field missing or of another type. Consumers dead-letter it.
class MalformedPayload : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// order.created: an order was placed and its tickets are held; the payment service charges it.
struct OrderCreated {
  static constexpr std::string_view kType = "order.created";
  std::string order_id;  // a UUID
  std::int64_t event_id = 0;
  std::int64_t quantity = 0;
  std::string payment_token;
  std::int64_t reservation_id = 0;
  std::int64_t expires_at_ms = 0;  // on the wire "expires_at", RFC 3339
  std::optional<std::string> customer_email;
  // What the order costs, which payments charges: integer minor units of an ISO 4217 currency (0: free).
  std::int64_t amount_minor = 0;
  std::string currency;
  bool operator==(const OrderCreated&) const = default;
};

// How an order ended: the payload of order.confirmed, order.cancelled and order.expired.
struct OrderEnded {
  std::string order_id;  // a UUID
  std::string status;    // CONFIRMED, CANCELLED or EXPIRED
  std::int64_t event_id = 0;
  std::int64_t quantity = 0;
  std::int64_t reservation_id = 0;
  std::optional<std::string> customer_email;
  std::optional<std::string> payment_id;
  std::optional<std::string> reason;  // the order's status_reason
  bool operator==(const OrderEnded&) const = default;
};
struct OrderConfirmed : OrderEnded {
  static constexpr std::string_view kType = "order.confirmed";
};
struct OrderCancelled : OrderEnded {
  static constexpr std::string_view kType = "order.cancelled";
};
struct OrderExpired : OrderEnded {
  static constexpr std::string_view kType = "order.expired";
};

// What became of an order's payment: the payload of payment.succeeded, payment.failed and payment.refunded.
struct PaymentOutcome {
  std::string payment_id;
  std::string order_id;  // a UUID
  std::string status;    // succeeded, failed or refunded
  std::int64_t event_id = 0;
  std::int64_t quantity = 0;
  // What the payment charged (or, when it failed, was to charge): the amount_minor and currency of its
  // order.created; 0 and "" when that amount was not chargeable or the payment predates amounts.
  std::int64_t amount_minor = 0;
  std::string currency;
  std::optional<std::string> reason;  // why a payment failed
  bool operator==(const PaymentOutcome&) const = default;
};
struct PaymentSucceeded : PaymentOutcome {
  static constexpr std::string_view kType = "payment.succeeded";
};
struct PaymentFailed : PaymentOutcome {
  static constexpr std::string_view kType = "payment.failed";
};
struct PaymentRefunded : PaymentOutcome {
  static constexpr std::string_view kType = "payment.refunded";
};

// What every hold.* event says of its hold, first on the wire.
struct HoldFacts {
  std::int64_t reservation_id = 0;
  std::string reservation_key;  // the order id when an order made the hold
  std::int64_t event_id = 0;
  std::int64_t quantity = 0;
  bool operator==(const HoldFacts&) const = default;
};

// hold.voided: the documented reset of an event voided this hold. Written by the reset's trigger in the
// database (db/inventory/003_reset_announces_voided_holds.sql), which names the type in its SQL.
struct HoldVoided : HoldFacts {
  static constexpr std::string_view kType = "hold.voided";
  std::string was;  // HELD or CONFIRMED
  bool operator==(const HoldVoided&) const = default;
};

// hold.expired: inventory's expiry sweep expired this HELD hold, its time having passed unpaid. Its order,
// when still pending, ends now instead of at the order service's next sweep.
struct HoldExpired : HoldFacts {
  static constexpr std::string_view kType = "hold.expired";
  std::int64_t expired_at_ms = 0;  // on the wire "expired_at", RFC 3339: when the sweep expired it
  bool operator==(const HoldExpired&) const = default;
};

// One event type: its name (also its routing key), the one service that may publish it, and the
// services whose queues it is bound to.
struct EventType {
  std::string_view type;
  std::string_view publisher;
  std::vector<std::string_view> consumers;
};

// The whole contract, one line an event type.
inline const std::vector<EventType>& event_types() {
  static const std::vector<EventType> kEventTypes = {
      {OrderCreated::kType, kOrders, {kPayments}},
      {OrderConfirmed::kType, kOrders, {kNotifications}},
      {OrderCancelled::kType, kOrders, {kPayments, kNotifications}},
      {OrderExpired::kType, kOrders, {kPayments, kNotifications}},
      {PaymentSucceeded::kType, kPayments, {kOrders}},
      {PaymentFailed::kType, kPayments, {kOrders}},
      // Kept in the outbox for the record; no service acts on it.
      {PaymentRefunded::kType, kPayments, {}},
      {HoldVoided::kType, kInventory, {kOrders}},
      {HoldExpired::kType, kInventory, {kOrders}},
  };
  return kEventTypes;
}

// The row of `type`; nothing for a type the contract does not know.
const EventType* find_event_type(std::string_view type);
// The service that publishes `type`; nothing for a type no service publishes.
std::optional<std::string_view> publisher_of(std::string_view type);
// The event types bound to the queue of `service`, in the order of the contract.
std::vector<std::string_view> consumed_by(std::string_view service);
// The services that consume anything, each once, in the order of the contract.
std::vector<std::string_view> consuming_services();

// The JSON of each payload, for boost::json::value_from and value_to; value_to throws MalformedPayload.
// Optional fields are written as null and read from null or from their absence.
void tag_invoke(json::value_from_tag, json::value& out, const OrderCreated& event);
OrderCreated tag_invoke(json::value_to_tag<OrderCreated>, const json::value& in);
void tag_invoke(json::value_from_tag, json::value& out, const OrderEnded& event);
OrderEnded tag_invoke(json::value_to_tag<OrderEnded>, const json::value& in);
void tag_invoke(json::value_from_tag, json::value& out, const PaymentOutcome& event);
PaymentOutcome tag_invoke(json::value_to_tag<PaymentOutcome>, const json::value& in);
void tag_invoke(json::value_from_tag, json::value& out, const HoldVoided& event);
HoldVoided tag_invoke(json::value_to_tag<HoldVoided>, const json::value& in);
void tag_invoke(json::value_from_tag, json::value& out, const HoldExpired& event);
HoldExpired tag_invoke(json::value_to_tag<HoldExpired>, const json::value& in);

// The types that share a payload read as that payload (writing needs nothing more: a derived struct
// converts to its base).
template <class Event>
  requires(std::derived_from<Event, OrderEnded> && !std::same_as<Event, OrderEnded>)
Event tag_invoke(json::value_to_tag<Event>, const json::value& in) {
  return Event{json::value_to<OrderEnded>(in)};
}
template <class Event>
  requires(std::derived_from<Event, PaymentOutcome> && !std::same_as<Event, PaymentOutcome>)
Event tag_invoke(json::value_to_tag<Event>, const json::value& in) {
  return Event{json::value_to<PaymentOutcome>(in)};
}

// The payload as the outbox stores it (JSON text, for a jsonb parameter).
template <class Event>
std::string payload_text(const Event& event) {
  return json::serialize(json::value_from(event));
}

}  // namespace flashtix::core::events
