// The checkout saga. Every failure after the reserve gives the tickets back before it is answered,
// unless the order may have been recorded.
#include "orders/checkout.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <algorithm>
#include <atomic>
#include <csignal>
#include <exception>
#include <functional>
#include <stdexcept>

#include "core/auth.hpp"
#include "core/backoff.hpp"
#include "core/buyer.hpp"
#include "core/doorbell.hpp"
#include "core/failpoint.hpp"
#include "core/log.hpp"
#include "core/secure_random.hpp"
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

// Gives back what the reserve of `reserved` may hold, also when that reserve is still on its way (it then
// finds its key released and holds nothing). Whether inventory took it: false when inventory or its
// database could not be reached.
awaitable<bool> try_give_back(Orders* orders, const ReserveRequest& reserved) {
  static std::atomic<bool> failed_once{false};
  try {
    if (core::failpoint_active("orders_first_give_back_fails") && !failed_once.exchange(true)) {
      throw core::PeerUnavailable("failpoint orders_first_give_back_fails");
    }
    co_await orders->inventory->release(reserved);
    co_return true;
  } catch (const std::exception& e) {
    core::log_warn("order ", reserved.key, ": giving its hold back failed, trying again: ", e.what());
  }
  co_return false;
}

// Runs `attempt` after `first_wait`, then after `pause`, twice that and so on (at most `longest`),
// until it reports done or the next try would come at or after `give_up_at`. Whether it was done.
awaitable<bool> retry_until(std::chrono::milliseconds first_wait, std::chrono::milliseconds pause,
                            std::chrono::milliseconds longest, std::chrono::steady_clock::time_point give_up_at,
                            std::function<awaitable<bool>()> attempt) {
  core::Backoff backoff(pause, longest);
  std::chrono::milliseconds wait = first_wait;
  while (std::chrono::steady_clock::now() + wait < give_up_at) {
    if (wait.count() > 0) co_await core::sleep_for(wait);
    const bool done = co_await attempt();
    if (done) co_return true;
    wait = backoff.next();
  }
  co_return false;
}

// Tries again with a growing pause (inventory or its database may be restarting) until it is taken or
// the hold would have expired on its own anyway. The deadline the reserve carried keeps a reserve that
// is still on its way from holding late meanwhile.
awaitable<void> keep_giving_back(Orders* orders, ReserveRequest reserved) {
  using namespace std::chrono_literals;
  const auto expires = std::chrono::steady_clock::now() + std::chrono::seconds(reserved.hold_seconds);
  std::function<awaitable<bool>()> attempt = [orders, reserved] { return try_give_back(orders, reserved); };
  const bool taken = co_await retry_until(0ms, 250ms, 10s, expires, std::move(attempt));
  if (!taken) core::log_warn("order ", reserved.key, ": its hold could not be given back; it expires on its own");
}

// Off the buyer's path.
awaitable<void> give_back_later(Orders* orders, ReserveRequest reserved) {
  const auto executor = co_await boost::asio::this_coro::executor;
  boost::asio::co_spawn(executor, keep_giving_back(orders, std::move(reserved)), core::LogIfFailed{"giving a hold back"});
}

// Once before the answer; if that fails, again and again off the buyer's path.
awaitable<void> give_back(Orders* orders, ReserveRequest reserved) {
  const bool taken = co_await try_give_back(orders, reserved);
  if (!taken) co_await give_back_later(orders, std::move(reserved));
}

// Whether the database could tell if the order of `reserved` was recorded; if it was not, its hold goes
// back.
awaitable<bool> settle_if_known(Orders* orders, ReserveRequest reserved) {
  try {
    const std::optional<Order> recorded = co_await store::find_order(orders->db, reserved.key);
    if (recorded) {
      core::log_info("order ", reserved.key, ": it was recorded after all, so it keeps its hold");
      co_return true;
    }
  } catch (const std::exception& e) {
    core::log_warn("order ", reserved.key, ": still cannot tell whether it was recorded: ", e.what());
    co_return false;
  }
  core::log_info("order ", reserved.key, ": it was not recorded, so its hold goes back");
  co_await give_back(orders, std::move(reserved));
  co_return true;
}

