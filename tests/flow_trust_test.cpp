// The trust boundaries of the broker and the database: a consumer acts only on an event that the broker
// user of its type's owner published; the broker lets no one claim another user or log in as guest; the
// database takes flashuser only with its password over TCP, and the superuser only over its socket.
#include <ostream>

#include "core/uuid.hpp"
#include "flow_harness.hpp"

namespace flashtix::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
namespace events = core::events;
namespace messaging = core::messaging;

std::string sql_text(const std::string& text) { return "'" + text + "'"; }

// What the order service announced when `order_id` was confirmed: what a forger would copy.
json::object confirmed_payload(const std::string& order_id) {
  const Rows rows = pg().query(
      "SELECT payload::text FROM orders.outbox WHERE type = 'order.confirmed' AND "
      "correlation_id = " +
      sql_text(order_id));
  if (rows.empty()) throw std::runtime_error("order " + order_id + " has no order.confirmed");
  return json::parse(rows.at(0).at(0)).as_object();
}

bool has_notification(const std::string& order_id, std::string_view type) {
  for (const auto& notice : notifications_of(order_id)) {
    if (notice.at("type").as_string() == type) return true;
  }
  return false;
}

struct DeadLetters {
  std::int64_t orders, payments, notifications;
  bool operator==(const DeadLetters&) const = default;
  friend std::ostream& operator<<(std::ostream& out, const DeadLetters& dead) {
    return out << "{orders " << dead.orders << ", payments " << dead.payments << ", notifications "
               << dead.notifications << "}";
  }
};

DeadLetters dead_letters() {
  return {broker().queue_messages("flashtix.orders.dead"), broker().queue_messages("flashtix.payments.dead"),
          broker().queue_messages("flashtix.notifications.dead")};
}

TEST(Trust, AnEventFromAUserThatDoesNotOwnItsTypeChangesNothingAndIsDeadLettered) {
  const std::int64_t event = create_event(10);
  const std::string order = place_order(event, 2, "tok_ok");
  ASSERT_EQ(final_status(order, 10s), "CONFIRMED");
  ASSERT_TRUE(eventually(15s, [&] { return has_notification(order, "order.confirmed"); }));
  const DeadLetters before = dead_letters();

  // Cancelled, as only the order service may say: payments would refund, notifications tell the buyer.
  json::object cancelled = confirmed_payload(order);
  cancelled["status"] = "CANCELLED";
  cancelled["reason"] = "cancelled_by_customer";
  // Voided by a reset, as only inventory may say: orders would cancel the order and have it refunded.
  const json::object voided{{"reservation_id", order_json(order).at("reservation_id")},
                            {"reservation_key", order},
                            {"event_id", event},
                            {"quantity", 2},
                            {"was", "CONFIRMED"}};
  const std::vector<messaging::Message> forged{new_event(events::OrderCancelled::kType, order, cancelled),
                                               new_event(events::OrderCancelled::kType, order, cancelled),
                                               new_event(events::HoldVoided::kType, order, voided)};
  // The payment service's user may publish to the exchange, but order.* is not its to say.
  publish_as("payments", forged[0]);
  // A message without a user_id names no publisher at all, even from a user that owns the type.
  ASSERT_EQ(publish_with_user_id("orders", std::nullopt, forged[1]), "");
  // hold.voided is inventory's, not the order service's.
  publish_as("orders", forged[2]);

  // Both cancellations go to the dead-letter queues of payments and notifications, the void to orders'.
  const DeadLetters expected{before.orders + 1, before.payments + 2, before.notifications + 2};
  DeadLetters now{};
  EXPECT_TRUE(eventually(60s, [&] { return (now = dead_letters()) == expected; })) << "dead letters: " << now;
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(order_json(order).at("status").as_string(), "CONFIRMED");
  ASSERT_EQ(payments_of(order).size(), 1u);
  EXPECT_EQ(payments_of(order).at(0).at("status").as_string(), "succeeded");
  EXPECT_EQ(count("SELECT count(*) FROM payments.outbox WHERE type = 'payment.refunded' AND correlation_id = " +
                  sql_text(order)),
            0);
  EXPECT_EQ(notifications_of(order).size(), 1u);
  for (const messaging::Message& message : forged) {
    for (const char* schema : {"orders", "payments", "notifications"}) {
      EXPECT_EQ(
          count("SELECT count(*) FROM " + std::string(schema) + ".inbox WHERE message_id = " + sql_text(message.id)), 0)
          << schema << " took " << message.type << " " << message.id;
    }
  }
  EXPECT_EQ(api_counts(event), (EventCounts{10, 8, 0, 2}));

  // The same cancellation from the order service's own user is acted on: refunded, and the buyer told.
  publish_as("orders", new_event(events::OrderCancelled::kType, order, cancelled));
  EXPECT_TRUE(eventually(20s, [&] {
    const json::array payments = payments_of(order);
    return payments.size() == 1 && payments.at(0).at("status").as_string() == "refunded";
  })) << json::serialize(payments_of(order));
  EXPECT_TRUE(eventually(15s, [&] { return has_notification(order, "order.cancelled"); }))
      << json::serialize(notifications_of(order));
  EXPECT_EQ(dead_letters(), expected);
}

