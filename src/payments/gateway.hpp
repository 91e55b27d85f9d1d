// The payment gateway seen from this service: charge and refund, both idempotent by payment id (as real
// gateways are by their idempotency key). One simulated gateway is in the box.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>

namespace flashtix::payments {

struct ChargeResult {
  bool approved = false;
  std::string decline_code;  // why not, when not approved
};

class Gateway {
 public:
  virtual ~Gateway() = default;
  // Charges the payment method behind `token` once for `payment_id`: a repeat returns the first answer.
  // Throws when the gateway cannot be reached (the caller retries). The caller sets the deadline
  // (--gateway-timeout-ms) and cancels a call that passes it: a gateway must stop when its awaitable is
  // cancelled (Asio's cancellation slot), as every Asio operation it awaits does.
  virtual boost::asio::awaitable<ChargeResult> charge(std::string payment_id, std::string token) = 0;
  virtual boost::asio::awaitable<void> refund(std::string payment_id) = 0;
};

// A call under the service's deadline (--gateway-timeout-ms): one not answered within `limit` throws
// core::PeerUnavailable, an outage, and is repeated later under the same payment id.
boost::asio::awaitable<ChargeResult> charge_within(Gateway* gateway, std::chrono::milliseconds limit,
                                                   std::string payment_id, std::string token);
boost::asio::awaitable<void> refund_within(Gateway* gateway, std::chrono::milliseconds limit, std::string payment_id);

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

// The simulated gateway's decision, apart from its delays: pure, so it is unit-tested.
ChargeResult simulated_decision(std::string_view payment_id, std::string_view token, int decline_percent);

class SimulatedGateway : public Gateway {
 public:
  explicit SimulatedGateway(SimulatedGatewaySettings settings) : settings_(settings) {}
  boost::asio::awaitable<ChargeResult> charge(std::string payment_id, std::string token) override;
  boost::asio::awaitable<void> refund(std::string payment_id) override;

 private:
  SimulatedGatewaySettings settings_;
  // Failpoint gateway_first_charge_hangs: the first charge never answers, as a gateway that took the
  // request and went silent.
  std::atomic<bool> hung_once_{false};
};

}  // namespace flashtix::payments
