// The order service's limits: their flags keep today's names and defaults, and a hold time or quantity
// inventory would refuse is found before any order is taken.
#include "orders/limits.hpp"

#include <gtest/gtest.h>

#include <map>

#include "core/limits_test_support.hpp"

namespace flashtix::orders {
namespace {

Limits limits_from_flags(std::vector<const char*> argv) {
  return core::test_support::limits_from_flags<Limits>("flashtix-orders", std::move(argv));
}

TEST(OrdersLimits, FlagsKeepTheirNamesAndDefaults) {
  const std::map<std::string, std::string> expected{{"inventory-timeout-ms", "3000"}, {"max-quantity", "10"},
                                                    {"hold-seconds", "600"},          {"sweep-interval-ms", "500"},
                                                    {"max-batch-size", "512"},        {"max-waiting-writes", "10000"},
                                                    {"queue-wait-ms", "2000"}};
  EXPECT_EQ(core::test_support::flag_defaults<Limits>(), expected);
  const Limits limits = limits_from_flags({});
  EXPECT_EQ(limits.hold_seconds, 600);
  EXPECT_EQ(limits.inventory_timeout, std::chrono::milliseconds(3000));
  EXPECT_EQ(limits.checkout_writes.max_batch, 512u);
}

TEST(OrdersLimits, FlagsSetTheirMembersWithinTheirRanges) {
  const Limits limits = limits_from_flags({"--hold-seconds=30", "--max-batch-size=7", "--queue-wait-ms=15"});
  EXPECT_EQ(limits.hold_seconds, 30);
  EXPECT_EQ(limits.checkout_writes.max_batch, 7u);
  EXPECT_EQ(limits.queue_wait, std::chrono::milliseconds(15));
  EXPECT_THROW(limits_from_flags({"--hold-seconds=0"}), std::invalid_argument);
  EXPECT_THROW(limits_from_flags({"--max-batch-size=10001"}), std::invalid_argument);
}

TEST(OrdersLimits, AgreeWithInventorysDefaults) {
  EXPECT_EQ(Limits{}.disagreement_with(InventoryLimits{10, 600, 3600, 256}), std::nullopt);
}

TEST(OrdersLimits, AHoldTimeAboveInventorysMaximumNamesBothFlags) {
  Limits limits;
  limits.hold_seconds = 7200;
  const auto why = limits.disagreement_with(InventoryLimits{10, 600, 3600, 256});
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("--hold-seconds (7200)"), std::string::npos) << *why;
  EXPECT_NE(why->find("--max-hold-seconds (3600)"), std::string::npos) << *why;
}

TEST(OrdersLimits, AQuantityOrABatchAboveInventorysMaximumDisagrees) {
  Limits limits;
  limits.max_tickets_per_order = 20;
  EXPECT_TRUE(limits.disagreement_with(InventoryLimits{10, 600, 3600, 256}));
  EXPECT_TRUE(Limits{}.disagreement_with(InventoryLimits{10, 600, 3600, 100}));
}

}  // namespace
}  // namespace flashtix::orders
