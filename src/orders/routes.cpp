// Order handlers. POST /orders: claim the key, reserve over HTTP, record the order; compensate on failure.
#include "orders/routes.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <algorithm>
#include <cctype>
#include <csignal>

#include "core/failpoint.hpp"
#include "core/json_fields.hpp"
#include "core/log.hpp"
#include "core/service_host.hpp"
#include "core/time.hpp"
#include "core/uuid.hpp"
#include "orders/inventory_client.hpp"
#include "orders/order.hpp"
#include "orders/store.hpp"

namespace flashtix::orders {

using boost::asio::awaitable;
using core::http::status;
using core::json_response;
using core::Problem;
using core::problem_response;
using core::Request;
using core::Response;
namespace json = core::json;

namespace {

Problem order_not_found() {
  return Problem{status::not_found, "order_not_found", "Order not found", "there is no order with that id", {}, {}};
}

Problem inventory_unavailable(const std::string& why) {
  return Problem{status::service_unavailable, "inventory_unavailable", "Inventory unavailable",
                 "the inventory service did not answer in time; retry shortly (" + why + ")", {},
                 {{"Retry-After", "1"}}};
}

// Gives a hold back after a failed order. Retried by the client; if even that fails, the hold's
// expiry returns the tickets.
awaitable<void> compensate(Orders* orders, std::string order_id, std::optional<std::string> key) {
  try {
    co_await orders->inventory->release(order_id);
  } catch (const std::exception& e) {
    core::log_warn("order ", order_id, ": compensation failed, the hold will expire on its own: ", e.what());
  }
  // The claim goes too, so that a retry with the same key starts a fresh order.
  if (key) co_await store::drop_claim(orders->db, *key, order_id);
}

// The answer for a finished attempt; recorded under the key so a retry gets the same one.
awaitable<Response> answer_and_remember(Orders* orders, std::optional<std::string> key, Problem problem) {
  Response response = problem_response(problem);
  if (key) co_await store::finish_key(orders->db, *key, static_cast<int>(response.status), response.body);
  co_return response;
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

Response replay(const store::Replay& replay) {
  Response response{static_cast<status>(replay.status), replay.body,
                    replay.status >= 400 ? "application/problem+json" : "application/json", {}};
  response.headers.emplace_back("Idempotent-Replayed", "true");
  return response;
}

// After the claim: reserve, then record. Every failure from here on compensates before it propagates.
awaitable<Response> place_order(Orders* orders, CreateOrder command, std::optional<std::string> key,
                                std::string order_id) {
  ReserveOutcome reserved;
  std::optional<std::string> unreachable;
  try {
    reserved = co_await orders->inventory->reserve(order_id, command.event_id, command.quantity,
                                                   orders->settings.hold_seconds);
  } catch (const core::PeerUnavailable& e) {
    unreachable = e.what();
  }
  if (unreachable) {
    // The reserve may have landed before its answer was lost: give it back, off the buyer's path.
    const auto executor = co_await boost::asio::this_coro::executor;
    boost::asio::co_spawn(executor, compensate(orders, order_id, key), core::LogIfFailed{"compensation"});
    co_return problem_response(inventory_unavailable(*unreachable));
  }
  if (!std::holds_alternative<Hold>(reserved)) {
    const Problem problem = refusal(reserved, command);
    Response response = co_await answer_and_remember(orders, key, problem);
    co_return response;
  }
  const Hold& hold = std::get<Hold>(reserved);

  if (core::failpoint_active("orders_crash_after_reserve")) {
    core::log_error("failpoint orders_crash_after_reserve: dying between reserve and insert");
    std::raise(SIGKILL);
  }

  Order order{order_id,      command.event_id, command.quantity,        command.customer_email,
              std::string(kPendingPayment), hold.reservation_id, hold.expires_at_ms, core::unix_ms_now(), {}, {}};
  const std::string body = json::serialize(to_json(order));
  json::object created{{"order_id", order.id},
                       {"event_id", order.event_id},
                       {"quantity", order.quantity},
                       {"payment_token", command.payment_token},
                       {"reservation_id", order.reservation_id},
                       {"expires_at", core::rfc3339_from_unix_ms(order.expires_at_ms)}};
  created["customer_email"] = order.customer_email ? json::value(*order.customer_email) : json::value(nullptr);
  bool recorded = false;
  try {
    if (core::failpoint_active("orders_insert_fail")) throw std::runtime_error("failpoint orders_insert_fail");
    recorded = co_await store::insert_order(orders->db, order, key, body, json::serialize(created));
  } catch (const std::exception& e) {
    core::log_error("order ", order_id, ": recording failed after the reserve, releasing the hold: ", e.what());
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
    co_await compensate(orders, order_id, key);
    co_return problem_response(Problem{status::internal_server_error, "order_not_recorded", "Order not recorded",
                                       "the order could not be recorded; its tickets were given back, retry", {},
                                       {}});
  }
  orders->relay->wake();
  Response response{status::created, body, "application/json", {}};
  response.headers.emplace_back("Location", "/orders/" + order_id);
  co_return response;
}

awaitable<Response> create_order(Orders* orders, Request request) {
  auto parsed = parse_create_order(request.body(), orders->settings);
  if (auto* problem = std::get_if<Problem>(&parsed)) co_return problem_response(*problem);
  const bool has_key = request.message.find("Idempotency-Key") != request.message.end();
  auto key = parse_idempotency_key(request.header("Idempotency-Key"), has_key);
  if (auto* problem = std::get_if<Problem>(&key)) co_return problem_response(*problem);
  CreateOrder command = std::get<CreateOrder>(std::move(parsed));
  std::optional<std::string> idempotency_key = std::get<std::optional<std::string>>(std::move(key));

  // The order id exists before the reserve: it is the hold's key, so a retried reserve never holds twice.
  std::string order_id = core::random_uuid();
  if (idempotency_key) {
    std::string fingerprint = command.fingerprint();
    const store::ClaimOutcome claim =
        co_await store::claim_key(orders->db, *idempotency_key, std::move(fingerprint), order_id);
    if (const auto* earlier = std::get_if<store::Replay>(&claim)) co_return replay(*earlier);
    if (std::holds_alternative<store::KeyMismatch>(claim)) {
      co_return problem_response(Problem{status::unprocessable_entity, "idempotency_mismatch",
                                         "Idempotency-Key reused with another request",
                                         "this Idempotency-Key was first used with a different body", {}, {}});
    }
    if (std::holds_alternative<store::InProgress>(claim)) {
      co_return problem_response(Problem{status::conflict, "request_in_progress", "Request in progress",
                                         "a request with this Idempotency-Key is still being processed; retry later",
                                         {}, {{"Retry-After", "1"}}});
    }
  }
  co_return co_await place_order(orders, std::move(command), std::move(idempotency_key), std::move(order_id));
}

core::Result<std::string> path_order_id(const Request& request) {
  const std::string_view id = request.path_param("id");
  if (!core::is_uuid(id)) return core::invalid_request("the order id in the path must be a UUID");
  // Canonical (lower-case) form: it is also the hold's reservation key in inventory.
  std::string canonical(id);
  std::transform(canonical.begin(), canonical.end(), canonical.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return canonical;
}

awaitable<Response> get_order(Orders* orders, Request request) {
  auto id = path_order_id(request);
  if (auto* problem = std::get_if<Problem>(&id)) co_return problem_response(*problem);
  auto order = co_await store::find_order(orders->db, std::get<std::string>(id));
  if (!order) co_return problem_response(order_not_found());
  co_return json_response(status::ok, to_json(*order));
}

awaitable<Response> list_orders(Orders* orders, Request request) {
  auto page = core::parse_page(request);
  if (auto* problem = std::get_if<Problem>(&page)) co_return problem_response(*problem);
  store::OrderFilter filter;
  filter.limit = std::get<core::PageRequest>(page).limit;
  filter.after_seq = std::get<core::PageRequest>(page).after;
  if (auto text = request.query_param("event_id")) {
    filter.event_id = core::parse_int(*text, 1, std::numeric_limits<std::int64_t>::max());
    if (!filter.event_id) co_return problem_response(core::invalid_request("'event_id' must be a positive integer"));
  }
  if (auto text = request.query_param("status")) {
    if (!is_order_status(*text)) {
      co_return problem_response(core::invalid_request(
          "'status' must be one of PENDING_PAYMENT, CONFIRMED, CANCELLED, EXPIRED"));
    }
    filter.status = *text;
  }
  const store::OrderPage listed = co_await store::list_orders(orders->db, filter);
  json::array items;
  for (const Order& order : listed.items) items.push_back(to_json(order));
  co_return core::page_response(std::move(items), listed.next_cursor);
}

Response not_cancellable(const Order& order) {
  return problem_response(Problem{status::conflict, "order_not_cancellable", "Order cannot be cancelled",
                                  "the order is " + order.status + "; only a PENDING_PAYMENT order can be cancelled",
                                  {{"order_status", order.status}}, {}});
}

awaitable<Response> cancel_order(Orders* orders, Request request) {
  auto id = path_order_id(request);
  if (auto* problem = std::get_if<Problem>(&id)) co_return problem_response(*problem);
  const std::string order_id = std::get<std::string>(id);
  auto order = co_await store::find_order(orders->db, order_id);
  if (!order) co_return problem_response(order_not_found());
  if (order->status == kCancelled) co_return json_response(status::ok, to_json(*order));
  if (order->status != kPendingPayment) co_return not_cancellable(*order);

  // Tickets first, then the order: a crash in between leaves a pending order whose hold is gone,
  // which the expiry sweep turns EXPIRED; never a cancelled order still holding tickets.
  ReleaseOutcome released;
  try {
    released = co_await orders->inventory->release(order->id);
  } catch (const core::PeerUnavailable& e) {
    co_return problem_response(inventory_unavailable(e.what()));
  }
  if (std::holds_alternative<HoldSold>(released)) {
    order->status = std::string(kConfirmed);
    co_return not_cancellable(*order);
  }
  Order cancelled = *order;
  cancelled.status = std::string(kCancelled);
  cancelled.status_reason = std::string(kReasonCancelledByCustomer);
  const bool changed = co_await store::finish_order(orders->db, cancelled, core::messaging::kOrderCancelled);
  if (changed) orders->relay->wake();
  auto after = co_await store::find_order(orders->db, order_id);
  if (!after) co_return problem_response(order_not_found());
  if (after->status != kCancelled) co_return not_cancellable(*after);
  co_return json_response(status::ok, to_json(*after));
}

awaitable<Response> ready(Orders* orders, Request request) {
  static_cast<void>(request);
  const bool database_up = co_await core::database_answers(orders->db);
  const bool inventory_up = co_await orders->inventory->healthy();
  const bool broker_up = orders->relay->connected() && orders->consumer->connected();
  co_return core::ready_response({{database_up, "the database is not answering"},
                                  {inventory_up, "the inventory service is not answering"},
                                  {broker_up, "the broker is not connected"}});
}

}  // namespace

core::Router make_router(Orders* orders) {
  core::Router router;
  core::add_health_route(router);
  router.get("/ready", core::bind<ready>(orders));
  router.post("/orders", core::bind<create_order>(orders));
  router.get("/orders", core::bind<list_orders>(orders));
  router.get("/orders/{id}", core::bind<get_order>(orders));
  router.post("/orders/{id}/cancel", core::bind<cancel_order>(orders));
  return router;
}

}  // namespace flashtix::orders
