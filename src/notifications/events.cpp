// Recording notifications from order events: the inbox row and the notification commit together.
#include "notifications/events.hpp"

#include "core/log.hpp"
#include "core/messaging/inbox.hpp"
#include "core/uuid.hpp"
#include "notifications/jobs.hpp"
#include "notifications/store.hpp"

namespace flashtix::notifications {

using boost::asio::awaitable;
namespace events = core::events;
namespace messaging = core::messaging;

namespace {

// Every ending of an order is told the same way: one notification per order and event type.
awaitable<void> record_notification(Notifications* notifications, messaging::Message message,
                                    events::OrderEnded ended) {
  const bool webhook_configured = notifications->settings.webhook.has_value();
  // The id exists before the row: the webhook body carries it.
  const NewNotification notification =
      notification_from_event(message, ended, core::random_uuid(), webhook_configured);
  std::vector<core::pg::Statement> effect;
  effect.push_back(store::insert_notification(notification));
  const auto results =
      co_await messaging::handle_once(notifications->db, notifications->tables, std::move(message), std::move(effect));
  const bool inserted = results && !results->front().empty();
  if (!inserted) {
    core::log_debug("order ", notification.order_id, " already has its ", notification.kind, " notification");
    co_return;
  }
  core::log_debug("recorded ", notification.kind, " notification ", notification.id, " for order ",
                  notification.order_id);
  if (notification.status == kPending) notifications->doorbell->ring();
}

// What the notification service does with each event its queue gets
// (events::consumed_by(events::kNotifications)).
const messaging::EventRoutes<Notifications> kRoutes{events::kNotifications,
                                                    {
                                                        messaging::on<events::OrderConfirmed, record_notification>(),
                                                        messaging::on<events::OrderCancelled, record_notification>(),
                                                        messaging::on<events::OrderExpired, record_notification>(),
                                                    }};

}  // namespace

const messaging::EventRoutes<Notifications>& event_routes() { return kRoutes; }

awaitable<void> handle_event(Notifications* notifications, messaging::Message message) {
  return kRoutes.handle(notifications, std::move(message));
}

}  // namespace flashtix::notifications
