// The token bucket per client address, and the client address behind trusted proxies.
#include "core/rate_limit.hpp"

#include <gtest/gtest.h>

namespace flashtix::core {
namespace {

using namespace std::chrono_literals;
using Clock = RateLimiter::Clock;

RateLimitSettings settings(std::int64_t per_second, std::int64_t burst, std::vector<std::string> proxies = {}) {
  RateLimitSettings result;
  result.requests_per_second = per_second;
  result.burst = burst;
  result.trusted_proxies = std::move(proxies);
  return result;
}

std::string header(const std::vector<std::pair<std::string, std::string>>& headers, std::string_view name) {
  for (const auto& [field, value] : headers) {
    if (field == name) return value;
  }
  return "";
}

TEST(RateLimiter, ABurstPassesThenTheRateRefills) {
  RateLimiter limiter(settings(2, 3));
  const Clock::time_point start{};
  for (int i = 0; i < 3; ++i) {
    const RateLimitVerdict verdict = limiter.take("10.0.0.1", start);
    EXPECT_TRUE(verdict.allowed) << i;
    EXPECT_EQ(verdict.remaining, 2 - i);
  }
  const RateLimitVerdict refused = limiter.take("10.0.0.1", start);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.remaining, 0);
  EXPECT_EQ(refused.retry_after, 500ms);  // one request at 2 a second
  // Half a second later one request fits again, and only one.
  EXPECT_TRUE(limiter.take("10.0.0.1", start + 500ms).allowed);
  EXPECT_FALSE(limiter.take("10.0.0.1", start + 500ms).allowed);
  // Long idle: a full bucket, never more.
  EXPECT_EQ(limiter.take("10.0.0.1", start + 1h).remaining, 2);
}

TEST(RateLimiter, EachAddressHasItsOwnBucket) {
  RateLimiter limiter(settings(1, 1));
  const Clock::time_point now{};
  EXPECT_TRUE(limiter.take("10.0.0.1", now).allowed);
  EXPECT_FALSE(limiter.take("10.0.0.1", now).allowed);
  EXPECT_TRUE(limiter.take("10.0.0.2", now).allowed);
}

TEST(RateLimiter, ZeroPerSecondTurnsItOff) {
  RateLimiter limiter(settings(0, 1));
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(limiter.take("10.0.0.1", Clock::time_point{}).allowed);
}

TEST(RateLimiter, TheRefusalIs429WithRetryAfterAndTheRateLimitFields) {
  RateLimiter limiter(settings(10, 20));
  const Clock::time_point now{};
  RateLimitVerdict verdict;
  for (int i = 0; i < 21; ++i) verdict = limiter.take("10.0.0.1", now);
  ASSERT_FALSE(verdict.allowed);
  const Problem problem = limiter.refusal(verdict);
  EXPECT_EQ(problem.status, http::status::too_many_requests);
  EXPECT_EQ(problem.code, "rate_limited");
  EXPECT_EQ(header(problem.headers, "Retry-After"), "1");
  EXPECT_EQ(header(problem.headers, "RateLimit-Policy"), "\"anonymous\";q=20;w=2");
  EXPECT_EQ(header(problem.headers, "RateLimit"), "\"anonymous\";r=0;t=1");
  // An allowed call carries the fields too, without Retry-After.
  const auto allowed = limiter.headers(limiter.take("10.0.0.9", now));
  EXPECT_EQ(header(allowed, "RateLimit"), "\"anonymous\";r=19;t=1");
  EXPECT_EQ(header(allowed, "Retry-After"), "");
}

TEST(RateLimiter, TheClientBehindATrustedProxyIsTheLastHopThatIsNotAProxy) {
  RateLimiter limiter(settings(1, 1, {"10.0.0.100", "10.0.0.101"}));
  Request request;
  request.client_address = "10.0.0.100";
  request.message.set("X-Forwarded-For", "6.6.6.6, 203.0.113.7, 10.0.0.101");
  // Whatever the client wrote itself (6.6.6.6) is to the left of what our proxies appended.
  EXPECT_EQ(limiter.client_of(request), "203.0.113.7");

  request.message.set("X-Forwarded-For", "not an address");
  EXPECT_EQ(limiter.client_of(request), "10.0.0.100");
  request.message.erase("X-Forwarded-For");
  EXPECT_EQ(limiter.client_of(request), "10.0.0.100");

  // From an address that is no proxy of ours, the header is the client's own word and is ignored.
  request.client_address = "198.51.100.1";
  request.message.set("X-Forwarded-For", "203.0.113.7");
  EXPECT_EQ(limiter.client_of(request), "198.51.100.1");
}

TEST(RateLimiter, EveryForwardedForFieldCountsAndAddressesAreCompared) {
  RateLimiter limiter(settings(1, 1, {"10.0.0.100"}));
  Request request;
  // Behind a dual-stack listener the proxy shows up IPv4-mapped.
  request.client_address = "::ffff:10.0.0.100";
  // A client's own field first, then the one the proxy added rather than appending to it.
  request.message.insert("X-Forwarded-For", "6.6.6.6");
  request.message.insert("X-Forwarded-For", "203.0.113.7");
  EXPECT_EQ(limiter.client_of(request), "203.0.113.7");
  request.message.erase("X-Forwarded-For");
  EXPECT_EQ(limiter.client_of(request), "10.0.0.100");
}

TEST(RateLimiter, AnIpv6ClientIsItsSlash64) {
  RateLimiter limiter(settings(1, 1));
  Request request;
  request.client_address = "2001:db8:1:2:aaaa::1";
  const std::string first = limiter.client_of(request);
  request.client_address = "2001:db8:1:2:bbbb::9";
  EXPECT_EQ(limiter.client_of(request), first);
  EXPECT_EQ(first, "2001:db8:1:2::/64");
  request.client_address = "2001:db8:1:3::1";
  EXPECT_NE(limiter.client_of(request), first);
}

TEST(RateLimiter, TheTableOfClientsIsBounded) {
  RateLimiter limiter(settings(1, 2));
  const Clock::time_point now{};
  for (std::size_t i = 0; i < kMaxRateLimitedClients; ++i) {
    ASSERT_TRUE(limiter.take("client-" + std::to_string(i), now).allowed);
  }
  // Every known client is mid-burst: a new one waits.
  EXPECT_FALSE(limiter.take("newcomer", now).allowed);
  // Once the others have refilled they are forgotten and the newcomer gets a bucket.
  EXPECT_TRUE(limiter.take("newcomer", now + 2s).allowed);
}

}  // namespace
}  // namespace flashtix::core
