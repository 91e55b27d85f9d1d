// Delivery of recorded notifications to the webhook: a loop on one worker claims due rows, POSTs them and
// records each outcome, retrying on the RetryPolicy's schedule.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>

#include "notifications/notifications.hpp"
#include "notifications/webhook_client.hpp"

namespace flashtix::notifications {

// Runs until the event loop stops. Safe with several instances: rows are claimed with SKIP LOCKED and a
// lease, and a receiver can drop a repeated POST by its X-FlashTix-Notification-Id.
boost::asio::awaitable<void> deliver_notifications(Notifications* notifications, WebhookClient* webhook);

}  // namespace flashtix::notifications
