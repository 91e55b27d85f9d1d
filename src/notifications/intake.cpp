// Recording notifications from order events: the inbox row and the notification commit together.
#include "notifications/intake.hpp"

#include "core/log.hpp"
#include "core/uuid.hpp"
#include "notifications/delivery.hpp"
#include "notifications/store.hpp"

namespace flashtix::notifications {

using boost::asio::awaitable;
namespace messaging = core::messaging;

awaitable<void> handle_event(Notifications* notifications, messaging::Message message) {
  const bool seen = co_await messaging::already_handled(notifications->db, notifications->tables, message.id);
  if (seen) co_return;
  const bool webhook_configured = notifications->settings.webhook.has_value();
  // The id exists before the row: the webhook body carries it.
  const NewNotification notification = notification_from_event(message, core::random_uuid(), webhook_configured);
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

}  // namespace flashtix::notifications
