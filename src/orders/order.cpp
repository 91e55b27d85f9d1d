// Order request parsing with every bound checked, and the JSON shape of an order.
#include "orders/order.hpp"

#include <algorithm>
#include <limits>

#include "core/buyer.hpp"
#include "core/json_fields.hpp"
#include "core/time.hpp"

namespace flashtix::orders {

namespace json = core::json;
using core::Problem;

bool is_order_status(std::string_view text) {
  return text == kPendingPayment || text == kConfirmed || text == kCancelled || text == kExpired;
}

std::string CreateOrder::fingerprint() const {
  json::object fields{{"event_id", event_id}, {"quantity", quantity}};
  fields["customer_email"] = customer_email ? json::value(*customer_email) : json::value(nullptr);
  fields["payment_token"] = payment_token;
  // Only when given, so that a key first used before types existed still matches the same body.
  if (!items.empty()) fields["items"] = to_json(items);
  return json::serialize(fields);
}

core::Result<CreateOrder> parse_create_order(std::string_view body, const Limits& limits) {
  auto parsed = core::parse_json_object(body);
  if (auto* problem = std::get_if<Problem>(&parsed)) return *problem;
  core::FieldReader fields(std::get<json::object>(parsed));
  CreateOrder command;
  command.event_id = fields.required_int("event_id", 1, std::numeric_limits<std::int64_t>::max());
  command.quantity = fields.optional_int("quantity", 1, limits.max_tickets_per_order).value_or(1);
  command.customer_email = fields.optional_string("customer_email", 3, core::kMaxEmailLength);
  if (command.customer_email && !core::normalized_email(*command.customer_email)) {
    fields.fail("'customer_email' must be one e-mail address");
  }
  if (auto token = fields.optional_string("payment_token", 1, kMaxPaymentTokenLength)) {
    const bool plain = std::all_of(token->begin(), token->end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
    if (!plain) fields.fail("'payment_token' may hold only letters, digits, '_' and '-'");
    command.payment_token = std::move(*token);
  }
  if (fields.problem()) return *fields.problem();
  const json::object& object = std::get<json::object>(parsed);
  const json::value* items = object.if_contains("items");
  if (!items || items->is_null()) return command;
  if (object.contains("quantity")) {
    return core::invalid_request("give 'items' or 'quantity', not both: 'quantity' is the default type's");
  }
  if (!items->is_array() || items->get_array().empty() || items->get_array().size() > kMaxOrderItems) {
    return core::invalid_request("'items' must be an array of 1 to " + std::to_string(kMaxOrderItems) +
                                 " objects {\"ticket_type_id\", \"quantity\"}");
  }
  command.quantity = 0;
  for (std::size_t i = 0; i < items->get_array().size(); ++i) {
    const std::string where = "items[" + std::to_string(i) + "]";
    const json::value& element = items->get_array()[i];
    if (!element.is_object()) return core::invalid_request("'" + where + "' must be an object");
    core::FieldReader item_fields(element.get_object());
    OrderItem item{item_fields.required_int("ticket_type_id", 1, std::numeric_limits<std::int64_t>::max()),
                   item_fields.required_int("quantity", 1, limits.max_tickets_per_order), 0};
    if (const auto& problem = item_fields.problem()) {
      Problem named = *problem;
      named.detail = where + ": " + named.detail;
      return named;
    }
    for (const OrderItem& earlier : command.items) {
      if (earlier.ticket_type_id == item.ticket_type_id) {
        return core::invalid_request("ticket type " + std::to_string(item.ticket_type_id) +
                                     " is named twice in 'items': give each type once, with its quantity");
      }
    }
    command.quantity += item.quantity;
    command.items.push_back(item);
  }
  if (command.quantity > limits.max_tickets_per_order) {
    return core::invalid_request("'items' ask for " + std::to_string(command.quantity) +
                                 " tickets; one order takes at most " + std::to_string(limits.max_tickets_per_order));
  }
  // In one order, whatever order they came in: the fingerprint of a retry that lists them otherwise is the same.
  std::sort(command.items.begin(), command.items.end(),
            [](const OrderItem& a, const OrderItem& b) { return a.ticket_type_id < b.ticket_type_id; });
  return command;
}

core::Result<std::optional<std::string>> parse_idempotency_key(std::string_view header, bool present) {
  if (!present) return std::optional<std::string>{};
  bool visible = !header.empty() && header.size() <= kMaxIdempotencyKeyLength;
  for (char c : header) visible = visible && c > ' ' && c < 127;
  if (!visible) {
    return core::invalid_request("the Idempotency-Key header must be 1 to 255 visible ASCII characters");
  }
  return std::optional<std::string>(std::string(header));
}

json::object to_json(const Order& order) {
  json::object object{
      {"order_id", order.id},
      {"status", order.status},
      {"event_id", order.event_id},
      {"quantity", order.quantity},
      {"reservation_id", order.reservation_id},
      {"expires_at", core::rfc3339_from_unix_ms(order.expires_at_ms)},
  };
  object["customer_email"] = order.customer_email ? json::value(*order.customer_email) : json::value(nullptr);
  object["created_at"] = core::rfc3339_from_unix_ms(order.created_at_ms);
  object["payment_id"] = order.payment_id ? json::value(*order.payment_id) : json::value(nullptr);
  object["status_reason"] = order.status_reason ? json::value(*order.status_reason) : json::value(nullptr);
  object["items"] = to_json(order.items);
  object["amount_minor"] = order.amount_minor;
  object["currency"] = order.currency.empty() ? json::value(nullptr) : json::value(order.currency);
  return object;
}

json::array to_json(const std::vector<OrderItem>& items) {
  json::array array;
  for (const OrderItem& item : items) {
    array.push_back(json::object{{"ticket_type_id", item.ticket_type_id},
                                 {"quantity", item.quantity},
                                 {"unit_price_minor", item.unit_price_minor}});
  }
  return array;
}

core::events::OrderCreated created_event(const Order& order, const std::string& payment_token) {
  return {.order_id = order.id,
          .event_id = order.event_id,
          .quantity = order.quantity,
          .payment_token = payment_token,
          .reservation_id = order.reservation_id,
          .expires_at_ms = order.expires_at_ms,
          .customer_email = order.customer_email,
          .amount_minor = order.amount_minor,
          .currency = order.currency};
}

bool pays_for(const core::events::PaymentOutcome& paid, const Order& order) {
  if (paid.currency.empty()) return true;
  return paid.amount_minor == order.amount_minor && paid.currency == order.currency;
}

core::events::OrderEnded ended_event(const Order& order) {
  return {.order_id = order.id,
          .status = order.status,
          .event_id = order.event_id,
          .quantity = order.quantity,
          .reservation_id = order.reservation_id,
          .customer_email = order.customer_email,
          .payment_id = order.payment_id,
          .reason = order.status_reason};
}

}  // namespace flashtix::orders
