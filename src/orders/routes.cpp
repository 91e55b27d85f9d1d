// Order handlers: parse, run the checkout or the store, and map each outcome to its HTTP answer.
#include "orders/routes.hpp"

#include <algorithm>
#include <cctype>

#include "core/auth.hpp"
#include "core/json_fields.hpp"
#include "core/openapi.hpp"
#include "core/service_host.hpp"
#include "core/uuid.hpp"
#include "orders/checkout.hpp"
#include "orders/inventory_client.hpp"
#include "orders/order.hpp"
#include "orders/store.hpp"

namespace flashtix::orders {

using namespace core::handler_names;

namespace {

Problem order_not_found() {
  return Problem{status::not_found, "order_not_found", "Order not found", "there is no order with that id", {}, {}};
}

awaitable<Response> create_order(Orders* orders, Request request) {
  auto parsed = parse_create_order(request.body(), orders->limits);
  if (auto* problem = std::get_if<Problem>(&parsed)) co_return problem_response(*problem);
  const bool has_key = request.message.find("Idempotency-Key") != request.message.end();
  auto key = parse_idempotency_key(request.header("Idempotency-Key"), has_key);
  if (auto* problem = std::get_if<Problem>(&key)) co_return problem_response(*problem);
  co_return co_await checkout(orders, std::get<CreateOrder>(std::move(parsed)),
                              std::get<std::optional<std::string>>(std::move(key)), request.trace.traceparent());
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

// An order opens to admin and to its buyer, who sends the order_secret its POST /orders answered as
// `Authorization: Bearer <order_secret>`. Anyone else, the service role included, gets 401.
std::optional<Problem> refused_without_secret(const Request& request) {
  if (request.caller == core::Role::admin || core::bearer_token(request)) return std::nullopt;
  return core::unauthenticated("send the order's secret (order_secret) as Authorization: Bearer <order_secret>");
}

std::optional<Problem> refused_to(const Request& request, const Order& order) {
  if (request.caller == core::Role::admin) return std::nullopt;
  const auto token = core::bearer_token(request);
  if (token && core::token_matches(*token, order.secret_sha256)) return std::nullopt;
  return core::unauthenticated("the token is not this order's secret");
}

awaitable<Response> get_order(Orders* orders, Request request) {
  auto id = path_order_id(request);
  if (auto* problem = std::get_if<Problem>(&id)) co_return problem_response(*problem);
  if (auto refused = refused_without_secret(request)) co_return problem_response(*refused);
  auto order = co_await store::find_order(orders->db, std::get<std::string>(id));
  if (!order) co_return problem_response(order_not_found());
  if (auto refused = refused_to(request, *order)) co_return problem_response(*refused);
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
  if (auto refused = refused_without_secret(request)) co_return problem_response(*refused);
  auto order = co_await store::find_order(orders->db, order_id);
  if (!order) co_return problem_response(order_not_found());
  if (auto refused = refused_to(request, *order)) co_return problem_response(*refused);
  if (order->status == kCancelled) co_return json_response(status::ok, to_json(*order));
  if (order->status != kPendingPayment) co_return not_cancellable(*order);

  // Tickets first, then the order: a crash in between leaves a pending order whose hold is gone,
  // which the expiry sweep turns EXPIRED; never a cancelled order still holding tickets.
  ReleaseOutcome released;
  try {
    released = co_await orders->inventory->release(order->id, order->traceparent);
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
  const bool changed = co_await store::finish_order(orders->db, cancelled, core::events::OrderCancelled::kType);
  if (changed) orders->relay->wake();
  auto after = co_await store::find_order(orders->db, order_id);
  if (!after) co_return problem_response(order_not_found());
  if (after->status != kCancelled) co_return not_cancellable(*after);
  co_return json_response(status::ok, to_json(*after));
}

// Orders are taken while the broker is down (their events wait in the outbox), so the broker is not
// a dependency of readiness.
awaitable<Response> ready(Orders* orders, Request request) {
  static_cast<void>(request);
  const bool database_up = co_await core::database_answers(orders->db);
  const bool inventory_up = co_await orders->inventory->healthy();
  co_return core::ready_response(
      {{database_up, "the database is not answering"}, {inventory_up, "the inventory service is not answering"}});
}

}  // namespace

core::Router make_router(Orders* orders) {
  core::Router router;
  core::add_health_route(router);
  core::add_openapi_route(router, openapi_document());
  router.probe("/ready", core::bind<ready>(orders));
  router.post("/orders", core::bind<create_order>(orders));
  // Every order with its buyer's e-mail: admin only.
  router.get("/orders", core::Role::admin, core::bind<list_orders>(orders));
  router.get("/orders/{id}", core::bind<get_order>(orders));
  router.post("/orders/{id}/cancel", core::bind<cancel_order>(orders));
  return router;
}

}  // namespace flashtix::orders
