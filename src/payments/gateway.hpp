// The payment gateway seen from this service: charge and refund, both idempotent by payment id (as real
// gateways are by their idempotency key). One simulated gateway is in the box.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>

#include "core/money.hpp"

namespace flashtix::payments {

struct ChargeResult {
  bool approved = false;
  std::string decline_code;  // why not, when not approved
};

class Gateway {
 public:
  virtual ~Gateway() = default;
  // Charges `amount` to the payment method behind `token` once for `payment_id`: a repeat returns the
  // first answer. Throws when the gateway cannot be reached (the caller retries). The caller sets the
  // deadline (--gateway-timeout-ms) and cancels a call that passes it: a gateway must stop when its
  // awaitable is cancelled (Asio's cancellation slot), as every Asio operation it awaits does.
  virtual boost::asio::awaitable<ChargeResult> charge(std::string payment_id, std::string token,
                                                      core::Money amount) = 0;
  // Gives back `amount`, the whole amount charged for `payment_id` ({0, ""}: a charge made before
  // amounts were stored, given back whole as the gateway recorded it).
  virtual boost::asio::awaitable<void> refund(std::string payment_id, core::Money amount) = 0;
};

// A call under the service's deadline (--gateway-timeout-ms): one not answered within `limit` throws
// core::PeerUnavailable, an outage, and is repeated later under the same payment id.
boost::asio::awaitable<ChargeResult> charge_within(Gateway* gateway, std::chrono::milliseconds limit,
                                                   std::string payment_id, std::string token, core::Money amount);
boost::asio::awaitable<void> refund_within(Gateway* gateway, std::chrono::milliseconds limit, std::string payment_id,
                                           core::Money amount);

// The simulated gateway's tokens.
inline constexpr std::string_view kTokenOk = "tok_ok";            // approved
inline constexpr std::string_view kTokenDecline = "tok_decline";  // declined
inline constexpr std::string_view kTokenSlow = "tok_slow";        // approved after slow_delay

struct SimulatedGatewaySettings {
  std::chrono::milliseconds latency{0};  // every call
  std::chrono::milliseconds slow_delay{5000};
  // Share of tok_ok charges declined anyway, for load tests; decided by the payment id, so a repeated
  // charge gets the same answer.
  int decline_percent = 0;
};

// The simulated gateway's decision, apart from its delays: pure, so it is unit-tested. An amount that is not
// positive or whose currency ISO 4217 does not list is declined (invalid_amount) before the token is read.
ChargeResult simulated_decision(std::string_view payment_id, std::string_view token, const core::Money& amount,
                                int decline_percent);

class SimulatedGateway : public Gateway {
 public:
  explicit SimulatedGateway(SimulatedGatewaySettings settings) : settings_(settings) {}
  boost::asio::awaitable<ChargeResult> charge(std::string payment_id, std::string token, core::Money amount) override;
  boost::asio::awaitable<void> refund(std::string payment_id, core::Money amount) override;

 private:
  SimulatedGatewaySettings settings_;
  // Failpoint gateway_first_charge_hangs: the first charge never answers, as a gateway that took the
  // request and went silent.
  std::atomic<bool> hung_once_{false};
};

}  // namespace flashtix::payments
