// The payment service's limit flags, read once at start and checked against each other.
#include "payments/limits.hpp"

#include <stdexcept>
#include <string>

#include "core/limits.hpp"

namespace flashtix::payments {

namespace {

core::LimitFlags<Limits> flags() {
  core::LimitFlags<Limits> table;
  table
      .add("gateway-latency-ms", &Limits::simulated_gateway, &SimulatedGatewaySettings::latency, 0, 60'000,
           "the simulated gateway's delay on every call")
      .add("gateway-slow-delay-ms", &Limits::simulated_gateway, &SimulatedGatewaySettings::slow_delay, 0, 600'000,
           "how long a tok_slow charge takes")
      .add("gateway-decline-percent", &Limits::simulated_gateway, &SimulatedGatewaySettings::decline_percent, 0, 100,
           "share of tok_ok charges the simulated gateway declines")
      .add("gateway-timeout-ms", &Limits::gateway_timeout, 10, 3'600'000,
           "deadline of one call to the payment gateway; a charge past it is repeated later, as in an outage")
      .add("refund-interval-ms", &Limits::refund_interval, 10, 60'000,
           "how often money held for closed orders is looked for");
  return table;
}

}  // namespace

std::vector<core::ConfigOption> Limits::options() { return flags().options(); }

Limits Limits::from(const core::Config& config) { return flags().read(config); }

void Limits::check() const {
  const auto slowest_charge = simulated_gateway.latency + simulated_gateway.slow_delay;
  if (slowest_charge >= gateway_timeout) {
    throw std::invalid_argument("--gateway-latency-ms plus --gateway-slow-delay-ms (" +
                                std::to_string(slowest_charge.count()) + ") is not below --gateway-timeout-ms (" +
                                std::to_string(gateway_timeout.count()) +
                                "): every tok_slow charge would miss its deadline and be repeated for ever");
  }
}

}  // namespace flashtix::payments
