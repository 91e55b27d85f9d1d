// Notification rules: what an order event becomes, the JSON shapes, the retry schedule, the webhook URL.
#include "notifications/notification.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>

#include "core/time.hpp"
#include "notifications/events.hpp"

namespace flashtix::notifications {
namespace {

namespace json = core::json;
using core::messaging::InvalidMessage;
using core::messaging::Message;
using std::chrono::milliseconds;

constexpr const char* kOrderId = "0b5e2f7c-8d0a-4a53-9d1e-3f6a2b1c4d5e";
constexpr const char* kNotificationId = "7f1c2d3e-4b5a-4c6d-8e9f-0a1b2c3d4e5f";

Message order_event(std::string_view type) {
  Message message;
  message.id = "5a4b3c2d-1e0f-4a1b-9c2d-3e4f5a6b7c8d";
  message.type = std::string(type);
  message.occurred_at_ms = 1'795'000'000'123;
  message.correlation_id = std::string(kOrderId);
  message.payload = json::object{{"order_id", kOrderId},  {"status", "CONFIRMED"}, {"event_id", 1},
                                 {"quantity", 2},         {"reservation_id", 42},  {"customer_email", "a@b.example"},
                                 {"payment_id", nullptr}, {"reason", nullptr}};
  return message;
}

TEST(NotificationFromEvent, BuildsThePendingNotificationAndItsWebhookBody) {
  const Message message = order_event("order.confirmed");
  const NewNotification made = notification_from_event(message, std::string(kNotificationId), true);
  EXPECT_EQ(made.id, kNotificationId);
  EXPECT_EQ(made.order_id, kOrderId);
  EXPECT_EQ(made.kind, "order.confirmed");
  EXPECT_EQ(made.message_id, message.id);
  EXPECT_EQ(made.recipient, "a@b.example");
  EXPECT_EQ(made.status, kPending);
  EXPECT_FALSE(made.last_error);

  const json::value body = json::parse(made.body);
  const json::object& object = body.as_object();
  EXPECT_EQ(object.size(), 5u);
  EXPECT_EQ(object.at("notification_id"), kNotificationId);
  EXPECT_EQ(object.at("type"), "order.confirmed");
  EXPECT_EQ(object.at("order_id"), kOrderId);
  EXPECT_EQ(object.at("occurred_at").as_string(), core::rfc3339_from_unix_ms(message.occurred_at_ms));
  EXPECT_EQ(object.at("data"), message.payload);
}

TEST(NotificationFromEvent, WithoutAWebhookIsSkipped) {
  const NewNotification made =
      notification_from_event(order_event("order.cancelled"), std::string(kNotificationId), false);
  EXPECT_EQ(made.status, kSkipped);
  EXPECT_EQ(made.last_error, kNoWebhookConfigured);
}

TEST(NotificationFromEvent, RecipientIsOptional) {
  Message message = order_event("order.expired");
  message.payload["customer_email"] = nullptr;
  EXPECT_FALSE(notification_from_event(message, std::string(kNotificationId), true).recipient);
  message.payload.erase("customer_email");
  EXPECT_FALSE(notification_from_event(message, std::string(kNotificationId), true).recipient);
}

TEST(NotificationFromEvent, RefusesWhatIsNotAnEndedOrder) {
  const std::string id(kNotificationId);
  EXPECT_THROW(notification_from_event(order_event("order.created"), id, true), InvalidMessage);
  EXPECT_THROW(notification_from_event(order_event("payment.succeeded"), id, true), InvalidMessage);

  Message no_order = order_event("order.confirmed");
  no_order.payload.erase("order_id");
  EXPECT_THROW(notification_from_event(no_order, id, true), InvalidMessage);
  Message bad_order = order_event("order.confirmed");
  bad_order.payload["order_id"] = "not-a-uuid";
  EXPECT_THROW(notification_from_event(bad_order, id, true), InvalidMessage);
  Message numeric_email = order_event("order.confirmed");
  numeric_email.payload["customer_email"] = 7;
  EXPECT_THROW(notification_from_event(numeric_email, id, true), InvalidMessage);
  Message long_email = order_event("order.confirmed");
  long_email.payload["customer_email"] = std::string(kMaxRecipientLength + 1, 'a');
  EXPECT_THROW(notification_from_event(long_email, id, true), InvalidMessage);
  Message huge = order_event("order.confirmed");
  huge.payload["padding"] = std::string(kMaxWebhookBodyBytes, 'x');
  EXPECT_THROW(notification_from_event(huge, id, true), InvalidMessage);
}

TEST(NotificationJson, HasEveryFieldWithNullsWhereUnset) {
  Notification notification;
  notification.id = std::string(kNotificationId);
  notification.order_id = std::string(kOrderId);
  notification.kind = "order.cancelled";
  notification.status = std::string(kPending);
  notification.attempts = 2;
  notification.last_error = "the webhook answered HTTP 503";
  notification.created_at_ms = 1'795'000'000'000;
  notification.payload = R"({"notification_id":"x","type":"order.cancelled","data":{"quantity":1}})";
  const json::object object = to_json(notification);
  EXPECT_EQ(object.size(), 10u);
  EXPECT_EQ(object.at("notification_id"), kNotificationId);
  EXPECT_EQ(object.at("order_id"), kOrderId);
  EXPECT_EQ(object.at("type"), "order.cancelled");
  EXPECT_TRUE(object.at("recipient").is_null());
  EXPECT_EQ(object.at("status"), "pending");
  EXPECT_EQ(object.at("attempts"), 2);
  EXPECT_EQ(object.at("last_error"), "the webhook answered HTTP 503");
  EXPECT_EQ(object.at("created_at"), "2026-11-18T11:06:40.000Z");
  EXPECT_TRUE(object.at("delivered_at").is_null());
  EXPECT_EQ(object.at("payload").at("data").at("quantity"), 1);

  notification.status = std::string(kDelivered);
  notification.recipient = "a@b.example";
  notification.delivered_at_ms = 1'795'000'001'500;
  const json::object delivered = to_json(notification);
  EXPECT_EQ(delivered.at("recipient"), "a@b.example");
  EXPECT_EQ(delivered.at("delivered_at"), "2026-11-18T11:06:41.500Z");
}

TEST(NotificationStatus, KnowsTheFour) {
  for (const char* status : {"pending", "delivered", "failed", "skipped"}) EXPECT_TRUE(is_notification_status(status));
  for (const char* status : {"", "PENDING", "sent", "pending "}) EXPECT_FALSE(is_notification_status(status));
}

TEST(RetryDelay, DoublesFromTheFirstPauseUpToTheCapWithJitterBetweenHalfAndAll) {
  const RetryPolicy policy{8, milliseconds(500), milliseconds(60'000)};
  EXPECT_EQ(retry_delay(1, policy, 1.0), milliseconds(500));
  EXPECT_EQ(retry_delay(1, policy, 0.0), milliseconds(250));
  EXPECT_EQ(retry_delay(2, policy, 1.0), milliseconds(1000));
  EXPECT_EQ(retry_delay(3, policy, 1.0), milliseconds(2000));
  EXPECT_EQ(retry_delay(8, policy, 1.0), milliseconds(60'000));  // 500 << 7 = 64000, capped
  EXPECT_EQ(retry_delay(8, policy, 0.0), milliseconds(30'000));
  for (std::int64_t attempts : {1, 2, 5, 8, 30, 1000, 1'000'000}) {
    for (double jitter : {0.0, 0.3, 0.77, 1.0}) {
      const milliseconds pause = retry_delay(attempts, policy, jitter);
      EXPECT_GE(pause, milliseconds(250)) << attempts << " " << jitter;
      EXPECT_LE(pause, milliseconds(60'000)) << attempts << " " << jitter;
    }
  }
  // Jitter outside [0, 1] is clamped, never a pause out of bounds.
  EXPECT_EQ(retry_delay(1, policy, -3.0), milliseconds(250));
  EXPECT_EQ(retry_delay(1, policy, 7.0), milliseconds(500));
}

TEST(RetryDelay, NeverGrowsPastTheCapEvenWhenTheFirstPauseIsLarger) {
  const RetryPolicy policy{3, milliseconds(5000), milliseconds(1000)};
  EXPECT_EQ(retry_delay(1, policy, 1.0), milliseconds(1000));
  EXPECT_EQ(retry_delay(50, policy, 1.0), milliseconds(1000));
}

TEST(StatusAfterFailure, FailsOnlyOnTheLastAttempt) {
  const RetryPolicy policy{3, milliseconds(10), milliseconds(100)};
  EXPECT_EQ(status_after_failure(1, policy), kPending);
  EXPECT_EQ(status_after_failure(2, policy), kPending);
  EXPECT_EQ(status_after_failure(3, policy), kFailed);
  EXPECT_EQ(status_after_failure(4, policy), kFailed);
}

TEST(FailureOfAnswer, OnlyTwoHundredsDeliver) {
  for (unsigned status : {200u, 201u, 202u, 204u, 299u}) EXPECT_FALSE(failure_of_answer(status)) << status;
  for (unsigned status : {100u, 301u, 304u, 400u, 404u, 429u, 500u, 503u}) {
    EXPECT_TRUE(failure_of_answer(status)) << status;
  }
  EXPECT_EQ(failure_of_answer(503), "the webhook answered HTTP 503");
}

TEST(BoundedError, CutsLongTextOnACharacterBoundary) {
  EXPECT_EQ(bounded_error("short"), "short");
  EXPECT_EQ(bounded_error(std::string(kMaxErrorLength + 10, 'e')).size(), kMaxErrorLength);
  // "é" is two bytes; one straddling the cut is left out whole.
  std::string text(kMaxErrorLength - 1, 'e');
  text += "\xC3\xA9 and more";
  EXPECT_EQ(bounded_error(text), std::string(kMaxErrorLength - 1, 'e'));
}

TEST(ParseWebhookUrl, SplitsHostPortAndTarget) {
  const WebhookTarget target = parse_webhook_url("http://127.0.0.1:9000/hooks/flashtix");
  EXPECT_FALSE(target.tls);
  EXPECT_EQ(target.url, "http://127.0.0.1:9000/hooks/flashtix");
  EXPECT_EQ(target.host, "127.0.0.1");
  EXPECT_TRUE(target.host_is_address);
  EXPECT_EQ(target.port, "9000");
  EXPECT_EQ(target.authority, "127.0.0.1:9000");
  EXPECT_EQ(target.target, "/hooks/flashtix");

  const WebhookTarget with_query = parse_webhook_url("http://hooks.example/in?token=a%20b&x=1");
  // What the logs show keeps the receiver's credential out.
  EXPECT_EQ(with_query.url, "http://hooks.example/in?...");
  EXPECT_EQ(with_query.host, "hooks.example");
  EXPECT_FALSE(with_query.host_is_address);
  EXPECT_EQ(with_query.port, "80");
  EXPECT_EQ(with_query.authority, "hooks.example");
  EXPECT_EQ(with_query.target, "/in?token=a%20b&x=1");

  EXPECT_EQ(parse_webhook_url("http://localhost:8080").target, "/");
  const WebhookTarget v6 = parse_webhook_url("http://[::1]:9000/h");
  EXPECT_EQ(v6.host, "::1");
  EXPECT_TRUE(v6.host_is_address);
  EXPECT_EQ(v6.authority, "[::1]:9000");
}

TEST(ParseWebhookUrl, TakesHttpsWithPort443ByDefault) {
  const WebhookTarget target = parse_webhook_url("https://hooks.example/in?key=k");
  EXPECT_TRUE(target.tls);
  EXPECT_EQ(target.url, "https://hooks.example/in?...");
  EXPECT_EQ(target.host, "hooks.example");
  EXPECT_FALSE(target.host_is_address);
  EXPECT_EQ(target.port, "443");
  EXPECT_EQ(target.authority, "hooks.example");
  EXPECT_EQ(target.target, "/in?key=k");

  const WebhookTarget own_port = parse_webhook_url("HTTPS://127.0.0.1:8443");
  EXPECT_TRUE(own_port.tls);
  EXPECT_TRUE(own_port.host_is_address);
  EXPECT_EQ(own_port.port, "8443");
  EXPECT_EQ(own_port.target, "/");
}

TEST(ParseWebhookUrl, RefusesWhatItCannotPost) {
  for (const char* url :
       {"ftp://hooks.example/in", "hooks.example/in", "not a url", "http:///path", "https:///path",
        "http://user:secret@hooks.example/", "https://user@hooks.example/", "http://hooks.example/#part",
        "http://hooks.example:0/", "https://hooks.example:99999/", "http://hooks.example:/", "wss://hooks.example/"}) {
    EXPECT_THROW(parse_webhook_url(url), std::invalid_argument) << url;
  }
}

// A refused URL is named in the message, but not its credential: the message goes to the log.
TEST(ParseWebhookUrl, NeverQuotesACredentialWhenItRefuses) {
  for (const char* url : {"http://user:hunter2@hooks.example/in", "https://hunter2@hooks.example/in?token=hunter2",
                          "ftp://hooks.example/in?token=hunter2", "http://hooks.example:99999/in?token=hunter2",
                          "http://hooks.example/in?token=hunter2#hunter2", "http://us er:hunter2@hooks.example/",
                          "http://hooks.example/in?token=hunter2 x"}) {
    try {
      parse_webhook_url(url);
      ADD_FAILURE() << "accepted " << url;
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos) << e.what();
    }
  }
  try {
    parse_webhook_url("http://user:hunter2@hooks.example/in");
    ADD_FAILURE() << "accepted user info";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("http://...@hooks.example/in"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("user info"), std::string::npos) << e.what();
  }
}

// A type the contract binds to the notifications queue without a route would be dead-lettered; a route for a
// type not bound would never run.
TEST(EventRoutes, RouteExactlyTheTypesTheContractSendsToNotifications) {
  EXPECT_EQ(event_routes().contract_mismatch(), std::nullopt);
  EXPECT_FALSE(event_routes().types().empty());
}

}  // namespace
}  // namespace flashtix::notifications
