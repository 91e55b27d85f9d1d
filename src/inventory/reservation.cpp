// Request parsing with every bound checked, and the JSON shapes of events and holds.
#include "inventory/reservation.hpp"

#include <algorithm>
#include <limits>

#include "core/buyer.hpp"
#include "core/json_fields.hpp"
#include "core/money.hpp"
#include "core/time.hpp"
#include "core/uuid.hpp"

namespace flashtix::inventory {

using core::FieldReader;
using core::Problem;
using core::Result;
namespace json = core::json;

namespace {

constexpr std::int64_t kMaxId = std::numeric_limits<std::int64_t>::max();

// An RFC 3339 date-time, absent or null for none.
std::optional<std::int64_t> optional_instant(FieldReader& fields, std::string_view name) {
  if (!fields.has(name)) return std::nullopt;  // null counts as absent
  const std::optional<std::string> text = fields.optional_string(name, 1, 64);
  const auto instant = text ? core::unix_ms_from_any_rfc3339(*text) : std::nullopt;
  if (text && !instant) {
    fields.fail("'" + std::string(name) + "' must be an RFC 3339 date-time such as \"2026-12-05T18:00:00Z\", or null");
  }
  return instant;
}

json::value instant_or_null(const std::optional<std::int64_t>& unix_ms) {
  return unix_ms ? json::value(core::rfc3339_from_unix_ms(*unix_ms)) : json::value(nullptr);
}

json::value number_or_null(const std::optional<std::int64_t>& number) {
  return number ? json::value(*number) : json::value(nullptr);
}

// The array `name` of `object`, of 1 to `most` elements; nothing when absent or null.
Result<std::optional<const json::array*>> optional_array(const json::object& object, std::string_view name,
                                                         std::size_t most) {
  const json::value* value = object.if_contains(name);
  if (!value || value->is_null()) return std::optional<const json::array*>{};
  if (!value->is_array() || value->get_array().empty() || value->get_array().size() > most) {
    return core::invalid_request("'" + std::string(name) + "' must be an array of 1 to " + std::to_string(most) +
                                 " objects");
  }
  return std::optional<const json::array*>{&value->get_array()};
}

Result<NewTicketType> ticket_type_from(const json::object& object, const Limits& limits) {
  FieldReader fields(object);
  NewTicketType type;
  type.name = fields.required_string("name", 1, kMaxTicketTypeNameLength);
  type.price_minor = fields.required_int("price_minor", 0, kMaxPriceMinor);
  type.min_per_order = fields.optional_int("min_per_order", 1, limits.max_tickets_per_hold).value_or(1);
  type.max_per_order = fields.optional_int("max_per_order", 1, limits.max_tickets_per_hold);
  type.quota = fields.optional_int("quota", 0, limits.max_total_tickets);
  type.sales.start_ms = optional_instant(fields, "sales_start");
  type.sales.end_ms = optional_instant(fields, "sales_end");
  if (fields.problem()) return *fields.problem();
  if (type.max_per_order && *type.max_per_order < type.min_per_order) {
    return core::invalid_request("'max_per_order' must not be below 'min_per_order'");
  }
  if (!type.sales.in_order()) return sales_window_out_of_order();
  return type;
}

// Reads each element of `list` with `read`, naming the element of the first bad one.
template <class Item, class Read>
Result<std::vector<Item>> each_of(const json::array& list, std::string_view name, Read read) {
  std::vector<Item> items;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string where = std::string(name) + "[" + std::to_string(i) + "]";
    if (!list[i].is_object()) return core::invalid_request("'" + where + "' must be an object");
    auto item = read(list[i].get_object());
    if (auto* problem = std::get_if<Problem>(&item)) {
      problem->detail = where + ": " + problem->detail;
      return *problem;
    }
    items.push_back(std::get<Item>(std::move(item)));
  }
  return items;
}

}  // namespace

