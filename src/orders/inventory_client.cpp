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

awaitable<ReserveOutcome> InventoryClient::reserve(std::string key, std::int64_t event_id, std::int64_t quantity,
                                                   std::int64_t hold_seconds) {
  const json::object request{
      {"event_id", event_id}, {"quantity", quantity}, {"reservation_key", key}, {"hold_seconds", hold_seconds}};
  // Idempotent by its key, so a retry after a lost answer finds the same hold.
  const core::ClientResponse response =
      co_await http_.call(http::verb::post, "/inventory/reserve", json::serialize(request), true);
  if (response.status == http::status::created || response.status == http::status::ok) {
    const json::value body = response.json();
    const json::object* hold = body.if_object();
    const auto expires = hold ? core::unix_ms_from_rfc3339(hold->at("expires_at").as_string()) : std::nullopt;
    if (!hold || !expires) unexpected("reserve", response);
    co_return Hold{hold->at("reservation_id").as_int64(), std::string(hold->at("status").as_string()), *expires};
  }
  const std::string code = problem_code(response);
  if (response.status == http::status::conflict && code == "sold_out") {
    co_return SoldOut{response.json().at("available_tickets").as_int64()};
  }
  if (response.status == http::status::not_found && code == "event_not_found") co_return EventNotFound{};
  unexpected("reserve", response);
}

awaitable<ReleaseOutcome> InventoryClient::release(std::string key) {
  const json::object request{{"reservation_key", key}};
  const core::ClientResponse response =
      co_await http_.call(http::verb::post, "/inventory/release", json::serialize(request), true);
  if (response.status == http::status::ok) co_return HoldReleased{};
  const std::string code = problem_code(response);
  if (response.status == http::status::conflict && code == "hold_confirmed") co_return HoldSold{};
  if (response.status == http::status::not_found && code == "reservation_not_found") co_return HoldUnknown{};
  unexpected("release", response);
}

awaitable<ConfirmOutcome> InventoryClient::confirm(std::string key) {
  const json::object request{{"reservation_key", key}};
  const core::ClientResponse response =
      co_await http_.call(http::verb::post, "/inventory/confirm", json::serialize(request), true);
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

awaitable<bool> InventoryClient::healthy() {
  try {
    const core::ClientResponse response = co_await http_.call(http::verb::get, "/health", "", false);
    co_return response.status == http::status::ok;
  } catch (const core::PeerUnavailable&) {
    co_return false;
  }
}

}  // namespace flashtix::orders
