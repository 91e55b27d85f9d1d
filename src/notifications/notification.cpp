// What an order event becomes as a notification, the JSON shapes, the retry schedule and the webhook URL.
#include "notifications/notification.hpp"

#include <algorithm>
#include <boost/url/parse.hpp>
#include <cmath>
#include <stdexcept>

#include "core/backoff.hpp"
#include "core/json_fields.hpp"
#include "core/messaging/routes.hpp"
#include "core/time.hpp"

namespace flashtix::notifications {

namespace json = core::json;
namespace events = core::events;
namespace messaging = core::messaging;
using messaging::InvalidMessage;

namespace {

json::value nullable(const std::optional<std::string>& text) {
  return text ? json::value(*text) : json::value(nullptr);
}

// A URL as logs and messages show it: user info and query, which may carry the receiver's credential
// (?token=...), become "...".
std::string url_for_logs(const boost::urls::url_view& u) {
  std::string text;
  if (u.has_scheme()) text += std::string(u.scheme()) + ":";
  if (u.has_authority()) {
    text += "//";
    if (u.has_userinfo()) text += "...@";
    text += std::string(u.encoded_host_and_port());
  }
  text += std::string(u.encoded_path());
  if (u.has_query()) text += "?...";
  if (u.has_fragment()) text += "#...";
  return text;
}

}  // namespace

bool is_notification_status(std::string_view text) {
  return text == kPending || text == kDelivered || text == kFailed || text == kSkipped;
}

bool is_notified_event(std::string_view type) {
  const events::EventType* row = events::find_event_type(type);
  return row && std::find(row->consumers.begin(), row->consumers.end(), events::kNotifications) != row->consumers.end();
}

json::object to_json(const Notification& notification) {
  json::object object{
      {"notification_id", notification.id}, {"order_id", notification.order_id}, {"type", notification.kind}};
  object["recipient"] = nullable(notification.recipient);
  object["status"] = notification.status;
  object["attempts"] = notification.attempts;
  object["last_error"] = nullable(notification.last_error);
  object["created_at"] = core::rfc3339_from_unix_ms(notification.created_at_ms);
  object["delivered_at"] = notification.delivered_at_ms
                               ? json::value(core::rfc3339_from_unix_ms(*notification.delivered_at_ms))
                               : json::value(nullptr);
  object["payload"] = json::parse(notification.payload);
  return object;
}

json::object webhook_body(const messaging::Message& message, std::string_view notification_id,
                          std::string_view order_id) {
  return json::object{{"notification_id", notification_id},
                      {"type", message.type},
                      {"order_id", order_id},
                      {"occurred_at", core::rfc3339_from_unix_ms(message.occurred_at_ms)},
                      {"data", message.payload}};
}

NewNotification notification_from_event(const messaging::Message& message, std::string id, bool webhook_configured) {
  if (!is_notified_event(message.type)) {
    throw InvalidMessage("the notification service does not handle " + message.type + " " + message.id);
  }
  // The three notified types share one payload.
  return notification_from_event(message, messaging::decode<events::OrderEnded>(message), std::move(id),
                                 webhook_configured);
}

NewNotification notification_from_event(const messaging::Message& message, const events::OrderEnded& ended,
                                        std::string id, bool webhook_configured) {
  const std::string about = message.type + " " + message.id;
  NewNotification notification;
  notification.order_id = ended.order_id;
  notification.recipient = ended.customer_email;
  if (notification.recipient && core::utf8_length(*notification.recipient) > kMaxRecipientLength) {
    throw InvalidMessage(about + ": 'customer_email' is longer than " + std::to_string(kMaxRecipientLength));
  }
  notification.body = json::serialize(webhook_body(message, id, notification.order_id));
  if (notification.body.size() > kMaxWebhookBodyBytes) {
    throw InvalidMessage(about + ": the notification would be larger than " + std::to_string(kMaxWebhookBodyBytes) +
                         " bytes");
  }
  notification.id = std::move(id);
  notification.kind = message.type;
  notification.message_id = message.id;
  if (webhook_configured) {
    notification.status = std::string(kPending);
  } else {
    notification.status = std::string(kSkipped);
    notification.last_error = std::string(kNoWebhookConfigured);
  }
  return notification;
}

WebhookTarget parse_webhook_url(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  // Not quoted: what failed to parse may still hold a credential.
  if (!parsed) throw std::invalid_argument("the webhook URL is not a URL (not shown here: it may hold a credential)");
  const boost::urls::url_view& u = *parsed;
  const std::string quoted = "the webhook URL '" + url_for_logs(u) + "'";
  const bool tls = u.scheme_id() == boost::urls::scheme::https;
  if (!tls && u.scheme_id() != boost::urls::scheme::http) {
    throw std::invalid_argument(quoted + " must be an https:// or http:// URL");
  }
  if (u.host_type() == boost::urls::host_type::none || u.host_address().empty()) {
    throw std::invalid_argument(quoted + " names no host");
  }
  // No Basic auth is sent: refused rather than silently dropped.
  if (u.has_userinfo()) throw std::invalid_argument(quoted + " has user info, which is not supported");
  if (u.has_fragment()) throw std::invalid_argument(quoted + " has a fragment, which is not sent over HTTP");
  // Boost.URL reads any digits as a port; only a TCP port will do.
  const std::optional<std::int64_t> port = u.has_port() ? core::parse_int(u.port(), 1, 65535) : (tls ? 443 : 80);
  if (!port) throw std::invalid_argument(quoted + " needs a port from 1 to 65535");

  WebhookTarget target;
  target.tls = tls;
  target.url = url_for_logs(u);
  target.host = u.host_address();
  target.host_is_address = u.host_type() != boost::urls::host_type::name;
  target.port = std::to_string(*port);
  target.authority = std::string(u.encoded_host_and_port());
  target.target = u.encoded_path().empty() ? "/" : std::string(u.encoded_path());
  if (u.has_query()) target.target += "?" + std::string(u.encoded_query());
  return target;
}

std::chrono::milliseconds retry_delay(std::int64_t attempts, const RetryPolicy& policy, double jitter) {
  return core::jittered(core::backoff_ceiling(policy.first_retry, policy.max_retry, attempts - 1), jitter);
}

std::string_view status_after_failure(std::int64_t attempts, const RetryPolicy& policy) {
  return attempts >= policy.max_attempts ? kFailed : kPending;
}

std::optional<std::string> failure_of_answer(unsigned http_status) {
  if (http_status >= 200 && http_status <= 299) return std::nullopt;
  return "the webhook answered HTTP " + std::to_string(http_status);
}

std::string bounded_error(std::string_view text) {
  if (text.size() <= kMaxErrorLength) return std::string(text);
  std::size_t cut = kMaxErrorLength;
  // Back up over continuation bytes (10xxxxxx) to the start of the character that straddles the cut.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut));
}

}  // namespace flashtix::notifications
