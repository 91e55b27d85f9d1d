// The contract's lookups and the JSON of each payload. Fields are written in the order the services
// always wrote them; readers take exactly the JSON types the writers produce.
#include "core/events.hpp"

#include <algorithm>

#include "core/time.hpp"
#include "core/uuid.hpp"

namespace flashtix::core::events {

namespace {

const json::object& object_of(const json::value& in) {
  if (!in.is_object()) throw MalformedPayload("the payload is not a JSON object");
  return in.get_object();
}

std::string required_string(const json::object& in, std::string_view field) {
  const json::value* value = in.if_contains(field);
  if (!value || !value->is_string()) {
    throw MalformedPayload("payload field '" + std::string(field) + "' is missing or not a string");
  }
  return std::string(value->get_string());
}

std::int64_t required_int(const json::object& in, std::string_view field) {
  const json::value* value = in.if_contains(field);
  if (!value || !value->is_int64()) {
    throw MalformedPayload("payload field '" + std::string(field) + "' is missing or not an integer");
  }
  return value->get_int64();
}

std::optional<std::int64_t> optional_int(const json::object& in, std::string_view field) {
  const json::value* value = in.if_contains(field);
  if (!value || value->is_null()) return std::nullopt;
  return required_int(in, field);
}

std::optional<std::string> optional_string(const json::object& in, std::string_view field) {
  const json::value* value = in.if_contains(field);
  if (!value || value->is_null()) return std::nullopt;
  return required_string(in, field);
}

// Every order id on the wire is one; consumers look orders up by it.
std::string required_order_id(const json::object& in) {
  std::string id = required_string(in, "order_id");
  if (!is_uuid(id)) throw MalformedPayload("payload field 'order_id' is not a UUID");
  return id;
}

json::value nullable(const std::optional<std::string>& text) {
  return text ? json::value(*text) : json::value(nullptr);
}

// The members every hold.* payload begins with.
json::object hold_facts_json(const HoldFacts& hold) {
  return json::object{{"reservation_id", hold.reservation_id},
                      {"reservation_key", hold.reservation_key},
                      {"event_id", hold.event_id},
                      {"quantity", hold.quantity}};
}

HoldFacts hold_facts_of(const json::object& object) {
  HoldFacts hold;
  hold.reservation_id = required_int(object, "reservation_id");
  hold.reservation_key = required_string(object, "reservation_key");
  hold.event_id = required_int(object, "event_id");
  hold.quantity = required_int(object, "quantity");
  return hold;
}

}  // namespace

const EventType* find_event_type(std::string_view type) {
  const auto& types = event_types();
  const auto found =
      std::find_if(types.begin(), types.end(), [type](const EventType& row) { return row.type == type; });
  return found == types.end() ? nullptr : &*found;
}

std::optional<std::string_view> publisher_of(std::string_view type) {
  const EventType* row = find_event_type(type);
  if (!row) return std::nullopt;
  return row->publisher;
}

std::vector<std::string_view> consumed_by(std::string_view service) {
  std::vector<std::string_view> types;
  for (const EventType& row : event_types()) {
    if (std::find(row.consumers.begin(), row.consumers.end(), service) != row.consumers.end()) {
      types.push_back(row.type);
    }
  }
  return types;
}

std::vector<std::string_view> consuming_services() {
  std::vector<std::string_view> services;
  for (const EventType& row : event_types()) {
    for (std::string_view consumer : row.consumers) {
      if (std::find(services.begin(), services.end(), consumer) == services.end()) services.push_back(consumer);
    }
  }
  return services;
}

void tag_invoke(json::value_from_tag, json::value& out, const OrderCreated& event) {
  json::object object{{"order_id", event.order_id},
                      {"event_id", event.event_id},
                      {"quantity", event.quantity},
                      {"payment_token", event.payment_token},
                      {"reservation_id", event.reservation_id},
                      {"expires_at", rfc3339_from_unix_ms(event.expires_at_ms)}};
  object["customer_email"] = nullable(event.customer_email);
  object["amount_minor"] = event.amount_minor;
  object["currency"] = event.currency;
  out = std::move(object);
}

OrderCreated tag_invoke(json::value_to_tag<OrderCreated>, const json::value& in) {
  const json::object& object = object_of(in);
  OrderCreated event;
  event.order_id = required_order_id(object);
  event.event_id = required_int(object, "event_id");
  event.quantity = required_int(object, "quantity");
  event.payment_token = required_string(object, "payment_token");
  event.reservation_id = required_int(object, "reservation_id");
  const std::optional<std::int64_t> expires_at_ms = unix_ms_from_rfc3339(required_string(object, "expires_at"));
  if (!expires_at_ms) throw MalformedPayload("payload field 'expires_at' is not an RFC 3339 time");
  event.expires_at_ms = *expires_at_ms;
  event.customer_email = optional_string(object, "customer_email");
  // Absent from what a service older than amounts wrote: read as 0 and no currency, not dead-lettered.
  event.amount_minor = optional_int(object, "amount_minor").value_or(0);
  event.currency = optional_string(object, "currency").value_or("");
  return event;
}

void tag_invoke(json::value_from_tag, json::value& out, const OrderEnded& event) {
  json::object object{{"order_id", event.order_id},
                      {"status", event.status},
                      {"event_id", event.event_id},
                      {"quantity", event.quantity},
                      {"reservation_id", event.reservation_id}};
  object["customer_email"] = nullable(event.customer_email);
  object["payment_id"] = nullable(event.payment_id);
  object["reason"] = nullable(event.reason);
  out = std::move(object);
}

OrderEnded tag_invoke(json::value_to_tag<OrderEnded>, const json::value& in) {
  const json::object& object = object_of(in);
  OrderEnded event;
  event.order_id = required_order_id(object);
  event.status = required_string(object, "status");
  event.event_id = required_int(object, "event_id");
  event.quantity = required_int(object, "quantity");
  event.reservation_id = required_int(object, "reservation_id");
  event.customer_email = optional_string(object, "customer_email");
  event.payment_id = optional_string(object, "payment_id");
  event.reason = optional_string(object, "reason");
  return event;
}

void tag_invoke(json::value_from_tag, json::value& out, const PaymentOutcome& event) {
  json::object object{{"payment_id", event.payment_id},
                      {"order_id", event.order_id},
                      {"status", event.status},
                      {"event_id", event.event_id},
                      {"quantity", event.quantity}};
  object["amount_minor"] = event.amount_minor;
  object["currency"] = event.currency;
  object["reason"] = nullable(event.reason);
  out = std::move(object);
}

PaymentOutcome tag_invoke(json::value_to_tag<PaymentOutcome>, const json::value& in) {
  const json::object& object = object_of(in);
  PaymentOutcome event;
  event.payment_id = required_string(object, "payment_id");
  event.order_id = required_order_id(object);
  event.status = required_string(object, "status");
  event.event_id = required_int(object, "event_id");
  event.quantity = required_int(object, "quantity");
  // Absent from what a service older than amounts wrote: read as 0 and no currency, not dead-lettered.
  event.amount_minor = optional_int(object, "amount_minor").value_or(0);
  event.currency = optional_string(object, "currency").value_or("");
  event.reason = optional_string(object, "reason");
  return event;
}

void tag_invoke(json::value_from_tag, json::value& out, const HoldVoided& event) {
  json::object object = hold_facts_json(event);
  object["was"] = event.was;
  out = std::move(object);
}

HoldVoided tag_invoke(json::value_to_tag<HoldVoided>, const json::value& in) {
  const json::object& object = object_of(in);
  return HoldVoided{hold_facts_of(object), required_string(object, "was")};
}

void tag_invoke(json::value_from_tag, json::value& out, const HoldExpired& event) {
  json::object object = hold_facts_json(event);
  object["expired_at"] = rfc3339_from_unix_ms(event.expired_at_ms);
  out = std::move(object);
}

HoldExpired tag_invoke(json::value_to_tag<HoldExpired>, const json::value& in) {
  const json::object& object = object_of(in);
  HoldFacts hold = hold_facts_of(object);
  const std::optional<std::int64_t> expired_at_ms = unix_ms_from_rfc3339(required_string(object, "expired_at"));
  if (!expired_at_ms) throw MalformedPayload("payload field 'expired_at' is not an RFC 3339 time");
  return HoldExpired{std::move(hold), *expired_at_ms};
}

}  // namespace flashtix::core::events
