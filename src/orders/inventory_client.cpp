// Maps inventory's answers to outcomes; anything unexpected is a fault, not an outcome.
#include "orders/inventory_client.hpp"

#include <stdexcept>

#include "core/time.hpp"

namespace flashtix::orders {

namespace http = core::http;
namespace json = core::json;
using boost::asio::awaitable;

namespace {

[[noreturn]] void unexpected(const std::string& call, const core::ClientResponse& response) {
  throw std::runtime_error("inventory " + call + " answered " + std::to_string(static_cast<int>(response.status)) +
                           ": " + response.body.substr(0, 300));
}

std::string problem_code(const core::ClientResponse& response) {
  const json::value body = response.json();
  if (const auto* object = body.if_object()) {
    if (const auto* code = object->if_contains("code"); code && code->is_string()) return std::string(code->get_string());
  }
  return {};
}

}  // namespace

ReserveOutcome reserve_outcome(http::status status, const json::value& body) {
  const json::object* object = body.if_object();
  const auto code = [&] {
    const json::value* member = object ? object->if_contains("code") : nullptr;
    return member && member->is_string() ? std::string(member->get_string()) : std::string();
  };
  const auto text = [&] { return std::to_string(static_cast<int>(status)) + ": " + json::serialize(body).substr(0, 300); };
  if (status == http::status::created || status == http::status::ok) {
    const json::value* id = object ? object->if_contains("reservation_id") : nullptr;
    const json::value* state = object ? object->if_contains("status") : nullptr;
    const json::value* expires_at = object ? object->if_contains("expires_at") : nullptr;
    const auto expires = expires_at && expires_at->is_string()
                             ? core::unix_ms_from_rfc3339(expires_at->get_string())
                             : std::nullopt;
    const json::value* amount = object ? object->if_contains("amount_minor") : nullptr;
    const json::value* currency = object ? object->if_contains("currency") : nullptr;
    const json::value* items = object ? object->if_contains("items") : nullptr;
    // A hold that never held tickets (its key released before its reserve came) has no items and no currency.
    if (!id || !id->is_int64() || !state || !state->is_string() || !expires || !amount || !amount->is_int64() ||
        !currency || !(currency->is_string() || currency->is_null()) || !items || !items->is_array()) {
      return ReserveFailed{"a hold " + text()};
    }
    std::vector<OrderItem> held;
    for (const json::value& item : items->get_array()) {
      const json::object* fields = item.if_object();
      const auto number = [&](std::string_view name) -> std::optional<std::int64_t> {
        const json::value* member = fields ? fields->if_contains(name) : nullptr;
        return member && member->is_int64() ? std::optional(member->as_int64()) : std::nullopt;
      };
      const auto type = number("ticket_type_id");
      const auto quantity = number("quantity");
      const auto price = number("unit_price_minor");
      if (!type || !quantity || !price) return ReserveFailed{"a hold's items " + text()};
      held.push_back(OrderItem{*type, *quantity, *price});
    }
    return Hold{id->as_int64(), std::string(state->get_string()), *expires, std::move(held), amount->as_int64(),
                currency->is_string() ? std::string(currency->get_string()) : std::string()};
  }
  if (status == http::status::conflict && code() == "sold_out") {
    const json::value* available = object->if_contains("available_tickets");
    if (!available || !available->is_int64()) return ReserveFailed{"sold out " + text()};
    const json::value* type = object->if_contains("ticket_type_id");
    return SoldOut{available->as_int64(),
                   type && type->is_int64() ? std::optional<std::int64_t>(type->as_int64()) : std::nullopt};
  }
  if ((status == http::status::not_found && code() == "ticket_type_not_found") ||
      (status == http::status::bad_request && (code() == "quantity_out_of_range" || code() == "amount_out_of_range"))) {
    const json::value* title = object->if_contains("title");
    const json::value* detail = object->if_contains("detail");
    if (!title || !title->is_string() || !detail || !detail->is_string()) return ReserveFailed{"items refused " + text()};
    json::object extra;
    for (const auto& member : *object) {
      const std::string_view name = member.key();
      if (name != "type" && name != "title" && name != "status" && name != "detail" && name != "code" &&
          name != "instance") {
        extra[name] = member.value();
      }
    }
    return ItemsRefused{core::Problem{status, code(), std::string(title->get_string()),
                                      std::string(detail->get_string()), std::move(extra), {}}};
  }
  if (status == http::status::not_found && code() == "event_not_found") return EventNotFound{};
  const auto integer = [&](std::string_view name) -> std::optional<std::int64_t> {
    const json::value* member = object ? object->if_contains(name) : nullptr;
    return member && member->is_int64() ? std::optional(member->as_int64()) : std::nullopt;
  };
  if (status == http::status::bad_request && code() == "buyer_required") {
    const auto limit = integer("max_tickets_per_buyer");
    if (!limit) return ReserveFailed{"buyer required " + text()};
    return BuyerRequired{*limit};
  }
  if (status == http::status::conflict && code() == "buyer_limit_reached") {
    const auto limit = integer("max_tickets_per_buyer");
    const auto held = integer("buyer_tickets");
    if (!limit || !held) return ReserveFailed{"buyer limit " + text()};
    return BuyerLimitReached{*limit, *held};
  }
  if (status == http::status::conflict && code() == "not_on_sale") {
    const json::value* detail = object->if_contains("detail");
    if (!detail || !detail->is_string()) return ReserveFailed{"not on sale " + text()};
    json::object sales;
    for (const std::string_view bound : {"sales_start", "sales_end"}) {
      const json::value* member = object->if_contains(bound);
      if (!member || !(member->is_string() || member->is_null())) return ReserveFailed{"not on sale " + text()};
      sales[bound] = *member;
    }
    return NotOnSale{std::string(detail->get_string()), std::move(sales)};
  }
  if (status == http::status::service_unavailable) return InventoryBusy{code()};
  return ReserveFailed{"reserve answered " + text()};
}


awaitable<std::vector<ReserveOutcome>> InventoryClient::reserve_many(std::vector<ReserveRequest> requests) {
  json::array items;
  items.reserve(requests.size());
  for (const ReserveRequest& request : requests) {
    json::object item{{"event_id", request.event_id},
                      {"reservation_key", request.key},
                      {"hold_seconds", request.hold_seconds}};
    if (request.items.empty()) {
      item["quantity"] = request.quantity;
    } else {
      json::array asked;
      for (const OrderItem& wanted : request.items) {
        asked.push_back(json::object{{"ticket_type_id", wanted.ticket_type_id}, {"quantity", wanted.quantity}});
      }
      item["items"] = std::move(asked);
    }
    if (request.buyer) item["buyer"] = *request.buyer;
    items.push_back(std::move(item));
  }
  std::string body = json::serialize(json::object{{"reservations", std::move(items)}});
  // Idempotent by the keys, so a retry after a lost answer finds the same holds.
  const core::ClientResponse response =
      co_await http_.call(http::verb::post, "/inventory/reserve-batch", std::move(body), true);
  const json::value answer = response.json();
  const json::value* results = answer.is_object() ? answer.get_object().if_contains("results") : nullptr;
  if (response.status != http::status::ok || !results || !results->is_array() ||
      results->get_array().size() != requests.size()) {
    unexpected("reserve-batch", response);
  }
  std::vector<ReserveOutcome> outcomes;
  outcomes.reserve(requests.size());
  for (const json::value& result : results->get_array()) {
    const json::object* item = result.if_object();
    const json::value* status = item ? item->if_contains("status") : nullptr;
    const json::value* item_body = item ? item->if_contains("body") : nullptr;
    if (!status || !status->is_int64() || !item_body) {
      outcomes.push_back(ReserveFailed{"a batch result is not {status, body}"});
      continue;
    }
    outcomes.push_back(reserve_outcome(static_cast<http::status>(status->as_int64()), *item_body));
  }
  co_return outcomes;
}

ReserveQueue::ReserveQueue(boost::asio::io_context::executor_type home, InventoryClient* client,
                           core::BatchLimits limits, std::chrono::milliseconds queue_wait)
    : queue_(std::make_shared<core::Batcher<ReserveRequest, ReserveOutcome>>(
          home, limits,
          [client](std::vector<ReserveRequest> requests) { return client->reserve_many(std::move(requests)); },
          "reserves to inventory")),
      queue_wait_(queue_wait) {}

awaitable<ReserveOutcome> ReserveQueue::reserve(ReserveRequest request) {
  const auto start_by = std::chrono::steady_clock::now() + queue_wait_;
  co_return co_await core::Batcher<ReserveRequest, ReserveOutcome>::submit(queue_, std::move(request), start_by);
}

awaitable<ReleaseOutcome> InventoryClient::release(std::string key, std::string traceparent) {
  const json::object request{{"reservation_key", key}};
  co_return co_await release_with(json::serialize(request), std::move(traceparent));
}

awaitable<ReleaseOutcome> InventoryClient::release(const ReserveRequest& reserved) {
  const json::object request{
      {"reservation_key", reserved.key}, {"event_id", reserved.event_id}, {"quantity", reserved.quantity}};
  co_return co_await release_with(json::serialize(request), reserved.traceparent);
}

awaitable<ReleaseOutcome> InventoryClient::release_with(std::string body, std::string traceparent) {
  const core::ClientResponse response =
      co_await http_.call(http::verb::post, "/inventory/release", std::move(body), true, std::move(traceparent));
  if (response.status == http::status::ok) co_return HoldReleased{};
  const std::string code = problem_code(response);
  if (response.status == http::status::conflict && code == "hold_confirmed") co_return HoldSold{};
  if (response.status == http::status::not_found && code == "reservation_not_found") co_return HoldUnknown{};
  unexpected("release", response);
}

awaitable<ConfirmOutcome> InventoryClient::confirm(std::string key, std::string traceparent) {
  const json::object request{{"reservation_key", key}};
  const core::ClientResponse response =
      co_await http_.call(http::verb::post, "/inventory/confirm", json::serialize(request), true, std::move(traceparent));
  if (response.status == http::status::ok) co_return HoldConfirmed{};
  const std::string code = problem_code(response);
  if (response.status == http::status::conflict && code == "hold_expired") {
    const json::value body = response.json();
    const json::value* status = body.is_object() ? body.get_object().if_contains("reservation_status") : nullptr;
    co_return HoldLapsed{status && status->is_string() ? std::string(status->get_string()) : std::string()};
  }
  if (response.status == http::status::not_found && code == "reservation_not_found") co_return HoldUnknown{};
  unexpected("confirm", response);
}

awaitable<std::optional<InventoryLimits>> InventoryClient::limits() {
  const core::ClientResponse response = co_await http_.call(http::verb::get, "/inventory/limits", "", false);
  if (response.status == http::status::not_found) co_return std::nullopt;
  const json::value body = response.json();
  const json::object* object = body.if_object();
  const auto integer = [object](std::string_view name) -> std::optional<std::int64_t> {
    const json::value* member = object ? object->if_contains(name) : nullptr;
    return member && member->is_int64() ? std::optional(member->as_int64()) : std::nullopt;
  };
  const auto max_quantity = integer("max_quantity");
  const auto default_hold = integer("default_hold_seconds");
  const auto max_hold = integer("max_hold_seconds");
  const auto max_batch = integer("max_reservations_per_batch");
  if (response.status != http::status::ok || !max_quantity || !default_hold || !max_hold || !max_batch) {
    unexpected("limits", response);
  }
  co_return InventoryLimits{*max_quantity, *default_hold, *max_hold, *max_batch};
}

awaitable<bool> InventoryClient::healthy() {
  try {
    const core::ClientResponse response = co_await http_.call(http::verb::get, "/health", "", false);
    co_return response.status == http::status::ok;
  } catch (const core::PeerUnavailable&) {
    co_return false;
  }
}

}  // namespace flashtix::orders
