// Every bound of the payment service in one place, each a flag whose default is the member's initial
// value (the simulated gateway's delays too, since they must fit within the gateway's deadline), with the
// checks that they agree.
#pragma once

#include <chrono>
#include <cstddef>
#include <vector>

#include "core/config.hpp"
#include "payments/gateway.hpp"

namespace flashtix::payments {

// The longest payment token an order.created may carry (orders refuses longer ones already).
inline constexpr std::size_t kMaxPaymentTokenLength = 64;

struct Limits {
  // One call to the gateway, charge or refund. Past it the call counts as an outage: a charge's message is
  // held and the charge repeated under the same payment id, a refund is tried again on the next round.
  std::chrono::milliseconds gateway_timeout{10'000};
  std::chrono::milliseconds refund_interval{500};
  int refunds_per_round = 100;  // refunds one round makes at most
  SimulatedGatewaySettings simulated_gateway;

  // The flags of these limits: name, default (the initial values above) and help.
  static std::vector<core::ConfigOption> options();
  // The limits the flags set; throws std::invalid_argument naming the flags when one is out of its range
  // or two disagree.
  static Limits from(const core::Config& config);
  // Throws std::invalid_argument naming the flags of two limits that disagree.
  void check() const;
};

}  // namespace flashtix::payments
