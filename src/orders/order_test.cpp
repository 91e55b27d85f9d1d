// Order request parsing, the idempotency fingerprint, and the Idempotency-Key header rules.
#include "orders/inventory_client.hpp"
#include "orders/order.hpp"

#include <gtest/gtest.h>

#include <optional>

#include "orders/events.hpp"

namespace flashtix::orders {
namespace {

const Limits kLimits{};

TEST(ParseCreateOrder, SeedBodyWorks) {
  auto parsed = parse_create_order(R"({"event_id": 1, "quantity": 2})", kLimits);
  ASSERT_TRUE(std::holds_alternative<CreateOrder>(parsed));
  EXPECT_EQ(std::get<CreateOrder>(parsed).quantity, 2);
  EXPECT_FALSE(std::get<CreateOrder>(parsed).customer_email);
}

TEST(ParseCreateOrder, RefusesBadInput) {
  for (const char* body : {R"({"quantity": 1})", R"({"event_id": 1, "quantity": 0})",
                           R"({"event_id": 1, "quantity": 11})", R"({"event_id": 1.5})",
                           R"({"event_id": 1, "customer_email": "nobody"})", R"({"event_id": 1, "customer_email": 7})",
                           "[]", "{"}) {
    EXPECT_TRUE(std::holds_alternative<core::Problem>(parse_create_order(body, kLimits))) << body;
  }
}

TEST(Fingerprint, SameFieldsSameFingerprintWhateverTheSpelling) {
  auto a = std::get<CreateOrder>(parse_create_order(R"({"event_id": 1, "quantity": 1})", kLimits));
  auto b = std::get<CreateOrder>(parse_create_order(R"({ "quantity":1,"event_id":1 })", kLimits));
  auto c = std::get<CreateOrder>(parse_create_order(R"({"event_id": 1})", kLimits));
  auto d = std::get<CreateOrder>(parse_create_order(R"({"event_id": 1, "quantity": 2})", kLimits));
  auto e = std::get<CreateOrder>(parse_create_order(R"({"event_id": 1, "customer_email": "a@b.c"})", kLimits));
  EXPECT_EQ(a.fingerprint(), b.fingerprint());
  EXPECT_EQ(a.fingerprint(), c.fingerprint());  // quantity defaults to 1
  EXPECT_NE(a.fingerprint(), d.fingerprint());
  EXPECT_NE(a.fingerprint(), e.fingerprint());
}

TEST(ParseCreateOrder, ItemsByTypeAddUpToTheQuantity) {
  auto parsed = parse_create_order(
      R"({"event_id": 1, "items": [{"ticket_type_id": 7, "quantity": 2}, {"ticket_type_id": 9, "quantity": 1}]})", kLimits);
  ASSERT_TRUE(std::holds_alternative<CreateOrder>(parsed));
  const CreateOrder& command = std::get<CreateOrder>(parsed);
  EXPECT_EQ(command.quantity, 3);
  EXPECT_EQ(command.items, (std::vector<OrderItem>{{7, 2, 0}, {9, 1, 0}}));
  for (const char* body : {
           R"({"event_id": 1, "items": []})",
           R"({"event_id": 1, "items": {}})",
           R"({"event_id": 1, "items": [1]})",
           R"({"event_id": 1, "quantity": 1, "items": [{"ticket_type_id": 7, "quantity": 1}]})",
           R"({"event_id": 1, "items": [{"ticket_type_id": 7, "quantity": 1}, {"ticket_type_id": 7, "quantity": 1}]})",
           R"({"event_id": 1, "items": [{"ticket_type_id": 7, "quantity": 0}]})",
           R"({"event_id": 1, "items": [{"ticket_type_id": 0, "quantity": 1}]})",
           R"({"event_id": 1, "items": [{"quantity": 1}]})",
           R"({"event_id": 1, "items": [{"ticket_type_id": 7, "quantity": 6}, {"ticket_type_id": 8, "quantity": 6}]})",
       }) {
    EXPECT_TRUE(std::holds_alternative<core::Problem>(parse_create_order(body, kLimits))) << body;
  }
}

TEST(Fingerprint, ItemsCountOnlyWhenGiven) {
  const auto of = [](const char* body) { return std::get<CreateOrder>(parse_create_order(body, kLimits)).fingerprint(); };
  // A key first used before types existed still matches its body.
  EXPECT_EQ(of(R"({"event_id": 1, "quantity": 2})"), R"({"event_id":1,"quantity":2,"customer_email":null,"payment_token":"tok_ok"})");
  EXPECT_NE(of(R"({"event_id": 1, "items": [{"ticket_type_id": 7, "quantity": 2}]})"),
            of(R"({"event_id": 1, "items": [{"ticket_type_id": 8, "quantity": 2}]})"));
  // The same items listed in another order are the same request.
  EXPECT_EQ(of(R"({"event_id": 1, "items": [{"ticket_type_id": 7, "quantity": 2}, {"ticket_type_id": 3, "quantity": 1}]})"),
            of(R"({"event_id": 1, "items": [{"ticket_type_id": 3, "quantity": 1}, {"ticket_type_id": 7, "quantity": 2}]})"));
}

TEST(ReserveAnswer, AHoldIsReadWithItsItemsAndAHoldThatNeverHeldWithout) {
  const auto outcome = [](int status, const char* body) {
    return reserve_outcome(static_cast<core::http::status>(status), core::json::parse(body));
  };
  const ReserveOutcome held = outcome(200, R"({"reservation_id": 7, "status": "HELD", "expires_at": "2026-12-04T10:00:00.000Z",
      "items": [{"ticket_type_id": 3, "quantity": 2, "unit_price_minor": 4500}], "amount_minor": 9000, "currency": "EUR"})");
  ASSERT_TRUE(std::holds_alternative<Hold>(held));
  EXPECT_EQ(std::get<Hold>(held).items, (std::vector<OrderItem>{{3, 2, 4500}}));
  EXPECT_EQ(std::get<Hold>(held).amount_minor, 9000);
  EXPECT_EQ(std::get<Hold>(held).currency, "EUR");
  // A key given back before its reserve came: RELEASED, no items, no currency. Read as a hold (which the
  // checkout answers 503 and gives back), not as an answer it cannot read.
  const ReserveOutcome tombstone = outcome(200, R"({"reservation_id": 8, "status": "RELEASED", "expires_at": "2026-12-04T10:00:00.000Z",
      "items": [], "amount_minor": 0, "currency": null})");
  ASSERT_TRUE(std::holds_alternative<Hold>(tombstone));
  EXPECT_EQ(std::get<Hold>(tombstone).status, "RELEASED");
  EXPECT_TRUE(std::holds_alternative<ReserveFailed>(
      outcome(200, R"({"reservation_id": 7, "status": "HELD", "expires_at": "2026-12-04T10:00:00.000Z"})")));
  const ReserveOutcome refused = outcome(404, R"({"type": "urn:flashtix:problem:ticket_type_not_found", "title": "Ticket type not found",
      "status": 404, "detail": "event 1 has no ticket type 9", "code": "ticket_type_not_found", "ticket_type_id": 9})");
  ASSERT_TRUE(std::holds_alternative<ItemsRefused>(refused));
  EXPECT_EQ(std::get<ItemsRefused>(refused).problem.extra.at("ticket_type_id"), 9);
  // Passed on as inventory gave it, as the order's own answer, not as a fault.
  const ReserveOutcome dear = outcome(400, R"({"type": "urn:flashtix:problem:amount_out_of_range", "title": "Amount out of range",
      "status": 400, "detail": "too dear", "code": "amount_out_of_range", "amount_minor": 1100000000000,
      "max_amount_minor": 1000000000000})");
  ASSERT_TRUE(std::holds_alternative<ItemsRefused>(dear));
  EXPECT_EQ(std::get<ItemsRefused>(dear).problem.code, "amount_out_of_range");
  EXPECT_EQ(std::get<ItemsRefused>(dear).problem.extra.at("max_amount_minor"), 1'000'000'000'000);
}

