// The inventory service's limits: their flags keep today's names and defaults, and limits that disagree
// stop the service at start.
#include "inventory/limits.hpp"

#include <gtest/gtest.h>

#include <map>

#include "core/limits_test_support.hpp"

namespace flashtix::inventory {
namespace {

Limits limits_from_flags(std::vector<const char*> argv) {
  return core::test_support::limits_from_flags<Limits>("flashtix-inventory", std::move(argv));
}

TEST(InventoryLimits, FlagsKeepTheirNamesAndDefaults) {
  const std::map<std::string, std::string> expected{{"max-quantity", "10"},          {"default-hold-seconds", "600"},
                                                    {"max-hold-seconds", "3600"},    {"sweep-interval-ms", "250"},
                                                    {"max-batch-size", "512"},       {"max-waiting-per-event", "10000"},
                                                    {"queue-wait-ms", "2000"},       {"sold-out-recheck-ms", "500"},
                                                    {"stream-interval-ms", "250"},   {"max-stream-subscribers", "1000"},
                                                    {"max-streams-per-client", "10"}};
  EXPECT_EQ(core::test_support::flag_defaults<Limits>(), expected);
  const Limits limits = limits_from_flags({});
  EXPECT_EQ(limits.max_hold_seconds, 3600);
  EXPECT_EQ(limits.desk.queue_wait, std::chrono::milliseconds(2000));
  EXPECT_EQ(limits.stream.max_per_client, 10);
}

TEST(InventoryLimits, ADefaultHoldAboveTheMaximumIsRefusedNamingBothFlags) {
  try {
    limits_from_flags({"--max-hold-seconds=60"});
    FAIL() << "a default hold of 600 s above a maximum of 60 s was accepted";
  } catch (const std::invalid_argument& e) {
    const std::string why = e.what();
    EXPECT_NE(why.find("--default-hold-seconds (600)"), std::string::npos) << why;
    EXPECT_NE(why.find("--max-hold-seconds (60)"), std::string::npos) << why;
  }
  EXPECT_EQ(limits_from_flags({"--max-hold-seconds=60", "--default-hold-seconds=60"}).default_hold_seconds, 60);
}

TEST(InventoryLimits, AStreamIntervalLongerThanItsKeepaliveIsRefused) {
  EXPECT_THROW(limits_from_flags({"--stream-interval-ms=20000"}), std::invalid_argument);
  EXPECT_EQ(limits_from_flags({"--stream-interval-ms=15000"}).stream.tick, std::chrono::milliseconds(15000));
}

}  // namespace
}  // namespace flashtix::inventory
