// The checkout saga. Every failure after the reserve gives the tickets back before it is answered,
// unless the order may have been recorded.
#include "orders/checkout.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <csignal>

#include "core/failpoint.hpp"
#include "core/log.hpp"
#include "core/time.hpp"
#include "core/uuid.hpp"
#include "orders/inventory_client.hpp"
#include "orders/store.hpp"

namespace flashtix::orders {

using boost::asio::awaitable;
using core::Problem;
using core::problem_response;
using core::Response;
using core::http::status;
namespace json = core::json;

KeysInFlight::Entry KeysInFlight::enter(const std::string& key) {
  const std::lock_guard lock(mutex_);
  if (!keys_.insert(key).second) return Entry{};
  return Entry{this, key};
}

KeysInFlight::Entry::~Entry() {
  if (!keys_) return;
  const std::lock_guard lock(keys_->mutex_);
  keys_->keys_.erase(key_);
}

namespace {

// Gives the hold of an order that was not recorded back. If even that fails, the hold's expiry
// returns the tickets.
awaitable<void> give_back(Orders* orders, std::string order_id) {
  try {
    co_await orders->inventory->release(order_id);
  } catch (const std::exception& e) {
    core::log_warn("order ", order_id, ": giving its hold back failed, the hold will expire on its own: ", e.what());
  }
}

// The same, off the buyer's path.
awaitable<void> give_back_later(Orders* orders, std::string order_id) {
  const auto executor = co_await boost::asio::this_coro::executor;
  boost::asio::co_spawn(executor, give_back(orders, std::move(order_id)), core::LogIfFailed{"giving a hold back"});
}

// Inventory's refusals (sold out, no such event) as this service's problems.
Problem refusal(const ReserveOutcome& outcome, const CreateOrder& command) {
  if (const auto* sold_out = std::get_if<SoldOut>(&outcome)) {
    return Problem{status::conflict, "sold_out", "Sold out",
                   "only " + std::to_string(sold_out->available_tickets) + " tickets are available, " +
                       std::to_string(command.quantity) + " were asked for",
                   {{"available_tickets", sold_out->available_tickets}}, {}};
  }
  return Problem{status::not_found, "event_not_found", "Event not found",
                 "there is no event " + std::to_string(command.event_id), {}, {}};
}

// The answer a key already has: the first answer again for the same request, 422 for another.
Response answer_of_key(const store::KeyAnswer& earlier, const store::Keyed& key) {
  if (earlier.fingerprint != key.fingerprint) {
    return problem_response(Problem{status::unprocessable_entity, "idempotency_mismatch",
                                    "Idempotency-Key reused with another request",
                                    "this Idempotency-Key was first used with a different body", {}, {}});
  }
  Response response{static_cast<status>(earlier.status), earlier.body,
                    earlier.status >= 400 ? "application/problem+json" : "application/json", {}};
  response.headers.emplace_back("Idempotent-Replayed", "true");
  return response;
}

// A final answer that made no order, stored under the key so that a retry gets the same one.
awaitable<Response> remember_refusal(Orders* orders, std::optional<store::Keyed> key, std::string order_id,
                                     Problem problem) {
  Response response = problem_response(problem);
  if (!key) co_return response;
  const store::RecordOutcome stored =
      co_await orders->writes->remember_answer(*key, std::move(order_id), static_cast<int>(response.status),
                                               response.body);
  if (const auto* taken = std::get_if<store::KeyTaken>(&stored)) co_return answer_of_key(taken->earlier, *key);
  co_return response;
}

// Reserve, then record. Every failure from here on gives the hold back before it propagates.
awaitable<Response> place_order(Orders* orders, CreateOrder command, std::optional<store::Keyed> key,
                                std::string order_id) {
  ReserveOutcome reserved;
  std::optional<std::string> unreachable;
  ReserveRequest request{order_id, command.event_id, command.quantity, orders->settings.hold_seconds};
  try {
    reserved = co_await orders->reserves->reserve(std::move(request));
  } catch (const core::PeerUnavailable& e) {
    unreachable = e.what();
  } catch (const core::Overloaded& e) {
    unreachable = std::string("this service is overloaded: ") + e.what();
  }
  if (const auto* busy = std::get_if<InventoryBusy>(&reserved)) unreachable = "inventory is busy: " + busy->why;
  if (const auto* failed = std::get_if<ReserveFailed>(&reserved)) throw std::runtime_error(failed->why);
  if (unreachable) {
    // The reserve may have landed before its answer was lost: give it back, off the buyer's path.
    co_await give_back_later(orders, order_id);
    co_return problem_response(inventory_unavailable(*unreachable));
  }
  if (!std::holds_alternative<Hold>(reserved)) {
    Response response = co_await remember_refusal(orders, std::move(key), order_id, refusal(reserved, command));
    co_return response;
  }
  const Hold& hold = std::get<Hold>(reserved);

  if (core::failpoint_active("orders_crash_after_reserve")) {
    core::log_error("failpoint orders_crash_after_reserve: dying between reserve and insert");
    std::raise(SIGKILL);
  }

  Order order{order_id,
              command.event_id,
              command.quantity,
              command.customer_email,
              std::string(kPendingPayment),
              hold.reservation_id,
              hold.expires_at_ms,
              core::unix_ms_now(),
              {},
              {}};
  const std::string body = json::serialize(to_json(order));
  json::object created{{"order_id", order.id},
                       {"event_id", order.event_id},
                       {"quantity", order.quantity},
                       {"payment_token", command.payment_token},
                       {"reservation_id", order.reservation_id},
                       {"expires_at", core::rfc3339_from_unix_ms(order.expires_at_ms)}};
  created["customer_email"] = order.customer_email ? json::value(*order.customer_email) : json::value(nullptr);
  bool recorded = false;
  std::optional<store::KeyAnswer> earlier;
  try {
    if (core::failpoint_active("orders_insert_fail")) throw std::runtime_error("failpoint orders_insert_fail");
    const store::RecordOutcome outcome = co_await orders->writes->insert_order(order, key, body, json::serialize(created));
    recorded = std::holds_alternative<store::Recorded>(outcome);
    if (const auto* taken = std::get_if<store::KeyTaken>(&outcome)) earlier = taken->earlier;
  } catch (const std::exception& e) {
    core::log_error("order ", order_id, ": recording failed after the reserve: ", e.what());
  }
  if (earlier) {
    // Another request with this key (on another instance) answered first. This attempt's hold is its
    // own, under an order id nobody else knows: it goes back, and the buyer gets that first answer.
    co_await give_back_later(orders, order_id);
    co_return answer_of_key(*earlier, *key);
  }
  if (!recorded) {
    // The insert may have committed before its answer was lost: then the order stands.
    std::optional<Order> landed;
    try {
      landed = co_await store::find_order(orders->db, order_id);
    } catch (const std::exception& e) {
      core::log_warn("order ", order_id, ": cannot tell whether the order was recorded: ", e.what());
    }
    recorded = landed.has_value();
  }
  if (!recorded) {
    co_await give_back(orders, order_id);
    co_return problem_response(Problem{status::internal_server_error, "order_not_recorded", "Order not recorded",
                                       "the order could not be recorded; its tickets were given back, retry", {},
                                       {}});
  }
  orders->relay->wake();
  // 200, as the original service answered and its clients expect.
  Response response{status::ok, body, "application/json", {}};
  response.headers.emplace_back("Location", "/orders/" + order_id);
  co_return response;
}

}  // namespace

Problem inventory_unavailable(const std::string& why) {
  return Problem{status::service_unavailable, "inventory_unavailable", "Inventory unavailable",
                 "the inventory service did not answer in time; retry shortly (" + why + ")", {},
                 {{"Retry-After", "1"}}};
}

awaitable<Response> checkout(Orders* orders, CreateOrder command, std::optional<std::string> idempotency_key) {
  std::optional<store::Keyed> key;
  // The key is this request's until it is answered.
  const KeysInFlight::Entry in_flight =
      idempotency_key ? orders->keys_in_flight->enter(*idempotency_key) : KeysInFlight::Entry{};
  if (idempotency_key) {
    if (!in_flight) {
      co_return problem_response(Problem{status::conflict, "request_in_progress", "Request in progress",
                                         "a request with this Idempotency-Key is still being processed; retry later",
                                         {}, {{"Retry-After", "1"}}});
    }
    key = store::Keyed{*idempotency_key, command.fingerprint()};
    std::optional<store::KeyAnswer> earlier = co_await orders->key_lookups->find(key->key);
    if (earlier) co_return answer_of_key(*earlier, *key);
  }
  // The order id is made here, for this attempt alone: it is the hold's key, so a retried reserve never
  // holds twice, and an attempt that fails gives back only its own hold.
  co_return co_await place_order(orders, std::move(command), std::move(key), core::random_uuid());
}

}  // namespace flashtix::orders
