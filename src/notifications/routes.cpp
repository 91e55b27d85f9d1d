// Notification handlers: what was recorded for an order and how its delivery went. Read-only.
#include "notifications/routes.hpp"

#include "core/json_fields.hpp"
#include "core/openapi.hpp"
#include "core/service_host.hpp"
#include "core/uuid.hpp"
#include "notifications/store.hpp"

namespace flashtix::notifications {

using namespace core::handler_names;

namespace {

Problem notification_not_found() {
  return Problem{status::not_found,
                 "notification_not_found",
                 "Notification not found",
                 "there is no notification with that id",
                 {},
                 {}};
}

awaitable<Response> get_notification(Notifications* notifications, Request request) {
  const std::string id(request.path_param("id"));
  if (!core::is_uuid(id))
    co_return problem_response(core::invalid_request("the notification id in the path must be a UUID"));
  const auto notification = co_await store::find_notification(notifications->db, id);
  if (!notification) co_return problem_response(notification_not_found());
  co_return json_response(status::ok, to_json(*notification));
}

awaitable<Response> list_notifications(Notifications* notifications, Request request) {
  auto page = core::parse_page(request);
  if (auto* problem = std::get_if<Problem>(&page)) co_return problem_response(*problem);
  store::NotificationFilter filter;
  filter.limit = std::get<core::PageRequest>(page).limit;
  filter.after_seq = std::get<core::PageRequest>(page).after;
  if (auto text = request.query_param("order_id")) {
    if (!core::is_uuid(*text)) co_return problem_response(core::invalid_request("'order_id' must be a UUID"));
    filter.order_id = *text;
  }
  if (auto text = request.query_param("status")) {
    if (!is_notification_status(*text)) {
      co_return problem_response(core::invalid_request("'status' must be one of pending, delivered, failed, skipped"));
    }
    filter.status = *text;
  }
  const store::NotificationPage listed = co_await store::list_notifications(notifications->db, filter);
  json::array items;
  for (const Notification& notification : listed.items) items.push_back(to_json(notification));
  co_return core::page_response(std::move(items), listed.next_cursor);
}

awaitable<Response> ready(Notifications* notifications, Request request) {
  static_cast<void>(request);
  const bool database_up = co_await core::database_answers(notifications->db);
  const bool broker_up = notifications->consumer->connected();
  co_return core::ready_response(
      {{database_up, "the database is not answering"}, {broker_up, "the broker is not connected"}});
}

}  // namespace

core::Router make_router(Notifications* notifications) {
  core::Router router;
  core::add_health_route(router);
  core::add_openapi_route(router, openapi_document());
  router.probe("/ready", core::bind<ready>(notifications));
  // A notification carries its buyer's e-mail: admin only.
  router.get("/notifications", core::Role::admin, core::bind<list_notifications>(notifications));
  router.get("/notifications/{id}", core::Role::admin, core::bind<get_notification>(notifications));
  return router;
}

}  // namespace flashtix::notifications
