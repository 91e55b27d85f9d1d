// The notification service's limit flags, read once at start and checked against each other.
#include "notifications/limits.hpp"

#include <stdexcept>
#include <string>

#include "core/limits.hpp"

namespace flashtix::notifications {

namespace {

core::LimitFlags<Limits> flags() {
  core::LimitFlags<Limits> table;
  table.add("webhook-timeout-ms", &Limits::webhook_timeout, 10, 600'000, "deadline of one webhook POST")
      .add("webhook-max-attempts", &Limits::retry, &RetryPolicy::max_attempts, 1, 1000,
           "POSTs of one notification before it is marked failed")
      .add("webhook-first-retry-ms", &Limits::retry, &RetryPolicy::first_retry, 1, 3'600'000,
           "pause after the first failed POST; doubles per failure")
      .add("webhook-max-retry-ms", &Limits::retry, &RetryPolicy::max_retry, 1, 86'400'000,
           "longest pause between POSTs of one notification")
      .add("delivery-interval-ms", &Limits::delivery_interval, 10, 60'000,
           "how often due notifications are looked for when nothing new came");
  return table;
}

}  // namespace

std::vector<core::ConfigOption> Limits::options() { return flags().options(); }

Limits Limits::from(const core::Config& config) { return flags().read(config); }

void Limits::check() const {
  if (retry.max_retry < retry.first_retry) {
    throw std::invalid_argument("--webhook-max-retry-ms must be at least --webhook-first-retry-ms");
  }
}

}  // namespace flashtix::notifications
