// Notifications and their webhook delivery as pure functions (unit-tested): what an order event becomes,
// the body a receiver gets, the JSON the API shows, the retry schedule, and the webhook URL's rules.
//   pending --receiver answered 2xx--> delivered
//   pending --attempt failed, attempts left--> pending (next attempt after a growing, jittered pause)
//   pending --attempt failed, none left--> failed
//   skipped: recorded while no webhook was configured; never sent
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/events.hpp"
#include "core/http.hpp"
#include "core/messaging/envelope.hpp"

namespace flashtix::notifications {

inline constexpr std::string_view kPending = "pending";
inline constexpr std::string_view kDelivered = "delivered";
inline constexpr std::string_view kFailed = "failed";
inline constexpr std::string_view kSkipped = "skipped";

inline constexpr std::string_view kNoWebhookConfigured = "no webhook configured";

// Bounds on what an event may carry into a notification; past them the event is dead-lettered.
inline constexpr std::size_t kMaxRecipientLength = 254;
inline constexpr std::size_t kMaxWebhookBodyBytes = 64 * 1024;
// last_error keeps this much of a failure's description.
inline constexpr std::size_t kMaxErrorLength = 500;

bool is_notification_status(std::string_view text);
// The event types that make a notification: those the contract sends to the notification service
// (order.confirmed, order.cancelled, order.expired).
bool is_notified_event(std::string_view type);

// A notification as stored.
struct Notification {
  std::string id;
  std::string order_id;
  std::string kind;  // the event type, e.g. "order.confirmed"
  std::optional<std::string> recipient;
  std::string status;
  std::int64_t attempts = 0;
  std::optional<std::string> last_error;
  std::int64_t created_at_ms = 0;
  std::optional<std::int64_t> delivered_at_ms;
  std::string payload;  // the webhook body, JSON text
};

// {"notification_id", "order_id", "type", "recipient", "status", "attempts", "last_error", "created_at",
//  "delivered_at", "payload"}. Throws when `payload` is not JSON (it always is: it comes from jsonb).
core::json::object to_json(const Notification& notification);

// What an order event becomes, before it is stored.
struct NewNotification {
  std::string id;
  std::string order_id;
  std::string kind;
  std::string message_id;
  std::optional<std::string> recipient;
  std::string body;    // the webhook body, JSON text
  std::string status;  // pending, or skipped when there is nowhere to send it
  std::optional<std::string> last_error;
};

// Builds the notification `id` for an order event whose payload is decoded as `ended`. Throws
// core::messaging::InvalidMessage when the recipient is too long or the body past kMaxWebhookBodyBytes.
NewNotification notification_from_event(const core::messaging::Message& message,
                                        const core::events::OrderEnded& ended, std::string id,
                                        bool webhook_configured);
// The same for a message not decoded yet: also throws InvalidMessage when the event is not one that
// notifies or its payload is not an order's (no UUID order_id, a recipient that is not a string, ...).
NewNotification notification_from_event(const core::messaging::Message& message, std::string id,
                                        bool webhook_configured);

// The webhook body: {"notification_id", "type", "order_id", "occurred_at", "data": <the event's payload>}.
// "data" is the payload as it arrived, fields the contract does not name included.
core::json::object webhook_body(const core::messaging::Message& message, std::string_view notification_id,
                                std::string_view order_id);

// Where notifications are POSTed, split from FLASHTIX_WEBHOOK_URL.
struct WebhookTarget {
  bool tls = false;  // https://: TLS, the receiver's certificate verified
  std::string url;   // for logs: user info and query shown as "..." (they may hold a credential)
  // To resolve, and to check the certificate's name against: a name or an address (IPv6 without brackets).
  std::string host;
  // An IP address, which is not sent as the TLS server name (SNI).
  bool host_is_address = false;
  std::string port;       // "80" (http) or "443" (https) when the URL names none
  std::string authority;  // the Host header: host[:port] as written
  std::string target;     // path and query; "/" when the URL has no path
};

// http:// or https:// with a host, and no user info or fragment; throws std::invalid_argument saying why.
// Neither the result's url nor a message shows the URL's user info or query, which may hold a credential.
WebhookTarget parse_webhook_url(std::string_view url);

struct RetryPolicy {
  std::int64_t max_attempts = 8;
  std::chrono::milliseconds first_retry{500};
  std::chrono::milliseconds max_retry{60'000};
};

// The pause before the next attempt after `attempts` failed ones: first_retry doubled per earlier failure,
// capped at max_retry, then scaled into [50%, 100%] by `jitter` in [0, 1] so that receivers coming back
// are not hit by every instance in lockstep.
std::chrono::milliseconds retry_delay(std::int64_t attempts, const RetryPolicy& policy, double jitter);
// pending while attempts are left, failed after the last.
std::string_view status_after_failure(std::int64_t attempts, const RetryPolicy& policy);
// Nothing for a 2xx answer; otherwise why the attempt counts as failed.
std::optional<std::string> failure_of_answer(unsigned http_status);
// `text` cut to kMaxErrorLength bytes without splitting a UTF-8 character.
std::string bounded_error(std::string_view text);

}  // namespace flashtix::notifications