Result<CreateEvent> parse_create_event(std::string_view body, const Limits& limits) {
  auto parsed = core::parse_json_object(body);
  if (auto* problem = std::get_if<Problem>(&parsed)) return *problem;
  FieldReader fields(std::get<json::object>(parsed));
  CreateEvent command;
  command.name = fields.required_string("name", 1, kMaxEventNameLength);
  command.total_tickets = fields.required_int("total_tickets", 0, limits.max_total_tickets);
  command.max_tickets_per_buyer = fields.optional_int("max_tickets_per_buyer", 1, limits.max_total_tickets);
  command.sales.start_ms = optional_instant(fields, "sales_start");
  command.sales.end_ms = optional_instant(fields, "sales_end");
  command.currency = fields.optional_string("currency", 3, 3).value_or("EUR");
  const std::optional<std::int64_t> price = fields.optional_int("price_minor", 0, kMaxPriceMinor);
  if (fields.problem()) return *fields.problem();
  if (!command.sales.in_order()) return sales_window_out_of_order();
  if (!core::is_known_currency(command.currency)) {
    return core::invalid_request("'currency' must be an ISO 4217 currency code such as \"EUR\" or \"USD\"");
  }
  const json::object& object = std::get<json::object>(parsed);
  auto listed = optional_array(object, "ticket_types", kMaxTicketTypes);
  if (auto* problem = std::get_if<Problem>(&listed)) return *problem;
  const std::optional<const json::array*> types = std::get<std::optional<const json::array*>>(listed);
  if (!types) {
    command.ticket_types.push_back(NewTicketType{"General admission", price.value_or(0), 1, std::nullopt,
                                                 std::nullopt, {}});
    return command;
  }
  if (price) return core::invalid_request("give 'price_minor' per type in 'ticket_types', not for the event");
  auto read = each_of<NewTicketType>(**types, "ticket_types",
                                     [&](const json::object& type) { return ticket_type_from(type, limits); });
  if (auto* problem = std::get_if<Problem>(&read)) return *problem;
  command.ticket_types = std::get<std::vector<NewTicketType>>(std::move(read));
  for (std::size_t i = 0; i < command.ticket_types.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (command.ticket_types[i].name == command.ticket_types[j].name) {
        return core::invalid_request("two ticket types are named '" + command.ticket_types[i].name +
                                     "': each type of an event needs a name of its own");
      }
    }
  }
  return command;
}

Result<ChangeTicketType> parse_change_ticket_type(std::string_view body, const Limits& limits) {
  auto parsed = core::parse_json_object(body);
  if (auto* problem = std::get_if<Problem>(&parsed)) return *problem;
  const json::object& object = std::get<json::object>(parsed);
  FieldReader fields(object);
  ChangeTicketType change;
  // Present (a value or null) is a change; FieldReader reads null as absent, so presence is asked here.
  if (object.contains("name")) change.name = fields.required_string("name", 1, kMaxTicketTypeNameLength);
  if (object.contains("price_minor")) change.price_minor = fields.required_int("price_minor", 0, kMaxPriceMinor);
  if (object.contains("min_per_order")) {
    change.min_per_order = fields.required_int("min_per_order", 1, limits.max_tickets_per_hold);
  }
  if (object.contains("max_per_order")) {
    change.max_per_order = fields.optional_int("max_per_order", 1, limits.max_tickets_per_hold);
  }
  if (object.contains("quota")) change.quota = fields.optional_int("quota", 0, limits.max_total_tickets);
  if (object.contains("sales_start")) change.start_ms = optional_instant(fields, "sales_start");
  if (object.contains("sales_end")) change.end_ms = optional_instant(fields, "sales_end");
  if (fields.problem()) return *fields.problem();
  if (!change.name && !change.price_minor && !change.min_per_order && !change.max_per_order && !change.quota &&
      !change.start_ms && !change.end_ms) {
    return core::invalid_request(
        "give at least one of 'name', 'price_minor', 'min_per_order', 'max_per_order', 'quota', 'sales_start', "
        "'sales_end'");
  }
  return change;
}

Result<NewTicketType> parse_new_ticket_type(std::string_view body, const Limits& limits) {
  auto parsed = core::parse_json_object(body);
  if (auto* problem = std::get_if<Problem>(&parsed)) return *problem;
  return ticket_type_from(std::get<json::object>(parsed), limits);
}

Problem sales_window_out_of_order() {
  return core::invalid_request("the window would end before it starts: 'sales_end' must come after 'sales_start'");
}

Result<ChangeSalesWindow> parse_change_sales_window(std::string_view body) {
  auto parsed = core::parse_json_object(body);
  if (auto* problem = std::get_if<Problem>(&parsed)) return *problem;
  const json::object& object = std::get<json::object>(parsed);
  FieldReader fields(object);
  ChangeSalesWindow command;
  // Present (an instant or null) is a change; FieldReader reads null as absent, so presence is asked here.
  if (object.contains("sales_start")) command.start_ms = optional_instant(fields, "sales_start");
  if (object.contains("sales_end")) command.end_ms = optional_instant(fields, "sales_end");
  if (fields.problem()) return *fields.problem();
  if (!command.start_ms && !command.end_ms) {
    return core::invalid_request("give 'sales_start', 'sales_end' or both (an RFC 3339 date-time, or null for no bound)");
  }
  // Both given: judged here; one given: against the bound kept, by the table's CHECK.
  if (command.start_ms && command.end_ms && !SalesWindow{*command.start_ms, *command.end_ms}.in_order()) {
    return sales_window_out_of_order();
  }
  return command;
}

