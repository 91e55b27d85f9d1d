// The event contract: each payload's JSON both ways, what a payload must carry, and the table that the
// queue bindings and the owner check come from.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/amqp.hpp"
#include "core/events.hpp"
#include "core/messaging/routes.hpp"

namespace flashtix::core {
namespace {

namespace json = boost::json;

constexpr const char* kOrderId = "0b5e2f7c-8d0a-4a53-9d1e-3f6a2b1c4d5e";
constexpr const char* kPaymentId = "7f1c2d3e-4b5a-4c6d-8e9f-0a1b2c3d4e5f";

events::OrderCreated order_created() {
  return {kOrderId, 7, 2, "tok_ok", 42, 1'795'000'000'123, "a@b.example", 9'000, "EUR"};
}
events::OrderEnded order_ended() {
  return {kOrderId, "CANCELLED", 7, 2, 42, std::nullopt, kPaymentId, "payment_declined"};
}
events::PaymentOutcome payment_outcome() {
  return {kPaymentId, kOrderId, "failed", 7, 2, 9'000, "EUR", "card_declined"};
}
events::HoldVoided hold_voided() { return {{42, kOrderId, 7, 2}, "CONFIRMED"}; }
events::HoldExpired hold_expired() { return {{42, kOrderId, 7, 2}, 1'795'000'000'123}; }

std::set<std::string> keys_of(const json::value& value) {
  std::set<std::string> keys;
  for (const auto& member : value.as_object()) keys.insert(std::string(member.key()));
  return keys;
}

// Every field the struct has, and only those, under the names the services have always used.
TEST(EventPayload, EachTypeWritesItsFieldsUnderTheirWireNames) {
  EXPECT_EQ(keys_of(json::value_from(order_created())),
            (std::set<std::string>{"order_id", "event_id", "quantity", "payment_token", "reservation_id", "expires_at",
                                   "customer_email", "amount_minor", "currency"}));
  EXPECT_EQ(keys_of(json::value_from(events::OrderConfirmed{order_ended()})),
            (std::set<std::string>{"order_id", "status", "event_id", "quantity", "reservation_id", "customer_email",
                                   "payment_id", "reason"}));
  EXPECT_EQ(keys_of(json::value_from(events::PaymentRefunded{payment_outcome()})),
            (std::set<std::string>{"payment_id", "order_id", "status", "event_id", "quantity", "amount_minor",
                                   "currency", "reason"}));
  EXPECT_EQ(keys_of(json::value_from(hold_voided())),
            (std::set<std::string>{"reservation_id", "reservation_key", "event_id", "quantity", "was"}));
  EXPECT_EQ(keys_of(json::value_from(hold_expired())),
            (std::set<std::string>{"reservation_id", "reservation_key", "event_id", "quantity", "expired_at"}));

  const json::object created = json::value_from(order_created()).as_object();
  EXPECT_EQ(created.at("expires_at"), "2026-11-18T11:06:40.123Z");
  EXPECT_EQ(created.at("customer_email"), "a@b.example");
  EXPECT_EQ(json::value_from(hold_expired()).as_object().at("expired_at"), "2026-11-18T11:06:40.123Z");
  const json::object outcome = json::value_from(payment_outcome()).as_object();
  EXPECT_EQ(outcome.at("amount_minor"), 9'000);
  EXPECT_EQ(outcome.at("currency"), "EUR");
  // Unset optional fields are written as null, as they always were.
  const json::object ended = json::value_from(order_ended()).as_object();
  EXPECT_TRUE(ended.at("customer_email").is_null());
}

template <class Event>
Event through_text(const Event& event) {
  return json::value_to<Event>(json::parse(events::payload_text(event)));
}

TEST(EventPayload, EachTypeReadsBackWhatItWrote) {
  EXPECT_EQ(through_text(order_created()), order_created());
  events::OrderCreated anonymous = order_created();
  anonymous.customer_email.reset();
  EXPECT_EQ(through_text(anonymous), anonymous);
  for (const events::OrderEnded& ended :
       {order_ended(), events::OrderEnded{kOrderId, "CONFIRMED", 1, 1, 1, "x@y.example", std::nullopt, std::nullopt}}) {
    EXPECT_EQ(through_text(events::OrderConfirmed{ended}), events::OrderConfirmed{ended});
    EXPECT_EQ(through_text(events::OrderCancelled{ended}), events::OrderCancelled{ended});
    EXPECT_EQ(through_text(events::OrderExpired{ended}), events::OrderExpired{ended});
  }
  EXPECT_EQ(through_text(events::PaymentSucceeded{payment_outcome()}), events::PaymentSucceeded{payment_outcome()});
  EXPECT_EQ(through_text(events::PaymentFailed{payment_outcome()}), events::PaymentFailed{payment_outcome()});
  EXPECT_EQ(through_text(events::PaymentRefunded{payment_outcome()}), events::PaymentRefunded{payment_outcome()});
  // A payment whose order carried no chargeable amount says so with 0 and "".
  const events::PaymentOutcome refused{kPaymentId, kOrderId, "failed", 7, 2, 0, "", "invalid_amount"};
  EXPECT_EQ(through_text(events::PaymentFailed{refused}), events::PaymentFailed{refused});
  EXPECT_EQ(through_text(hold_voided()), hold_voided());
  EXPECT_EQ(through_text(hold_expired()), hold_expired());
}

// Each required field in turn: gone, then of another type. Either way the payload is refused.
template <class Event>
void expect_each_required_field_refused(const Event& event, const std::vector<std::string>& required) {
  const json::object whole = json::value_from(event).as_object();
  for (const std::string& field : required) {
    json::object missing = whole;
    missing.erase(field);
    EXPECT_THROW(json::value_to<Event>(json::value(missing)), events::MalformedPayload) << "without " << field;
    json::object wrong = whole;
    wrong[field] = whole.at(field).is_string() ? json::value(1) : json::value("1");
    EXPECT_THROW(json::value_to<Event>(json::value(wrong)), events::MalformedPayload) << "wrong type of " << field;
  }
}

// A message a service older than amounts wrote (during an upgrade) reads as 0 and no currency; the consumer
// decides (payments refuses to charge it: invalid_amount), rather than the broker dead-lettering it.
TEST(EventPayload, AmountsFromBeforeAmountsReadAsNone) {
  for (json::object payload : {json::value_from(order_created()).as_object(),
                               json::value_from(events::PaymentSucceeded{payment_outcome()}).as_object()}) {
    payload.erase("amount_minor");
    payload.erase("currency");
    json::object mistyped = payload;
    mistyped["amount_minor"] = "9000";
    if (payload.contains("payment_token")) {
      const auto created = json::value_to<events::OrderCreated>(json::value(payload));
      EXPECT_EQ(created.amount_minor, 0);
      EXPECT_EQ(created.currency, "");
      EXPECT_THROW(json::value_to<events::OrderCreated>(json::value(mistyped)), events::MalformedPayload);
    } else {
      const auto paid = json::value_to<events::PaymentSucceeded>(json::value(payload));
      EXPECT_EQ(paid.amount_minor, 0);
      EXPECT_EQ(paid.currency, "");
      EXPECT_THROW(json::value_to<events::PaymentSucceeded>(json::value(mistyped)), events::MalformedPayload);
    }
  }
}

TEST(EventPayload, AMissingOrMistypedFieldIsRefused) {
  expect_each_required_field_refused(order_created(), {"order_id", "event_id", "quantity", "payment_token",
                                                       "reservation_id", "expires_at"});
  expect_each_required_field_refused(events::OrderExpired{order_ended()},
                                     {"order_id", "status", "event_id", "quantity", "reservation_id"});
  expect_each_required_field_refused(events::PaymentSucceeded{payment_outcome()},
                                     {"payment_id", "order_id", "status", "event_id", "quantity"});
  expect_each_required_field_refused(hold_voided(),
                                     {"reservation_id", "reservation_key", "event_id", "quantity", "was"});

  expect_each_required_field_refused(hold_expired(),
                                     {"reservation_id", "reservation_key", "event_id", "quantity", "expired_at"});

  EXPECT_THROW(json::value_to<events::HoldVoided>(json::value(json::array{})), events::MalformedPayload);
  EXPECT_THROW(json::value_to<events::HoldExpired>(json::value(json::array{})), events::MalformedPayload);
  json::object not_a_uuid = json::value_from(order_ended()).as_object();
  not_a_uuid["order_id"] = "42";
  EXPECT_THROW(json::value_to<events::OrderEnded>(json::value(not_a_uuid)), events::MalformedPayload);
  json::object bad_time = json::value_from(order_created()).as_object();
  bad_time["expires_at"] = "tomorrow";
  EXPECT_THROW(json::value_to<events::OrderCreated>(json::value(bad_time)), events::MalformedPayload);
  json::object bad_expiry = json::value_from(hold_expired()).as_object();
  bad_expiry["expired_at"] = "yesterday";
  EXPECT_THROW(json::value_to<events::HoldExpired>(json::value(bad_expiry)), events::MalformedPayload);
  json::object numeric_email = json::value_from(order_ended()).as_object();
  numeric_email["customer_email"] = 7;
  EXPECT_THROW(json::value_to<events::OrderEnded>(json::value(numeric_email)), events::MalformedPayload);
}

TEST(EventPayload, AnOptionalFieldMayBeNullOrAbsent) {
  json::object absent = json::value_from(order_ended()).as_object();
  absent.erase("customer_email");
  absent.erase("payment_id");
  absent["reason"] = nullptr;
  const auto read = json::value_to<events::OrderEnded>(json::value(absent));
  EXPECT_FALSE(read.customer_email);
  EXPECT_FALSE(read.payment_id);
  EXPECT_FALSE(read.reason);
}

TEST(EventPayload, ADecodedMessageThatHasNotItsTypesShapeIsInvalid) {
  messaging::Message message;
  message.id = "5a4b3c2d-1e0f-4a1b-9c2d-3e4f5a6b7c8d";
  message.type = std::string(events::PaymentFailed::kType);
  message.payload = json::value_from(payment_outcome()).as_object();
  EXPECT_EQ(messaging::decode<events::PaymentFailed>(message), events::PaymentFailed{payment_outcome()});
  message.payload.erase("payment_id");
  try {
    messaging::decode<events::PaymentFailed>(message);
    ADD_FAILURE() << "decoded a payment event without its payment";
  } catch (const messaging::InvalidMessage& e) {
    EXPECT_NE(std::string(e.what()).find("payment_id"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(message.id), std::string::npos) << e.what();
  }
}

TEST(EventContract, EachTypeIsListedOnceWithItsPublisher) {
  std::set<std::string_view> seen;
  for (const events::EventType& row : events::event_types()) {
    EXPECT_TRUE(seen.insert(row.type).second) << row.type << " is listed twice";
    EXPECT_EQ(events::publisher_of(row.type), row.publisher);
    EXPECT_EQ(std::count(row.consumers.begin(), row.consumers.end(), row.publisher), 0)
        << row.publisher << " consumes its own " << row.type;
  }
  EXPECT_EQ(seen.size(), 9u);
  EXPECT_TRUE(events::find_event_type("order.created.extra") == nullptr);
  EXPECT_EQ(events::publisher_of(""), std::nullopt);
}

// The queues and their bindings as the broker has always had them; a change here changes the topology
// of every running broker, so it is a change to make on purpose.
TEST(EventContract, TheQueueBindingsComeFromTheContract) {
  std::vector<std::pair<std::string, std::set<std::string_view>>> bindings;
  for (const amqp::QueueSpec& queue : amqp::queues()) {
    bindings.emplace_back(queue.name, std::set<std::string_view>(queue.event_types.begin(), queue.event_types.end()));
  }
  std::sort(bindings.begin(), bindings.end());
  const std::vector<std::pair<std::string, std::set<std::string_view>>> expected{
      {"flashtix.notifications", {"order.confirmed", "order.cancelled", "order.expired"}},
      {"flashtix.orders", {"payment.succeeded", "payment.failed", "hold.voided", "hold.expired"}},
      {"flashtix.payments", {"order.created", "order.cancelled", "order.expired"}},
  };
  EXPECT_EQ(bindings, expected);
  EXPECT_EQ(amqp::queue_of(events::kPayments), "flashtix.payments");
}

// A handler for the routes below: records what it was given.
struct Seen {
  std::vector<std::string> order_ids;
};
boost::asio::awaitable<void> record(Seen* seen, messaging::Message, events::OrderEnded ended) {
  seen->order_ids.push_back(ended.order_id);
  co_return;
}

TEST(EventRoutes, RefuseATypeWithoutARouteAndAPayloadWithoutItsShapeBeforeAnyHandlerRuns) {
  const messaging::EventRoutes<Seen> routes{"notifications",
                                            {messaging::on<events::OrderConfirmed, record>(),
                                             messaging::on<events::OrderCancelled, record>()}};
  EXPECT_EQ(routes.types(), (std::vector<std::string_view>{"order.confirmed", "order.cancelled"}));
  Seen seen;
  messaging::Message message;
  message.id = "5a4b3c2d-1e0f-4a1b-9c2d-3e4f5a6b7c8d";
  message.type = "order.created";
  message.payload = json::value_from(order_ended()).as_object();
  EXPECT_THROW((void)routes.dispatch(&seen, message), messaging::InvalidMessage);
  message.type = "order.cancelled";
  message.payload.erase("status");
  EXPECT_THROW((void)routes.dispatch(&seen, message), messaging::InvalidMessage);
  EXPECT_TRUE(seen.order_ids.empty());
}

}  // namespace
}  // namespace flashtix::core