// A payment.succeeded for another amount than the order's, even from payments' own broker user, sells
// nothing: the hold goes back, the order ends CANCELLED (payment_amount_mismatch), and the order's real
// payment, which succeeds afterwards, is refunded.
TEST(Trust, APaymentOfAnotherAmountSellsNothingAndTheMoneyGoesBack) {
  const std::int64_t event = create_event(10);
  const std::string order = place_order(event, 2, "tok_slow");  // 2 x 25.00 EUR, paid after kSlowPayment
  ASSERT_EQ(order_json(order).at("amount_minor").as_int64(), 5000);
  events::PaymentOutcome short_paid;
  short_paid.payment_id = core::random_uuid();
  short_paid.order_id = order;
  short_paid.status = "succeeded";
  short_paid.event_id = event;
  short_paid.quantity = 2;
  short_paid.amount_minor = 1;
  short_paid.currency = "EUR";
  publish_as("payments", new_event(events::PaymentSucceeded::kType, order, json::value_from(short_paid).as_object()));

  EXPECT_TRUE(eventually(10s, [&] { return order_json(order).at("status").as_string() == "CANCELLED"; }))
      << json::serialize(order_json(order));
  EXPECT_EQ(order_json(order).at("status_reason").as_string(), "payment_amount_mismatch");
  EXPECT_EQ(api_counts(event), (EventCounts{10, 10, 0, 0}));
  json::array payments;
  EXPECT_TRUE(eventually(20s, [&] {
    payments = payments_of(order);
    return payments.size() == 1 && payments.at(0).at("status").as_string() == "refunded";
  })) << json::serialize(payments);
  EXPECT_EQ(api_counts(event), (EventCounts{10, 10, 0, 0}));
  EXPECT_TRUE(ledger_balanced());
}

TEST(Trust, TheBrokerRefusesAUserIdOtherThanThePublishersLogin) {
  const std::string order = core::random_uuid();
  const messaging::Message message =
      new_event(events::PaymentRefunded::kType, order, json::object{{"order_id", order}});
  // A publisher cannot pass for another service: the broker validates user_id against the login.
  const std::string refused = publish_with_user_id("orders", "flashtix-payments", message);
  EXPECT_NE(refused.find("PRECONDITION_FAILED"), std::string::npos) << refused;
  // Its own name is what FlashTix's connections stamp, and is taken.
  EXPECT_EQ(publish_with_user_id("payments", "flashtix-payments", message), "");
}

TEST(Trust, EachBrokerUserMayDoOnlyWhatItsServiceNeeds) {
  // The notification service publishes nothing, so its user may not write to the events exchange.
  const std::string order = core::random_uuid();
  const std::string refused =
      publish_with_user_id("notifications", "flashtix-notifications",
                           new_event(events::OrderConfirmed::kType, order, json::object{{"order_id", order}}));
  EXPECT_NE(refused.find("ACCESS_REFUSED"), std::string::npos) << refused;
}

TEST(Trust, OnlyTheServiceUsersLogInToTheBrokerEachWithItsOwnPassword) {
  EXPECT_EQ(broker().login_error("flashtix-orders", broker().password("flashtix-orders")), "");
  for (const auto& [user, password] : {std::pair<std::string, std::string>{"guest", "guest"},
                                       {"flashtix-orders", "guest"},
                                       {"flashtix-orders", broker().password("flashtix-payments")}}) {
    const std::string refused = broker().login_error(user, password);
    EXPECT_NE(refused.find("ACCESS_REFUSED"), std::string::npos) << user << ": " << refused;
  }
}

TEST(Trust, TheDatabaseTakesFlashuserOnlyWithItsPasswordAndTheSuperuserOnlyOnItsSocket) {
  EXPECT_EQ(pg().tcp_login_error("flashuser", pg().password()), "");
  EXPECT_NE(pg().tcp_login_error("flashuser", std::nullopt), "");
  const std::string wrong = pg().tcp_login_error("flashuser", "flashpass");
  EXPECT_NE(wrong.find("password authentication failed"), std::string::npos) << wrong;
  // The superuser over TCP: refused whatever it sends.
  for (const std::optional<std::string>& password :
       {std::optional<std::string>{}, std::optional<std::string>{"postgres"}}) {
    const std::string refused = pg().tcp_login_error("postgres", password);
    EXPECT_NE(refused.find("rejects connection"), std::string::npos) << refused;
  }
  // The socket is the superuser's alone, and only for the account that runs the cluster.
  EXPECT_EQ(pg().socket_login_error("postgres"), "");
  EXPECT_NE(pg().socket_login_error("flashuser"), "");
}

}  // namespace
}  // namespace flashtix::test
