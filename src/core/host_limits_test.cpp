// The bounds every service shares: defaults written once, ranges and agreement checked at start.
#include "core/host_limits.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "core/limits_test_support.hpp"

namespace flashtix::core {
namespace {

HostLimits limits_from(std::vector<const char*> flags) {
  return test_support::limits_from_flags<HostLimits>("test", std::move(flags));
}

TEST(HostLimits, WithoutFlagsTheyAreTheInitialValues) {
  const HostLimits read = limits_from({});
  const HostLimits initial{};
  EXPECT_EQ(read.threads, initial.threads);
  EXPECT_EQ(read.db_pool_size, 4);
  EXPECT_EQ(read.server.max_body_bytes, initial.server.max_body_bytes);
  EXPECT_EQ(read.server.max_connections, initial.server.max_connections);
  EXPECT_EQ(read.server.max_connections_per_client, initial.server.max_connections_per_client);
  EXPECT_EQ(read.drain_timeout, initial.drain_timeout);
  EXPECT_EQ(read.rate_limit.requests_per_second, initial.rate_limit.requests_per_second);
  EXPECT_EQ(read.rate_limit.burst, initial.rate_limit.burst);
}

TEST(HostLimits, FlagsSetThem) {
  const HostLimits read = limits_from({"--threads=3", "--max-connections=500", "--max-connections-per-client=50",
                                       "--max-body-bytes=2048", "--drain-notice-ms=250", "--rate-limit-burst=7"});
  EXPECT_EQ(read.threads, 3);
  EXPECT_EQ(read.server.max_connections, 500);
  EXPECT_EQ(read.server.max_connections_per_client, 50);
  EXPECT_EQ(read.server.max_body_bytes, 2048u);
  EXPECT_EQ(read.drain_notice, std::chrono::milliseconds(250));
  EXPECT_EQ(read.rate_limit.burst, 7);
}

TEST(HostLimits, OutOfRangeOrDisagreeingFlagsAreRefusedByName) {
  try {
    limits_from({"--max-connections=100", "--max-connections-per-client=101"});
    FAIL() << "more connections per client than in all was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("--max-connections-per-client"), std::string::npos) << e.what();
  }
  EXPECT_THROW(limits_from({"--db-pool-size=0"}), std::invalid_argument);
  EXPECT_THROW(limits_from({"--max-body-bytes=10"}), std::invalid_argument);
}

}  // namespace
}  // namespace flashtix::core
