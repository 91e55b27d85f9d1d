// Payment handlers: read-only views of payments, and readiness.
#include "payments/routes.hpp"

#include <limits>

#include "core/openapi.hpp"
#include "core/service_host.hpp"
#include "core/uuid.hpp"
#include "payments/payment.hpp"
#include "payments/store.hpp"

namespace flashtix::payments {

using namespace core::handler_names;

namespace {

awaitable<Response> get_payment(Payments* payments, Request request) {
  const std::string_view id = request.path_param("id");
  if (!core::is_uuid(id)) co_return problem_response(core::invalid_request("the payment id in the path must be a UUID"));
  auto payment = co_await store::find_payment(payments->db, std::string(id));
  if (!payment) {
    co_return problem_response(
        Problem{status::not_found, "payment_not_found", "Payment not found", "there is no payment with that id", {}, {}});
  }
  co_return json_response(status::ok, to_json(*payment));
}

awaitable<Response> list_payments(Payments* payments, Request request) {
  auto page = core::parse_page(request);
  if (auto* problem = std::get_if<Problem>(&page)) co_return problem_response(*problem);
  store::PaymentFilter filter;
  filter.limit = std::get<core::PageRequest>(page).limit;
  filter.after_seq = std::get<core::PageRequest>(page).after;
  if (auto text = request.query_param("order_id")) {
    if (!core::is_uuid(*text)) co_return problem_response(core::invalid_request("'order_id' must be a UUID"));
    filter.order_id = std::string(*text);
  }
  if (auto text = request.query_param("status")) {
    if (!is_payment_status(*text)) {
      co_return problem_response(core::invalid_request("'status' must be one of pending, succeeded, failed, refunded"));
    }
    filter.status = std::string(*text);
  }
  const store::PaymentPage listed = co_await store::list_payments(payments->db, filter);
  json::array items;
  for (const Payment& payment : listed.items) items.push_back(to_json(payment));
  co_return core::page_response(std::move(items), listed.next_cursor);
}

awaitable<Response> ready(Payments* payments, Request request) {
  static_cast<void>(request);
  const bool database_up = co_await core::database_answers(payments->db);
  const bool broker_up = payments->relay->connected() && payments->consumer->connected();
  co_return core::ready_response(
      {{database_up, "the database is not answering"}, {broker_up, "the broker is not connected"}});
}

}  // namespace

core::Router make_router(Payments* payments) {
  core::Router router;
  core::add_health_route(router);
  core::add_openapi_route(router, openapi_document());
  router.probe("/ready", core::bind<ready>(payments));
  // A payment names its order and amount: admin only.
  router.get("/payments", core::Role::admin, core::bind<list_payments>(payments));
  router.get("/payments/{id}", core::Role::admin, core::bind<get_payment>(payments));
  return router;
}

}  // namespace flashtix::payments
