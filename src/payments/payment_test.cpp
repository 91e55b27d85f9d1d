// The simulated gateway's decisions, how a payment is charged and refunded, the payment's JSON shapes, and
// the limits of its calls.
#include <gtest/gtest.h>

#include <limits>
#include <optional>

#include "core/limits_test_support.hpp"
#include "payments/events.hpp"
#include "payments/gateway.hpp"
#include "payments/limits.hpp"
#include "payments/payment.hpp"

namespace flashtix::payments {
namespace {

const core::Money kTenEuros{1'000, "EUR"};

TEST(SimulatedGateway, DecidesByToken) {
  EXPECT_TRUE(simulated_decision("p1", kTokenOk, kTenEuros, 0).approved);
  EXPECT_TRUE(simulated_decision("p1", kTokenSlow, kTenEuros, 0).approved);
  const ChargeResult declined = simulated_decision("p1", kTokenDecline, kTenEuros, 0);
  EXPECT_FALSE(declined.approved);
  EXPECT_EQ(declined.decline_code, "card_declined");
  EXPECT_EQ(simulated_decision("p1", "tok_unknown", kTenEuros, 0).decline_code, "invalid_token");
}

// A gateway charges something, in a currency it knows; it says so before it looks at the card.
TEST(SimulatedGateway, DeclinesAnAmountThatIsNotPositiveOrInAnUnknownCurrency) {
  EXPECT_TRUE(simulated_decision("p1", kTokenOk, {1, "JPY"}, 0).approved);
  EXPECT_TRUE(simulated_decision("p1", kTokenOk, {core::kMaxAmountMinor, "USD"}, 0).approved);
  for (const core::Money& amount : {core::Money{0, "EUR"}, core::Money{-1, "EUR"}, core::Money{1'000, ""},
                                    core::Money{1'000, "eur"}, core::Money{1'000, "XXX"}, core::Money{1'000, "EURO"}}) {
    for (std::string_view token : {kTokenOk, kTokenDecline, std::string_view("tok_unknown")}) {
      const ChargeResult result = simulated_decision("p1", token, amount, 0);
      EXPECT_FALSE(result.approved) << amount.amount_minor << " " << amount.currency << " " << token;
      EXPECT_EQ(result.decline_code, kInvalidAmount) << amount.amount_minor << " " << amount.currency << " " << token;
    }
  }
}

TEST(SimulatedGateway, DeclineRateIsAboutRightAndRepeatable) {
  int declined = 0;
  for (int i = 0; i < 10'000; ++i) {
    const std::string id = "payment-" + std::to_string(i);
    const bool first = simulated_decision(id, kTokenOk, kTenEuros, 10).approved;
    EXPECT_EQ(first, simulated_decision(id, kTokenOk, kTenEuros, 10).approved)
        << "a repeated charge must get the same answer";
    if (!first) ++declined;
  }
  EXPECT_GT(declined, 800);
  EXPECT_LT(declined, 1200);
  EXPECT_TRUE(simulated_decision("any", kTokenOk, kTenEuros, 0).approved);
  EXPECT_FALSE(simulated_decision("any", kTokenOk, kTenEuros, 100).approved);
}

TEST(Charge, AnAmountFromZeroToTheMaximumInAKnownCurrencyIsChargeable) {
  EXPECT_TRUE(is_chargeable({0, "EUR"}));
  EXPECT_TRUE(is_chargeable({1, "JPY"}));
  EXPECT_TRUE(is_chargeable({core::kMaxAmountMinor, "USD"}));
  EXPECT_FALSE(is_chargeable({-1, "EUR"}));
  EXPECT_FALSE(is_chargeable({core::kMaxAmountMinor + 1, "EUR"}));
  EXPECT_FALSE(is_chargeable({std::numeric_limits<std::int64_t>::min(), "EUR"}));
  EXPECT_FALSE(is_chargeable({100, ""}));
  EXPECT_FALSE(is_chargeable({100, "eur"}));
  EXPECT_FALSE(is_chargeable({100, "ABC"}));
  EXPECT_FALSE(is_chargeable({0, ""})) << "a free order still names its currency";
}

Payment payment_of(std::int64_t amount_minor, std::optional<std::string> currency) {
  Payment payment;
  payment.id = "11111111-1111-4111-8111-111111111111";
  payment.status = std::string(kPending);
  payment.amount_minor = amount_minor;
  payment.currency = std::move(currency);
  return payment;
}

TEST(Charge, APaymentWithoutAmountFailsAFreeOneSucceedsAndTheRestGoToTheGateway) {
  EXPECT_EQ(charge_route(payment_of(1'000, "EUR")), ChargeRoute::gateway);
  EXPECT_EQ(charge_route(payment_of(0, "EUR")), ChargeRoute::free);
  EXPECT_EQ(charge_route(payment_of(0, std::nullopt)), ChargeRoute::refuse);
}

TEST(Charge, ARefundGivesBackTheAmountChargedAndAFreeOneSkipsTheGateway) {
  EXPECT_TRUE(refund_needs_gateway(payment_of(1'000, "EUR")));
  EXPECT_EQ(amount_of(payment_of(1'000, "EUR")), (core::Money{1'000, "EUR"}));
  EXPECT_FALSE(refund_needs_gateway(payment_of(0, "EUR")));
  // Charged before amounts were stored: the gateway gives back the whole charge it holds.
  EXPECT_TRUE(refund_needs_gateway(payment_of(0, std::nullopt)));
  EXPECT_EQ(amount_of(payment_of(0, std::nullopt)), (core::Money{0, ""}));
}

TEST(PaymentJson, HidesTheTokenAndShowsTheOutcome) {
  Payment payment;
  payment.id = "11111111-1111-4111-8111-111111111111";
  payment.order_id = "22222222-2222-4222-8222-222222222222";
  payment.event_id = 7;
  payment.quantity = 2;
  payment.payment_token = "tok_ok";
  payment.amount_minor = 12'345;
  payment.currency = "EUR";
  payment.status = std::string(kFailed);
  payment.failure_reason = "card_declined";
  const auto json = to_json(payment);
  EXPECT_FALSE(json.contains("payment_token"));
  EXPECT_EQ(json.at("amount_minor").as_int64(), 12'345);
  EXPECT_EQ(json.at("currency").as_string(), "EUR");
  EXPECT_EQ(json.at("status").as_string(), "failed");
  EXPECT_EQ(json.at("failure_reason").as_string(), "card_declined");
  EXPECT_TRUE(json.at("refunded_at").is_null());
  const auto payload = core::json::value_from(event_payload(payment)).as_object();
  EXPECT_EQ(payload.at("order_id").as_string(), payment.order_id);
  EXPECT_EQ(payload.at("reason").as_string(), "card_declined");
  EXPECT_EQ(payload.at("amount_minor").as_int64(), 12'345);
  EXPECT_EQ(payload.at("currency").as_string(), "EUR");

  // No amount stored: none in the API (null), and 0 and "" in the event, whose fields are always there.
  payment.amount_minor = 0;
  payment.currency.reset();
  payment.failure_reason = std::string(kInvalidAmount);
  EXPECT_TRUE(to_json(payment).at("currency").is_null());
  const auto refused = core::json::value_from(event_payload(payment)).as_object();
  EXPECT_EQ(refused.at("amount_minor").as_int64(), 0);
  EXPECT_EQ(refused.at("currency").as_string(), "");
  EXPECT_EQ(refused.at("reason").as_string(), "invalid_amount");
  EXPECT_TRUE(is_payment_status("refunded"));
  EXPECT_FALSE(is_payment_status("REFUNDED"));
}

// A type the contract binds to the payments queue without a route would be dead-lettered; a route for a
// type not bound would never run.
TEST(EventRoutes, RouteExactlyTheTypesTheContractSendsToPayments) {
  EXPECT_EQ(event_routes().contract_mismatch(), std::nullopt);
  EXPECT_FALSE(event_routes().types().empty());
}

TEST(PaymentsLimits, FlagsKeepTheirDefaultsAndTheGatewayTimeoutIsNew) {
  const Limits limits = core::test_support::limits_from_flags<Limits>("flashtix-payments", {});
  EXPECT_EQ(limits.gateway_timeout, std::chrono::milliseconds(10'000));
  EXPECT_EQ(limits.refund_interval, std::chrono::milliseconds(500));
  EXPECT_EQ(limits.simulated_gateway.slow_delay, std::chrono::milliseconds(5000));
  EXPECT_EQ(limits.simulated_gateway.decline_percent, 0);
}

TEST(PaymentsLimits, ASlowChargeThatCannotFinishWithinTheGatewayTimeoutIsRefused) {
  Limits limits;
  limits.simulated_gateway.slow_delay = std::chrono::milliseconds(9000);
  EXPECT_NO_THROW(limits.check());
  limits.simulated_gateway.latency = std::chrono::milliseconds(1000);
  EXPECT_THROW(limits.check(), std::invalid_argument);
  limits.gateway_timeout = std::chrono::milliseconds(10'001);
  EXPECT_NO_THROW(limits.check());
}

}  // namespace
}  // namespace flashtix::payments