// An order whose insert may have committed keeps its hold until the database can tell: the order is read
// again once any transaction of that insert must have ended, and its hold goes back only if no order was
// recorded. If the database cannot tell within the hold time, the hold has expired by then anyway (as
// after a crash of this process, which forgets what it was reconciling).
awaitable<void> reconcile(Orders* orders, ReserveRequest reserved) {
  using namespace std::chrono_literals;
  const auto give_up_at = std::chrono::steady_clock::now() + std::chrono::seconds(reserved.hold_seconds);
  const std::chrono::milliseconds settled = orders->db->settled_after();
  std::function<awaitable<bool>()> attempt = [orders, reserved] { return settle_if_known(orders, reserved); };
  const bool known = co_await retry_until(settled, std::min<std::chrono::milliseconds>(settled * 2, 60s), 60s,
                                          give_up_at, std::move(attempt));
  if (!known) core::log_warn("order ", reserved.key, ": could not tell whether it was recorded within its hold time");
}

// Inventory's refusals (sold out, no such event, the per-buyer limit, outside the sales window) as this
// service's problems.
Problem refusal(const ReserveOutcome& outcome, const CreateOrder& command) {
  if (const auto* required = std::get_if<BuyerRequired>(&outcome)) {
    return Problem{status::bad_request, "buyer_required", "Buyer required",
                   "event " + std::to_string(command.event_id) + " sells at most " +
                       std::to_string(required->max_tickets_per_buyer) +
                       " tickets per buyer: give the buyer's 'customer_email'",
                   {{"max_tickets_per_buyer", required->max_tickets_per_buyer}}, {}};
  }
  if (const auto* reached = std::get_if<BuyerLimitReached>(&outcome)) {
    return Problem{status::conflict, "buyer_limit_reached", "Buyer limit reached",
                   "this buyer holds or bought " + std::to_string(reached->buyer_tickets) + " tickets of event " +
                       std::to_string(command.event_id) + "; " + std::to_string(command.quantity) +
                       " more would pass its limit of " + std::to_string(reached->max_tickets_per_buyer),
                   {{"max_tickets_per_buyer", reached->max_tickets_per_buyer},
                    {"buyer_tickets", reached->buyer_tickets}},
                   {}};
  }
  if (const auto* closed = std::get_if<NotOnSale>(&outcome)) {
    return Problem{status::conflict, "not_on_sale", "Not on sale", closed->detail, closed->sales, {}};
  }
  if (const auto* refused = std::get_if<ItemsRefused>(&outcome)) return refused->problem;
  if (const auto* sold_out = std::get_if<SoldOut>(&outcome)) {
    if (sold_out->ticket_type_id) {
      return Problem{status::conflict, "sold_out", "Sold out",
                     "only " + std::to_string(sold_out->available_tickets) + " tickets of type " +
                         std::to_string(*sold_out->ticket_type_id) + " are left; the items ask for more",
                     {{"available_tickets", sold_out->available_tickets}, {"ticket_type_id", *sold_out->ticket_type_id}},
                     {}};
    }
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
                    earlier.status >= 400 ? "application/problem+json" : "application/json", {}, {}};
  response.headers.emplace_back("Idempotent-Replayed", "true");
  // A replayed order is answered as it was the first time: 200 with where the order is.
  if (earlier.status == 200) {
    boost::system::error_code error;
    const json::value body = json::parse(earlier.body, error);
    const json::value* id = !error && body.is_object() ? body.get_object().if_contains("order_id") : nullptr;
    if (id && id->is_string()) response.headers.emplace_back("Location", "/orders/" + std::string(id->get_string()));
  }
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

// The reserve of one attempt, as far as this service could tell: inventory's answer, or why it is unknown.
struct ReserveAttempt {
  ReserveOutcome reserved;
  std::optional<std::string> unreachable;  // no answer: the hold may exist, or still be made
  std::exception_ptr failed;               // an answer this service could not read, or another fault
};

// Never throws: the reserve runs beside the key's lookup, and neither may cut the other short.
awaitable<ReserveAttempt> reserve(Orders* orders, ReserveRequest request) {
  ReserveAttempt attempt;
  try {
    attempt.reserved = co_await orders->reserves->reserve(request);
  } catch (const core::PeerUnavailable& e) {
    attempt.unreachable = e.what();
  } catch (const core::Overloaded& e) {
    attempt.unreachable = std::string("this service is overloaded: ") + e.what();
  } catch (...) {
    attempt.failed = std::current_exception();
  }
  if (const auto* busy = std::get_if<InventoryBusy>(&attempt.reserved)) {
    attempt.unreachable = "inventory is busy: " + busy->why;
  }
  if (const auto* failed = std::get_if<ReserveFailed>(&attempt.reserved)) {
    attempt.failed = std::make_exception_ptr(std::runtime_error(failed->why));
  }
  if (core::failpoint_active("orders_reserve_answer_unreadable") && !attempt.unreachable && !attempt.failed) {
    attempt.failed = std::make_exception_ptr(std::runtime_error("failpoint orders_reserve_answer_unreadable"));
  }
  // Without an answer `reserved` is an empty Hold, which says nothing.
  if (const auto* hold = std::get_if<Hold>(&attempt.reserved);
      hold && !attempt.unreachable && !attempt.failed && hold->status != "HELD") {
    // This attempt's key was released before its reserve committed (an earlier give-back): nothing is held.
    attempt.unreachable = "the hold was given back before it was made (" + hold->status + ")";
  }
  co_return attempt;
}

// Gives back whatever an attempt that will make no order may hold: its hold before the answer (so that a
// replayed request holds nothing once answered), a reserve of unknown outcome off the buyer's path.
awaitable<void> give_back_unused(Orders* orders, const ReserveRequest& request, const ReserveAttempt& attempt) {
  if (attempt.unreachable || attempt.failed) {
    co_await give_back_later(orders, request);
  } else if (std::holds_alternative<Hold>(attempt.reserved)) {
    co_await give_back(orders, request);
  }
}

// A key's stored answer, or the failure of its lookup. Never throws, like reserve().
struct KeyLookup {
  std::optional<store::KeyAnswer> earlier;
  std::exception_ptr failed;
};

awaitable<KeyLookup> look_up(Orders* orders, std::string key) {
  KeyLookup lookup;
  try {
    if (core::failpoint_active("orders_key_lookup_fails")) {
      throw core::pg::Unavailable("failpoint orders_key_lookup_fails");
    }
    lookup.earlier = co_await orders->key_lookups->find(std::move(key));
  } catch (...) {
    lookup.failed = std::current_exception();
  }
  co_return lookup;
}

// Record the order of a reserve. Every failure from here on gives the hold back before it is answered,
// unless the order may have been recorded.
awaitable<Response> place_order(Orders* orders, CreateOrder command, std::optional<store::Keyed> key,
                                ReserveRequest request, ReserveAttempt attempt) {
  const std::string& order_id = request.key;
  const std::string& traceparent = request.traceparent;
  const ReserveOutcome& reserved = attempt.reserved;
  if (attempt.failed || attempt.unreachable) {
    // The reserve may have landed before its answer was lost or could not be read, or may still land: give
    // it back, off the buyer's path.
    co_await give_back_later(orders, request);
    if (attempt.failed) std::rethrow_exception(attempt.failed);
    co_return problem_response(inventory_unavailable(*attempt.unreachable));
  }
  if (std::holds_alternative<NotOnSale>(reserved)) {
    // Not a final answer, so not kept under the key: the same key orders once the sale opens.
    co_return problem_response(refusal(reserved, command));
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

  // The buyer's key to this order (reading, cancelling); only its digest is stored with the order.
  const std::string secret = core::random_hex(32);
  Order order{order_id,
              command.event_id,
              command.quantity,
              command.customer_email,
              std::string(kPendingPayment),
              hold.reservation_id,
              hold.expires_at_ms,
              core::unix_ms_now(),
              {},
              {},
              core::sha256_hex(secret),
              traceparent,
              hold.items,
              hold.amount_minor,
              hold.currency};
  json::object answer = to_json(order);
  answer["order_secret"] = secret;
  const std::string body = json::serialize(answer);
  const std::string created = core::events::payload_text(created_event(order, command.payment_token));
  bool recorded = false;
  // A failure the database reported rolled the insert back, and one in this service's queue never sent
  // it; any other (a broken connection, a deadline) leaves it unknown whether the insert committed.
  bool maybe_recorded = false;
  std::optional<store::KeyAnswer> earlier;
  try {
    if (core::failpoint_active("orders_insert_fail")) throw core::pg::Error("XX000", "failpoint orders_insert_fail");
    if (core::failpoint_active("orders_insert_unknown")) throw core::pg::Unavailable("failpoint orders_insert_unknown");
    const store::RecordOutcome outcome = co_await orders->writes->insert_order(order, key, body, created);
    recorded = std::holds_alternative<store::Recorded>(outcome);
    if (const auto* taken = std::get_if<store::KeyTaken>(&outcome)) earlier = taken->earlier;
    if (core::failpoint_active("orders_insert_answer_lost")) {
      recorded = false;
      throw core::pg::Unavailable("failpoint orders_insert_answer_lost");
    }
  } catch (const core::pg::Error& e) {
    core::log_error("order ", order_id, ": the database refused to record it after the reserve: ", e.what());
  } catch (const core::Overloaded& e) {
    core::log_error("order ", order_id, ": recording it was not started in time: ", e.what());
  } catch (const std::exception& e) {
    core::log_error("order ", order_id, ": recording it after the reserve failed: ", e.what());
    maybe_recorded = true;
  }
  if (earlier) {
    // Another request with this key (on another instance) answered first. This attempt's hold is its
    // own, under an order id nobody else knows: it goes back, and the buyer gets that first answer.
    co_await give_back_later(orders, request);
    co_return answer_of_key(*earlier, *key);
  }
  if (maybe_recorded) {
    // The insert may have committed before its answer was lost: then the order stands.
    try {
      if (core::failpoint_active("orders_reread_fail")) throw core::pg::Unavailable("failpoint orders_reread_fail");
      const std::optional<Order> landed = co_await store::find_order(orders->db, order_id);
      recorded = landed.has_value();
    } catch (const std::exception& e) {
      core::log_warn("order ", order_id, ": cannot tell whether it was recorded: ", e.what());
    }
  }
  if (!recorded && maybe_recorded) {
    // Not seen yet is not "not recorded": the insert's transaction may still commit. Never give back the
    // hold of an order that may exist; the reconciler decides once the database can tell.
    const auto executor = co_await boost::asio::this_coro::executor;
    boost::asio::co_spawn(executor, reconcile(orders, request), core::LogIfFailed{"reconciling an order"});
    Response response = problem_response(
        Problem{status::internal_server_error, "order_outcome_unknown", "Order outcome unknown",
                "the order may have been recorded; its tickets stay held until that is known. Read it at its "
                "Location (with its order_secret), or retry with the same Idempotency-Key",
                {{"order_id", order_id}, {"order_secret", secret}}, {}});
    response.headers.emplace_back("Location", "/orders/" + order_id);
    co_return response;
  }
  if (!recorded) {
    co_await give_back(orders, request);
    co_return problem_response(Problem{status::internal_server_error, "order_not_recorded", "Order not recorded",
                                       "the order could not be recorded; its tickets are given back, retry", {},
                                       {}});
  }
  orders->relay->wake();
  // 200, as the original service answered and its clients expect.
  Response response{status::ok, body, "application/json", {}, {}};
  response.headers.emplace_back("Location", "/orders/" + order_id);
  co_return response;
}

}  // namespace

Problem inventory_unavailable(const std::string& why) {
  return Problem{status::service_unavailable, "inventory_unavailable", "Inventory unavailable",
                 "the inventory service did not answer in time; retry shortly (" + why + ")", {},
                 {{"Retry-After", "1"}}};
}

awaitable<Response> checkout(Orders* orders, CreateOrder command, std::optional<std::string> idempotency_key,
                             std::string traceparent) {
  using namespace boost::asio::experimental::awaitable_operators;
  // The key is this request's until it is answered.
  const KeysInFlight::Entry in_flight =
      idempotency_key ? orders->keys_in_flight->enter(*idempotency_key) : KeysInFlight::Entry{};
  if (idempotency_key && !in_flight) {
    co_return problem_response(Problem{status::conflict, "request_in_progress", "Request in progress",
                                       "a request with this Idempotency-Key is still being processed; retry later",
                                       {}, {{"Retry-After", "1"}}});
  }
  // The order id is made here, for this attempt alone: it is the hold's key, so a retried reserve never
  // holds twice, and an attempt that fails gives back only its own hold.
  ReserveRequest request{core::random_uuid(),
                         command.event_id,
                         command.quantity,
                         orders->limits.hold_seconds,
                         command.customer_email ? core::normalized_email(*command.customer_email) : std::nullopt,
                         std::move(traceparent),
                         command.items};
  if (!idempotency_key) {
    ReserveAttempt attempt = co_await reserve(orders, request);
    co_return co_await place_order(orders, std::move(command), std::nullopt, std::move(request), std::move(attempt));
  }
  // The key's lookup and the reserve run side by side, so that a new order waits for the longer of the two
  // instead of both. A key answered before (a retry) gets that answer, and the reserve made meanwhile, under
  // an order id nobody else knows, is given back.
  store::Keyed key{*idempotency_key, command.fingerprint()};
  auto [lookup, attempt] = co_await (look_up(orders, key.key) && reserve(orders, request));
  if (lookup.failed || lookup.earlier) {
    co_await give_back_unused(orders, request, attempt);
    if (lookup.failed) std::rethrow_exception(lookup.failed);
    co_return answer_of_key(*lookup.earlier, key);
  }
  co_return co_await place_order(orders, std::move(command), std::move(key), std::move(request), std::move(attempt));
}

}  // namespace flashtix::orders