Result<ReserveCommand> parse_reserve(std::string_view body, const Limits& limits) {
  auto parsed = core::parse_json_object(body);
  if (auto* problem = std::get_if<Problem>(&parsed)) return *problem;
  return reserve_from(std::get<json::object>(parsed), limits);
}

Result<std::vector<ReserveCommand>> parse_reserve_batch(std::string_view body, const Limits& limits) {
  auto parsed = core::parse_json_object(body);
  if (auto* problem = std::get_if<Problem>(&parsed)) return *problem;
  const json::object& object = std::get<json::object>(parsed);
  const json::value* list = object.if_contains("reservations");
  if (!list || !list->is_array()) return core::invalid_request("'reservations' must be an array of reserve requests");
  const json::array& items = list->get_array();
  if (items.empty() || items.size() > kMaxReserveBatch) {
    return core::invalid_request("'reservations' must hold 1 to " + std::to_string(kMaxReserveBatch) + " requests");
  }
  return each_of<ReserveCommand>(items, "reservations",
                                 [&](const json::object& request) { return reserve_from(request, limits); });
}

Result<ReserveCommand> reserve_from(const json::object& object, const Limits& limits) {
  FieldReader fields(object);
  ReserveCommand command;
  command.event_id = fields.required_int("event_id", 1, kMaxId);
  const std::optional<std::int64_t> quantity = fields.optional_int("quantity", 1, limits.max_tickets_per_hold);
  command.quantity = quantity.value_or(1);
  auto key = fields.optional_string("reservation_key", 1, kMaxKeyLength);
  command.hold_seconds =
      fields.optional_int("hold_seconds", 1, limits.max_hold_seconds).value_or(limits.default_hold_seconds);
  if (auto buyer = fields.optional_string("buyer", 1, core::kMaxEmailLength)) {
    // Only the digest is kept: inventory never stores a buyer's address.
    if (const auto email = core::normalized_email(*buyer)) {
      command.buyer_digest = core::buyer_digest(*email);
    } else {
      fields.fail("'buyer' must be the buyer's e-mail address");
    }
  }
  if (fields.problem()) return *fields.problem();
  auto listed = optional_array(object, "items", kMaxItemsPerHold);
  if (auto* problem = std::get_if<Problem>(&listed)) return *problem;
  if (const auto items = std::get<std::optional<const json::array*>>(listed)) {
    if (quantity) return core::invalid_request("give 'items' or 'quantity', not both: 'quantity' is the default type's");
    auto read = each_of<ItemRequest>(**items, "items", [&](const json::object& item) -> Result<ItemRequest> {
      FieldReader item_fields(item);
      ItemRequest request{item_fields.required_int("ticket_type_id", 1, kMaxId),
                          item_fields.required_int("quantity", 1, limits.max_tickets_per_hold)};
      if (item_fields.problem()) return *item_fields.problem();
      return request;
    });
    if (auto* problem = std::get_if<Problem>(&read)) return *problem;
    command.items = std::get<std::vector<ItemRequest>>(std::move(read));
    command.quantity = 0;
    for (std::size_t i = 0; i < command.items.size(); ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (command.items[i].ticket_type_id == command.items[j].ticket_type_id) {
          return core::invalid_request("ticket type " + std::to_string(command.items[i].ticket_type_id) +
                                       " is named twice in 'items': give each type once, with its quantity");
        }
      }
      command.quantity += command.items[i].quantity;
    }
    if (command.quantity > limits.max_tickets_per_hold) {
      return core::invalid_request("'items' ask for " + std::to_string(command.quantity) +
                                   " tickets; one hold takes at most " + std::to_string(limits.max_tickets_per_hold));
    }
    // In one order, whatever order they came in: a retry that lists them otherwise is the same request.
    std::sort(command.items.begin(), command.items.end(),
              [](const ItemRequest& a, const ItemRequest& b) { return a.ticket_type_id < b.ticket_type_id; });
  }
  command.key_from_client = key.has_value();
  command.key = key ? std::move(*key) : core::random_uuid();
  return command;
}

