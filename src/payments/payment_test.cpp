// The simulated gateway's decisions, the payment's JSON shapes, and the limits of its calls.
#include <gtest/gtest.h>

#include <optional>

#include "core/limits_test_support.hpp"
#include "payments/events.hpp"
#include "payments/gateway.hpp"
#include "payments/limits.hpp"
#include "payments/payment.hpp"

namespace flashtix::payments {
namespace {

TEST(SimulatedGateway, DecidesByToken) {
  EXPECT_TRUE(simulated_decision("p1", kTokenOk, 0).approved);
  EXPECT_TRUE(simulated_decision("p1", kTokenSlow, 0).approved);
  const ChargeResult declined = simulated_decision("p1", kTokenDecline, 0);
  EXPECT_FALSE(declined.approved);
  EXPECT_EQ(declined.decline_code, "card_declined");
  EXPECT_EQ(simulated_decision("p1", "tok_unknown", 0).decline_code, "invalid_token");
}

TEST(SimulatedGateway, DeclineRateIsAboutRightAndRepeatable) {
  int declined = 0;
  for (int i = 0; i < 10'000; ++i) {
    const std::string id = "payment-" + std::to_string(i);
    const bool first = simulated_decision(id, kTokenOk, 10).approved;
    EXPECT_EQ(first, simulated_decision(id, kTokenOk, 10).approved) << "a repeated charge must get the same answer";
    if (!first) ++declined;
  }
  EXPECT_GT(declined, 800);
  EXPECT_LT(declined, 1200);
  EXPECT_TRUE(simulated_decision("any", kTokenOk, 0).approved);
  EXPECT_FALSE(simulated_decision("any", kTokenOk, 100).approved);
}

TEST(PaymentJson, HidesTheTokenAndShowsTheOutcome) {
  Payment payment;
  payment.id = "11111111-1111-4111-8111-111111111111";
  payment.order_id = "22222222-2222-4222-8222-222222222222";
  payment.event_id = 7;
  payment.quantity = 2;
  payment.payment_token = "tok_ok";
  payment.status = std::string(kFailed);
  payment.failure_reason = "card_declined";
  const auto json = to_json(payment);
  EXPECT_FALSE(json.contains("payment_token"));
  EXPECT_EQ(json.at("status").as_string(), "failed");
  EXPECT_EQ(json.at("failure_reason").as_string(), "card_declined");
  EXPECT_TRUE(json.at("refunded_at").is_null());
  const auto payload = core::json::value_from(event_payload(payment)).as_object();
  EXPECT_EQ(payload.at("order_id").as_string(), payment.order_id);
  EXPECT_EQ(payload.at("reason").as_string(), "card_declined");
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