TEST(PaysFor, APaymentPaysAnOrderOnlyWithItsAmountAndCurrency) {
  Order order;
  order.amount_minor = 5000;
  order.currency = "EUR";
  core::events::PaymentOutcome paid;
  paid.amount_minor = 5000;
  paid.currency = "EUR";
  EXPECT_TRUE(pays_for(paid, order));
  paid.amount_minor = 4999;
  EXPECT_FALSE(pays_for(paid, order));
  paid.amount_minor = 5000;
  paid.currency = "GBP";
  EXPECT_FALSE(pays_for(paid, order));
  // A payment from before amounts names none, and is taken at its word.
  paid.amount_minor = 0;
  paid.currency = "";
  EXPECT_TRUE(pays_for(paid, order));
}

TEST(IdempotencyKeyHeader, AbsentOrVisibleAscii) {
  EXPECT_FALSE(std::get<std::optional<std::string>>(parse_idempotency_key("", false)).has_value());
  EXPECT_EQ(std::get<std::optional<std::string>>(parse_idempotency_key("abc-123", true)), "abc-123");
  EXPECT_TRUE(std::holds_alternative<core::Problem>(parse_idempotency_key("", true)));
  EXPECT_TRUE(std::holds_alternative<core::Problem>(parse_idempotency_key("has space", true)));
  EXPECT_TRUE(std::holds_alternative<core::Problem>(parse_idempotency_key(std::string(256, 'k'), true)));
}

TEST(OrderStatus, KnowsTheFour) {
  for (auto status : {kPendingPayment, kConfirmed, kCancelled, kExpired}) EXPECT_TRUE(is_order_status(status));
  EXPECT_FALSE(is_order_status("HELD"));
}

// A type the contract binds to the orders queue without a route would be dead-lettered; a route for a
// type not bound would never run.
TEST(EventRoutes, RouteExactlyTheTypesTheContractSendsToOrders) {
  EXPECT_EQ(event_routes().contract_mismatch(), std::nullopt);
  EXPECT_FALSE(event_routes().types().empty());
}

}  // namespace
}  // namespace flashtix::orders
