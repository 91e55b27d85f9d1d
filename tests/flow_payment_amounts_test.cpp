// End-to-end, payments' side of an order's amount: order.created published as the order service does,
// then what the payment stores and answers, what it announces, and what a refund gives back.
#include "core/events.hpp"
#include "core/money.hpp"
#include "core/time.hpp"
#include "core/uuid.hpp"
#include "flow_harness.hpp"

namespace flashtix::test {
namespace {

using namespace std::chrono_literals;
namespace events = core::events;
namespace json = boost::json;

std::string sql_text(const std::string& text) { return "'" + text + "'"; }

// order.created for a new order, from the order service's broker user: payments takes it as one it
// wrote. Orders knows no such order and dead-letters the payment's answer; nothing here needs it to.
std::string publish_order_created(const core::Money& amount, std::string_view payment_token = "tok_ok") {
  const std::string order_id = core::random_uuid();
  const events::OrderCreated created{.order_id = order_id,
                                     .event_id = 1,
                                     .quantity = 2,
                                     .payment_token = std::string(payment_token),
                                     .reservation_id = 1,
                                     .expires_at_ms = core::unix_ms_now() + 60'000,
                                     .customer_email = std::nullopt,
                                     .amount_minor = amount.amount_minor,
                                     .currency = amount.currency};
  publish_as("orders", new_event(events::OrderCreated::kType, order_id, json::value_from(created).as_object()));
  return order_id;
}

// The order's one payment once it has left `pending`, as GET /payments/{id} answers it.
json::object settled_payment(const std::string& order_id, std::string_view status) {
  json::array listed;
  const bool settled = eventually(15s, [&] {
    listed = payments_of(order_id);
    return listed.size() == 1 && listed.at(0).at("status").as_string() == status;
  });
  if (!settled) throw std::runtime_error("order " + order_id + ": payments " + json::serialize(listed));
  const std::string id(listed.at(0).at("payment_id").as_string());
  const HttpResponse one = http_request(payments().port(), "GET", "/payments/" + id);
  if (one.status != 200) throw std::runtime_error("GET /payments/" + id + " answered " + one.describe());
  EXPECT_EQ(one.json(), listed.at(0)) << "the list and GET /payments/{id} disagree";
  return one.json().as_object();
}

// The payload of the one outbox row of `type` that payments wrote for the order.
json::object announced(std::string_view type, const std::string& order_id) {
  const Rows rows = pg().query("SELECT payload::text FROM payments.outbox WHERE type = " + sql_text(std::string(type)) +
                               " AND correlation_id = " + sql_text(order_id));
  if (rows.size() != 1) {
    throw std::runtime_error("order " + order_id + ": " + std::to_string(rows.size()) + " " + std::string(type));
  }
  return json::parse(rows.at(0).at(0)).as_object();
}

TEST(PaymentAmounts, APaidOrdersPaymentStoresShowsAndAnnouncesItsAmount) {
  const std::string order = publish_order_created({12'345, "EUR"});
  const json::object payment = settled_payment(order, "succeeded");
  EXPECT_EQ(payment.at("amount_minor"), 12'345);
  EXPECT_EQ(payment.at("currency"), "EUR");
  EXPECT_TRUE(payment.at("failure_reason").is_null());

  const json::object succeeded = announced(events::PaymentSucceeded::kType, order);
  EXPECT_EQ(succeeded.at("amount_minor"), 12'345);
  EXPECT_EQ(succeeded.at("currency"), "EUR");
  EXPECT_EQ(succeeded.at("payment_id"), payment.at("payment_id"));
}

TEST(PaymentAmounts, AnAmountOutOfBoundsOrInAnUnknownCurrencyFailsAsInvalidAmount) {
  for (const core::Money& amount :
       {core::Money{-1, "EUR"}, core::Money{core::kMaxAmountMinor + 1, "EUR"}, core::Money{1'000, "XYZ"},
        core::Money{1'000, "eur"}, core::Money{1'000, ""}, core::Money{0, ""}}) {
    const std::string described = std::to_string(amount.amount_minor) + " '" + amount.currency + "'";
    const std::string order = publish_order_created(amount);
    const json::object payment = settled_payment(order, "failed");
    EXPECT_EQ(payment.at("failure_reason"), "invalid_amount") << described;
    // Nothing it could charge was stored.
    EXPECT_EQ(payment.at("amount_minor"), 0) << described;
    EXPECT_TRUE(payment.at("currency").is_null()) << described;

    const json::object failed = announced(events::PaymentFailed::kType, order);
    EXPECT_EQ(failed.at("reason"), "invalid_amount") << described;
    EXPECT_EQ(failed.at("amount_minor"), 0) << described;
    EXPECT_EQ(failed.at("currency"), "") << described;
  }
  // The largest amount there may be is charged.
  const std::string largest = publish_order_created({core::kMaxAmountMinor, "JPY"});
  EXPECT_EQ(settled_payment(largest, "succeeded").at("amount_minor"), core::kMaxAmountMinor);
}

// tok_decline would be declined by the gateway: a free order's payment succeeds because it never asks.
TEST(PaymentAmounts, AFreeOrderSucceedsWithoutTheGateway) {
  const std::string order = publish_order_created({0, "EUR"}, "tok_decline");
  const json::object payment = settled_payment(order, "succeeded");
  EXPECT_EQ(payment.at("amount_minor"), 0);
  EXPECT_EQ(payment.at("currency"), "EUR");
  EXPECT_EQ(announced(events::PaymentSucceeded::kType, order).at("currency"), "EUR");
}

// An order cancelled after its payment succeeded, as the order service announces it: the refund is the
// amount charged, a free order's included (0, without the gateway).
TEST(PaymentAmounts, ARefundRecordsTheAmountCharged) {
  for (const core::Money& amount : {core::Money{4'200, "GBP"}, core::Money{0, "EUR"}}) {
    const std::string order = publish_order_created(amount);
    const std::string payment_id(settled_payment(order, "succeeded").at("payment_id").as_string());
    const events::OrderEnded cancelled{.order_id = order,
                                       .status = "CANCELLED",
                                       .event_id = 1,
                                       .quantity = 2,
                                       .reservation_id = 1,
                                       .customer_email = std::nullopt,
                                       .payment_id = payment_id,
                                       .reason = "cancelled_by_customer"};
    publish_as("orders", new_event(events::OrderCancelled::kType, order, json::value_from(cancelled).as_object()));

    const json::object payment = settled_payment(order, "refunded");
    EXPECT_EQ(payment.at("amount_minor"), amount.amount_minor);
    EXPECT_EQ(payment.at("currency").as_string(), amount.currency);
    const json::object refunded = announced(events::PaymentRefunded::kType, order);
    EXPECT_EQ(refunded.at("amount_minor"), amount.amount_minor);
    EXPECT_EQ(refunded.at("currency").as_string(), amount.currency);
    EXPECT_EQ(refunded.at("status"), "refunded");
  }
}

}  // namespace
}  // namespace flashtix::test