namespace {

Result<HoldRef> hold_ref_from(FieldReader& fields) {
  HoldRef ref;
  ref.id = fields.optional_int("reservation_id", 1, kMaxId);
  ref.key = fields.optional_string("reservation_key", 1, kMaxKeyLength);
  if (fields.problem()) return *fields.problem();
  if (ref.id.has_value() == ref.key.has_value()) {
    return core::invalid_request("give exactly one of 'reservation_id' (an integer) or 'reservation_key' (a string)");
  }
  return ref;
}

}  // namespace

Result<HoldRef> parse_hold_ref(std::string_view body) {
  auto parsed = core::parse_json_object(body);
  if (auto* problem = std::get_if<Problem>(&parsed)) return *problem;
  FieldReader fields(std::get<json::object>(parsed));
  return hold_ref_from(fields);
}

Result<ReleaseCommand> parse_release(std::string_view body, const Limits& limits) {
  auto parsed = core::parse_json_object(body);
  if (auto* problem = std::get_if<Problem>(&parsed)) return *problem;
  FieldReader fields(std::get<json::object>(parsed));
  ReleaseCommand command;
  command.event_id = fields.optional_int("event_id", 1, kMaxId);
  command.quantity = fields.optional_int("quantity", 1, limits.max_tickets_per_hold);
  auto ref = hold_ref_from(fields);
  if (auto* problem = std::get_if<Problem>(&ref)) return *problem;
  command.hold = std::get<HoldRef>(std::move(ref));
  if (command.event_id.has_value() != command.quantity.has_value()) {
    return core::invalid_request("give 'event_id' and 'quantity' (what the reserve asked for) together, or neither");
  }
  if (command.event_id && !command.hold.key) {
    return core::invalid_request("'event_id' and 'quantity' go with 'reservation_key' only");
  }
  return command;
}

json::object to_json(const Event& event) {
  return {
      {"id", event.id},
      {"name", event.name},
      {"total_tickets", event.total_tickets},
      {"available_tickets", event.available_tickets},
      {"held_tickets", event.held_tickets},
      {"sold_tickets", event.sold_tickets},
      {"max_tickets_per_buyer", number_or_null(event.max_tickets_per_buyer)},
      {"created_at", core::rfc3339_from_unix_ms(event.created_at_ms)},
      {"sales_start", instant_or_null(event.sales.start_ms)},
      {"sales_end", instant_or_null(event.sales.end_ms)},
      {"currency", event.currency},
      {"ticket_types", [&] {
         json::array types;
         for (const TicketType& type : event.ticket_types) types.push_back(to_json(type, event.available_tickets, event.currency));
         return types;
       }()},
  };
}

json::object to_json(const TicketType& type, std::int64_t event_available, std::string_view currency) {
  return {
      {"id", type.id},
      {"event_id", type.event_id},
      {"name", type.name},
      {"default", type.is_default},
      {"price_minor", type.price_minor},
      {"currency", currency},
      {"min_per_order", type.min_per_order},
      {"max_per_order", number_or_null(type.max_per_order)},
      {"quota", number_or_null(type.quota)},
      {"available_tickets", available_of(type, event_available)},
      {"sold_tickets", number_or_null(type.sold_tickets)},
      {"sales_start", instant_or_null(type.sales.start_ms)},
      {"sales_end", instant_or_null(type.sales.end_ms)},
  };
}

json::object to_json(const SalesWindow& sales) {
  return {{"sales_start", instant_or_null(sales.start_ms)}, {"sales_end", instant_or_null(sales.end_ms)}};
}

json::object to_json(const Reservation& reservation) {
  return {
      {"reservation_id", reservation.id},
      {"reservation_key", reservation.key},
      {"event_id", reservation.event_id},
      {"quantity", reservation.quantity},
      {"status", reservation.status},
      {"expires_at", core::rfc3339_from_unix_ms(reservation.expires_at_ms)},
      {"created_at", core::rfc3339_from_unix_ms(reservation.created_at_ms)},
      {"items", [&] {
         json::array items;
         for (const HoldItem& item : reservation.items) {
           items.push_back(json::object{{"ticket_type_id", item.ticket_type_id},
                                        {"quantity", item.quantity},
                                        {"unit_price_minor", item.unit_price_minor}});
         }
         return items;
       }()},
      {"amount_minor", reservation.amount_minor},
      {"currency", reservation.currency.empty() ? json::value(nullptr) : json::value(reservation.currency)},
  };
}

}  // namespace flashtix::inventory
