// Rate limits on anonymous calls, per client address: a token bucket each, shared by every thread of the
// process. Callers that prove a role (the service and admin tokens) are not limited here.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <optional>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/config.hpp"
#include "core/http.hpp"

namespace flashtix::core {

// Client addresses with a bucket at most; past it, buckets that are full again (idle clients) are
// forgotten, and if none is, a new address is refused until some are.
inline constexpr std::size_t kMaxRateLimitedClients = 100'000;
// The name of the one policy, in the RateLimit and RateLimit-Policy headers.
inline constexpr std::string_view kAnonymousPolicy = "anonymous";

struct RateLimitSettings {
  std::int64_t requests_per_second = 20;  // refill rate; 0 turns the limit off
  std::int64_t burst = 100;               // bucket size: requests an idle client may send at once
  // Addresses of reverse proxies whose X-Forwarded-For names the client (exact IP addresses).
  std::vector<std::string> trusted_proxies;
  bool enabled() const { return requests_per_second > 0; }
};

// `rates` (from the service's HostLimits) with the trusted-proxies flag read. Throws
// std::invalid_argument for a proxy that is not an IP address.
RateLimitSettings rate_limit_settings_from(const Config& config, RateLimitSettings rates);

struct RateLimitVerdict {
  bool allowed = true;
  std::int64_t remaining = 0;               // whole requests left in the bucket after this one
  std::chrono::milliseconds retry_after{};  // refused: until one request fits again
  std::chrono::milliseconds full_after{};   // until the bucket is full again
};

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RateLimiter(RateLimitSettings settings);

  // Takes one request of `client` from its bucket. Any thread.
  RateLimitVerdict take(const std::string& client, Clock::time_point now = Clock::now());

  // The bucket a request counts against: the connection's peer, or, when that peer is a trusted proxy,
  // the last address of X-Forwarded-For that is not one (see bucket_key).
  std::string client_of(const Request& request) const;

  // The IETF RateLimit-Policy and RateLimit fields (draft-ietf-httpapi-ratelimit-headers) of a verdict,
  // with Retry-After on a refusal.
  std::vector<std::pair<std::string, std::string>> headers(const RateLimitVerdict& verdict) const;
  // 429 rate_limited with those headers.
  Problem refusal(const RateLimitVerdict& verdict) const;

  const RateLimitSettings& settings() const { return settings_; }

 private:
  struct Bucket {
    double tokens;
    Clock::time_point updated;
  };
  // Drops the buckets that have refilled completely by `now`; called with mutex_ held.
  void forget_idle(Clock::time_point now);

  RateLimitSettings settings_;
  std::vector<boost::asio::ip::address> trusted_;  // the trusted proxies, parsed
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
  Clock::time_point forgot_at_{};
};

// An address as a client is known by: IPv4-mapped IPv6 as IPv4; nothing for a malformed one.
std::optional<boost::asio::ip::address> canonical_address(std::string_view text);
// The bucket of an address: an IPv4 address, or an IPv6 address's /64.
std::string bucket_key(const boost::asio::ip::address& address);

}  // namespace flashtix::core
