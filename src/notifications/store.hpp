// The notification service's SQL, each statement named and beside the function that runs it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/pg.hpp"
#include "notifications/notification.hpp"

namespace flashtix::notifications::store {

using boost::asio::awaitable;
using core::pg::Pool;

// Records a notification unless its order already has one of that kind; returns a row only when it
// inserted. A statement for the consumer's inbox transaction.
core::pg::Statement insert_notification(const NewNotification& notification);

awaitable<std::optional<Notification>> find_notification(Pool* db, std::string id);

struct NotificationFilter {
  std::optional<std::string> order_id;
  std::optional<std::string> status;
  std::int64_t after_seq = 0;
  std::int64_t limit = 50;
};
using NotificationPage = core::pg::Page<Notification>;
awaitable<NotificationPage> list_notifications(Pool* db, NotificationFilter filter);

// A pending notification taken for one attempt.
struct DueNotification {
  std::string id;
  std::int64_t attempts = 0;  // including this one; also the claim's fencing token
  std::string payload;        // the webhook body
};

// Takes up to `batch` due pending notifications for an attempt each: counts the attempt and moves the
// rows' next attempt `lease` ahead, so that no other instance takes them meanwhile, and one that dies
// mid-attempt leaves them to be retried once the lease runs out.
awaitable<std::vector<DueNotification>> claim_due(Pool* db, int batch, std::chrono::milliseconds lease);

awaitable<void> mark_delivered(Pool* db, std::string id);
// An attempt failed: `status` pending with the next attempt `retry_after` from now, or failed. Nothing
// when the row was claimed again since (its lease ran out): the newer attempt decides.
awaitable<void> record_failure(Pool* db, std::string id, std::int64_t attempts, std::string status,
                               std::chrono::milliseconds retry_after, std::string error);

}  // namespace flashtix::notifications::store
