// Token buckets per client address, refilled lazily on each request; one mutex, since a take is a few
// arithmetic operations and a map lookup.
#include "core/rate_limit.hpp"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <cmath>
#include <stdexcept>

namespace flashtix::core {

namespace {

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> items;
  while (!text.empty()) {
    const std::size_t comma = std::min(text.find(','), text.size());
    std::string_view item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) items.emplace_back(item);
    text.remove_prefix(std::min(comma + 1, text.size()));
  }
  return items;
}

// An address as the server writes a peer's: "::ffff:1.2.3.4" and "1.2.3.4" are both kept as they come,
// but a malformed one is no address at all.
bool is_ip_address(const std::string& text) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(text, ec);
  return !ec;
}

std::int64_t ceil_seconds(std::chrono::milliseconds ms) { return (ms.count() + 999) / 1000; }

}  // namespace

RateLimitSettings rate_limit_settings_from(const Config& config) {
  RateLimitSettings settings;
  settings.requests_per_second = static_cast<double>(config.get_int("rate-limit-per-second", 0, 1'000'000'000));
  settings.burst = static_cast<double>(config.get_int("rate-limit-burst", 1, 1'000'000'000));
  settings.trusted_proxies = split_list(config.get("trusted-proxies"));
  for (const std::string& proxy : settings.trusted_proxies) {
    if (!is_ip_address(proxy)) {
      throw std::invalid_argument("--trusted-proxies: '" + proxy + "' is not an IP address");
    }
  }
  return settings;
}

RateLimiter::RateLimiter(RateLimitSettings settings) : settings_(std::move(settings)) {}

void RateLimiter::forget_idle(Clock::time_point now) {
  std::erase_if(buckets_, [&](const auto& entry) {
    const std::chrono::duration<double> idle = now - entry.second.updated;
    return entry.second.tokens + idle.count() * settings_.requests_per_second >= settings_.burst;
  });
}

RateLimitVerdict RateLimiter::take(const std::string& client, Clock::time_point now) {
  RateLimitVerdict verdict;
  if (!settings_.enabled()) {
    verdict.remaining = static_cast<std::int64_t>(settings_.burst);
    return verdict;
  }
  const std::lock_guard lock(mutex_);
  auto found = buckets_.find(client);
  if (found == buckets_.end()) {
    if (buckets_.size() >= kMaxRateLimitedClients) forget_idle(now);
    if (buckets_.size() >= kMaxRateLimitedClients) {
      // Every tracked client is busy: a new one waits rather than growing the table without bound.
      verdict.allowed = false;
      verdict.retry_after = std::chrono::milliseconds(1000);
      verdict.full_after = verdict.retry_after;
      return verdict;
    }
    found = buckets_.emplace(client, Bucket{settings_.burst, now}).first;
  }
  Bucket& bucket = found->second;
  const std::chrono::duration<double> elapsed = now - bucket.updated;
  bucket.tokens = std::min(settings_.burst, bucket.tokens + std::max(0.0, elapsed.count()) * settings_.requests_per_second);
  bucket.updated = std::max(bucket.updated, now);
  verdict.allowed = bucket.tokens >= 1.0;
  if (verdict.allowed) bucket.tokens -= 1.0;
  verdict.remaining = static_cast<std::int64_t>(std::floor(bucket.tokens));
  const auto seconds_for = [&](double tokens) {
    return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(tokens / settings_.requests_per_second * 1000)));
  };
  if (!verdict.allowed) verdict.retry_after = seconds_for(1.0 - bucket.tokens);
  verdict.full_after = seconds_for(settings_.burst - bucket.tokens);
  return verdict;
}

std::string RateLimiter::client_of(const Request& request) const {
  const auto trusted = [this](std::string_view address) {
    return std::find(settings_.trusted_proxies.begin(), settings_.trusted_proxies.end(), address) !=
           settings_.trusted_proxies.end();
  };
  if (!trusted(request.client_address)) return request.client_address;
  // The proxies append the address they received from: read from the right, the first that is not a
  // proxy of ours is the client. Anything further left was written by the client and proves nothing.
  const std::vector<std::string> hops = split_list(request.header("X-Forwarded-For"));
  for (auto hop = hops.rbegin(); hop != hops.rend(); ++hop) {
    if (!trusted(*hop)) return is_ip_address(*hop) ? *hop : request.client_address;
  }
  return request.client_address;
}

std::vector<std::pair<std::string, std::string>> RateLimiter::headers(const RateLimitVerdict& verdict) const {
  const std::string name = "\"" + std::string(kAnonymousPolicy) + "\"";
  // The bucket as a quota: `burst` requests per the time an empty bucket takes to fill.
  const auto window = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(settings_.burst / settings_.requests_per_second)));
  std::vector<std::pair<std::string, std::string>> fields{
      {"RateLimit-Policy", name + ";q=" + std::to_string(static_cast<std::int64_t>(settings_.burst)) +
                               ";w=" + std::to_string(window)},
      {"RateLimit", name + ";r=" + std::to_string(verdict.remaining) +
                        ";t=" + std::to_string(ceil_seconds(verdict.allowed ? verdict.full_after : verdict.retry_after))},
  };
  if (!verdict.allowed) fields.emplace_back("Retry-After", std::to_string(std::max<std::int64_t>(1, ceil_seconds(verdict.retry_after))));
  return fields;
}

Problem RateLimiter::refusal(const RateLimitVerdict& verdict) const {
  return Problem{http::status::too_many_requests, "rate_limited", "Too many requests",
                 "this client address sent more requests than allowed without a credential; retry after the "
                 "Retry-After header's seconds",
                 {}, headers(verdict)};
}

}  // namespace flashtix::core
