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

std::optional<boost::asio::ip::address> canonical_address(std::string_view text) {
  boost::system::error_code ec;
  boost::asio::ip::address address = boost::asio::ip::make_address(text, ec);
  if (ec) return std::nullopt;
  // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d: the same client as a.b.c.d.
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6());
  }
  return address;
}

std::string bucket_key(const boost::asio::ip::address& address) {
  if (address.is_v4()) return address.to_string();
  // One IPv6 client commonly has a whole /64 to pick addresses from: the /64 is the client.
  auto bytes = address.to_v6().to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return boost::asio::ip::address_v6(bytes).to_string() + "/64";
}

RateLimitSettings rate_limit_settings_from(const Config& config, RateLimitSettings rates) {
  RateLimitSettings settings = std::move(rates);
  settings.trusted_proxies = split_list(config.get("trusted-proxies"));
  for (const std::string& proxy : settings.trusted_proxies) {
    if (!is_ip_address(proxy)) {
      throw std::invalid_argument("--trusted-proxies: '" + proxy + "' is not an IP address");
    }
  }
  return settings;
}

RateLimiter::RateLimiter(RateLimitSettings settings) : settings_(std::move(settings)) {
  for (const std::string& proxy : settings_.trusted_proxies) {
    if (const auto address = canonical_address(proxy)) trusted_.push_back(*address);
  }
}

void RateLimiter::forget_idle(Clock::time_point now) {
  std::erase_if(buckets_, [&](const auto& entry) {
    const std::chrono::duration<double> idle = now - entry.second.updated;
    return entry.second.tokens + idle.count() * settings_.requests_per_second >= settings_.burst;
  });
}

RateLimitVerdict RateLimiter::take(const std::string& client, Clock::time_point now) {
  RateLimitVerdict verdict;
  if (!settings_.enabled()) {
    verdict.remaining = settings_.burst;
    return verdict;
  }
  const std::lock_guard lock(mutex_);
  auto found = buckets_.find(client);
  if (found == buckets_.end()) {
    // Forgetting reads every bucket: at most once a second, however many new clients arrive.
    if (buckets_.size() >= kMaxRateLimitedClients && now - forgot_at_ >= std::chrono::seconds(1)) {
      forget_idle(now);
      forgot_at_ = now;
    }
    if (buckets_.size() >= kMaxRateLimitedClients) {
      // Every tracked client is busy: a new one waits rather than growing the table without bound.
      verdict.allowed = false;
      verdict.retry_after = std::chrono::milliseconds(1000);
      verdict.full_after = verdict.retry_after;
      return verdict;
    }
    found = buckets_.emplace(client, Bucket{static_cast<double>(settings_.burst), now}).first;
  }
  Bucket& bucket = found->second;
  const std::chrono::duration<double> elapsed = now - bucket.updated;
  bucket.tokens = std::min(static_cast<double>(settings_.burst), bucket.tokens + std::max(0.0, elapsed.count()) * settings_.requests_per_second);
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
  const std::optional<boost::asio::ip::address> peer = canonical_address(request.client_address);
  const auto trusted = [this](const boost::asio::ip::address& address) {
    return std::find(trusted_.begin(), trusted_.end(), address) != trusted_.end();
  };
  if (!peer) return request.client_address;
  if (!trusted(*peer)) return bucket_key(*peer);
  // The proxies append the address they received from: read from the right, the first that is not a
  // proxy of ours is the client. Anything further left was written by the client and proves nothing. A
  // proxy may add a header of its own rather than append, so every X-Forwarded-For field counts, in order.
  std::string forwarded;
  for (auto field = request.message.equal_range("X-Forwarded-For"); field.first != field.second; ++field.first) {
    if (!forwarded.empty()) forwarded += ',';
    forwarded += std::string(field.first->value());
  }
  const std::vector<std::string> hops = split_list(forwarded);
  for (auto hop = hops.rbegin(); hop != hops.rend(); ++hop) {
    const std::optional<boost::asio::ip::address> address = canonical_address(*hop);
    if (!address) return bucket_key(*peer);
    if (!trusted(*address)) return bucket_key(*address);
  }
  return bucket_key(*peer);
}

std::vector<std::pair<std::string, std::string>> RateLimiter::headers(const RateLimitVerdict& verdict) const {
  const std::string name = "\"" + std::string(kAnonymousPolicy) + "\"";
  // The bucket as a quota: `burst` requests per the time an empty bucket takes to fill.
  const auto window = std::max<std::int64_t>(
      1, static_cast<std::int64_t>(std::ceil(static_cast<double>(settings_.burst) / settings_.requests_per_second)));
  std::vector<std::pair<std::string, std::string>> fields{
      {"RateLimit-Policy", name + ";q=" + std::to_string(settings_.burst) +
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
