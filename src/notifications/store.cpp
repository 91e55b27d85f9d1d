// Notification SQL. Recording is an INSERT ... ON CONFLICT, delivery claims rows with SKIP LOCKED.
#include "notifications/store.hpp"

namespace flashtix::notifications::store {

// A store is written in core::pg's terms (Query, Statement, Result, params) throughout.
using namespace core::pg;

namespace {

Notification notification_from(const Result& rows, int row) {
  Notification notification;
  notification.id = std::string(rows.text(row, "id"));
  notification.order_id = std::string(rows.text(row, "order_id"));
  notification.kind = std::string(rows.text(row, "kind"));
  if (!rows.is_null(row, "recipient")) notification.recipient = std::string(rows.text(row, "recipient"));
  notification.status = std::string(rows.text(row, "status"));
  notification.attempts = rows.integer(row, "attempts");
  if (!rows.is_null(row, "last_error")) notification.last_error = std::string(rows.text(row, "last_error"));
  notification.created_at_ms = rows.integer(row, "created_at_ms");
  if (!rows.is_null(row, "delivered_at_ms")) notification.delivered_at_ms = rows.integer(row, "delivered_at_ms");
  notification.payload = std::string(rows.text(row, "payload"));
  return notification;
}

#define FLASHTIX_NOTIFICATION_COLUMNS                                  \
  "id, seq, order_id, kind, recipient, status, attempts, last_error, " \
  "payload::text AS payload, "                                         \
  "(extract(epoch FROM created_at) * 1000)::bigint AS created_at_ms, " \
  "(extract(epoch FROM delivered_at) * 1000)::bigint AS delivered_at_ms "

constexpr Query kInsertNotification{
    "insert_notification",
    "INSERT INTO notifications.notifications "
    "    (id, order_id, kind, message_id, recipient, payload, status, last_error) "
    "VALUES ($1::uuid, $2::uuid, $3::text, $4::uuid, $5::text, $6::jsonb, $7::text, $8::text) "
    "ON CONFLICT (order_id, kind) DO NOTHING RETURNING id"};

constexpr Query kSelectNotification{"select_notification", "SELECT " FLASHTIX_NOTIFICATION_COLUMNS
                                                           "FROM notifications.notifications WHERE id = $1::uuid"};

constexpr Query kListNotifications{"list_notifications",
                                   "SELECT " FLASHTIX_NOTIFICATION_COLUMNS
                                   "FROM notifications.notifications "
                                   "WHERE ($1::uuid IS NULL OR order_id = $1::uuid) "
                                   "  AND ($2::text IS NULL OR status = $2::text) AND seq > $3::bigint "
                                   "ORDER BY seq LIMIT $4::bigint"};

// SKIP LOCKED: another instance's delivery loop takes the next rows instead of waiting for these; the
// lease then keeps them off everyone's list until this attempt is recorded.
constexpr Query kClaimDue{
    "claim_due_notifications",
    "UPDATE notifications.notifications "
    "   SET next_attempt_at = now() + $2::bigint * interval '1 millisecond', attempts = attempts + 1, "
    "       updated_at = now() "
    " WHERE id IN (SELECT id FROM notifications.notifications "
    "               WHERE status = 'pending' AND next_attempt_at <= now() "
    "               ORDER BY next_attempt_at LIMIT $1::integer FOR UPDATE SKIP LOCKED) "
    "RETURNING id, attempts, payload::text AS payload"};

// A 2xx is the truth whichever attempt got it, so it is not fenced by the attempt count.
constexpr Query kMarkDelivered{
    "mark_notification_delivered",
    "UPDATE notifications.notifications "
    "   SET status = 'delivered', delivered_at = now(), last_error = NULL, updated_at = now() "
    " WHERE id = $1::uuid AND status = 'pending'"};

constexpr Query kRecordFailure{
    "record_notification_failure",
    "UPDATE notifications.notifications "
    "   SET status = $3::text, next_attempt_at = now() + $4::bigint * interval '1 millisecond', "
    "       last_error = $5::text, updated_at = now() "
    " WHERE id = $1::uuid AND status = 'pending' AND attempts = $2::integer"};

#undef FLASHTIX_NOTIFICATION_COLUMNS

}  // namespace

Statement insert_notification(const NewNotification& notification) {
  return Statement{&kInsertNotification,
                   params(notification.id, notification.order_id, notification.kind, notification.message_id,
                          notification.recipient, notification.body, notification.status, notification.last_error)};
}

awaitable<std::optional<Notification>> find_notification(Pool* db, std::string id) {
  return find_one<Notification>(db, kSelectNotification, params(id), notification_from);
}

awaitable<NotificationPage> list_notifications(Pool* db, NotificationFilter filter) {
  return list_page<Notification>(db, kListNotifications, params(filter.order_id, filter.status), filter.after_seq,
                                 filter.limit, notification_from);
}

awaitable<std::vector<DueNotification>> claim_due(Pool* db, int batch, std::chrono::milliseconds lease) {
  core::pg::Params parameters = params(batch, static_cast<std::int64_t>(lease.count()));
  const Result rows = co_await db->exec(kClaimDue, std::move(parameters));
  std::vector<DueNotification> due;
  due.reserve(static_cast<std::size_t>(rows.rows()));
  for (int i = 0; i < rows.rows(); ++i) {
    due.push_back({std::string(rows.text(i, "id")), rows.integer(i, "attempts"), std::string(rows.text(i, "payload"))});
  }
  co_return due;
}

awaitable<void> mark_delivered(Pool* db, std::string id) {
  core::pg::Params parameters = params(id);
  co_await db->exec(kMarkDelivered, std::move(parameters));
}

awaitable<void> record_failure(Pool* db, std::string id, std::int64_t attempts, std::string status,
                               std::chrono::milliseconds retry_after, std::string error) {
  core::pg::Params parameters = params(id, attempts, status, static_cast<std::int64_t>(retry_after.count()), error);
  co_await db->exec(kRecordFailure, std::move(parameters));
}

}  // namespace flashtix::notifications::store
