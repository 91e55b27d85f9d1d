// Every bound of the notification service's delivery in one place, each flag's default the member's
// initial value, with the checks that they agree. The bounds of a notification's content and of a
// webhook secret sit beside the code that checks them (notification.hpp, signature.hpp, webhook_client.hpp).
#pragma once

#include <chrono>
#include <vector>

#include "core/config.hpp"
#include "notifications/notification.hpp"

namespace flashtix::notifications {

struct Limits {
  // One POST at most: connect, send and the receiver's answer.
  std::chrono::milliseconds webhook_timeout{10'000};
  RetryPolicy retry;
  // How often the delivery loop looks for due rows when nothing woke it (rows recorded by other
  // instances, retries coming due).
  std::chrono::milliseconds delivery_interval{250};
  // Rows claimed, and so POSTs in flight, at once per instance.
  int delivery_batch = 32;
  // A claim outlives the POST's deadline by this much, to cover recording its outcome; only after it may
  // another instance try the row again.
  std::chrono::seconds delivery_lease_margin{15};

  // The flags of these limits: name, default (the initial values above) and help.
  static std::vector<core::ConfigOption> options();
  // The limits the flags set; throws std::invalid_argument naming the flags when one is out of its range
  // or two disagree.
  static Limits from(const core::Config& config);
  // Throws std::invalid_argument naming the flags of two limits that disagree.
  void check() const;
};

}  // namespace flashtix::notifications
