// Route matching by segments; the table is small, so a linear scan is the clearest and fast enough.
#include "core/router.hpp"

#include <stdexcept>

#include "core/metrics.hpp"

namespace flashtix::core {

std::vector<std::string> split_path(const boost::urls::url_view& url) {
  std::vector<std::string> segments;
  for (auto segment : url.segments()) {
    if (!segment.empty()) segments.push_back(std::string(segment));
  }
  return segments;
}

RouteMetrics::RouteMetrics(std::string_view method, std::string_view route) {
  static constexpr std::array<std::string_view, 5> kClasses{"1xx", "2xx", "3xx", "4xx", "5xx"};
  for (std::size_t i = 0; i < kClasses.size(); ++i) {
    answers_[i] = &metrics::counter("flashtix_http_requests_total", "HTTP requests answered, by route and status class",
                                    {{"method", std::string(method)},
                                     {"route", std::string(route)},
                                     {"status", std::string(kClasses[i])}});
  }
  duration_ = &metrics::histogram("flashtix_http_request_duration_seconds",
                                  "From a request read to its answer ready, by route",
                                  {{"method", std::string(method)}, {"route", std::string(route)}},
                                  metrics::latency_buckets());
}

void RouteMetrics::observe(http::status status, std::chrono::steady_clock::duration elapsed) const {
  const auto code = static_cast<unsigned>(status);
  if (code >= 100 && code < 600) answers_[code / 100 - 1]->Increment();
  duration_->Observe(std::chrono::duration<double>(elapsed).count());
}

void Router::add(http::verb method, std::string pattern, Role role, Handler handler) {
  if (pattern.empty() || pattern.front() != '/') throw std::invalid_argument("route pattern must start with /");
  // Split by hand: "{id}" is not a valid URL path segment, so a URL parser would refuse the pattern.
  std::vector<std::string> segments;
  std::size_t start = 1;
  while (start <= pattern.size()) {
    const std::size_t end = std::min(pattern.find('/', start), pattern.size());
    if (end > start) segments.push_back(pattern.substr(start, end - start));
    start = end + 1;
  }
  auto route_metrics = std::make_unique<RouteMetrics>(http::to_string(method), pattern);
  routes_.push_back(
      Route{method, std::move(pattern), std::move(segments), role, std::move(handler), true, std::move(route_metrics)});
}

std::vector<Router::Entry> Router::entries() const {
  std::vector<Entry> entries;
  entries.reserve(routes_.size());
  for (const Route& route : routes_) entries.push_back(Entry{route.method, route.pattern});
  return entries;
}

void Router::probe(std::string pattern, Handler handler) {
  add(http::verb::get, std::move(pattern), Role::anyone, std::move(handler));
  routes_.back().rate_limited = false;
}

namespace {

bool is_capture(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

bool path_matches(const std::vector<std::string>& pattern, const std::vector<std::string>& path) {
  if (pattern.size() != path.size()) return false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (!is_capture(pattern[i]) && pattern[i] != path[i]) return false;
  }
  return true;
}

}  // namespace

Result<const Handler*> Router::match(Request& request) const {
  const std::vector<std::string> path = split_path(request.target);
  std::string allowed;
  for (const Route& route : routes_) {
    if (!path_matches(route.segments, path)) continue;
    if (route.method != request.message.method()) {
      if (!allowed.empty()) allowed += ", ";
      allowed += std::string(http::to_string(route.method));
      continue;
    }
    request.metrics = route.metrics.get();
    request.route = route.pattern;
    static const Credentials kNone;
    const Credentials& credentials = credentials_ != nullptr ? *credentials_ : kNone;
    request.caller = Role::anyone;
    if (route.role != Role::anyone) {
      auto caller = authorize(credentials, request, route.role);
      if (auto* problem = std::get_if<Problem>(&caller)) return std::move(*problem);
      request.caller = std::get<Role>(caller);
    } else if (const auto token = bearer_token(request)) {
      // An open route takes any token; one that proves a role says so to the handler.
      request.caller = credentials.role_of(*token).value_or(Role::anyone);
    }
    if (request.caller == Role::anyone && rate_limiter_ != nullptr) request.client = rate_limiter_->client_of(request);
    if (request.caller == Role::anyone && route.rate_limited && rate_limiter_ != nullptr &&
        rate_limiter_->settings().enabled()) {
      const RateLimitVerdict verdict = rate_limiter_->take(request.client);
      if (!verdict.allowed) return rate_limiter_->refusal(verdict);
      request.rate_limit_headers = rate_limiter_->headers(verdict);
    }
    request.path_params.clear();
    for (std::size_t i = 0; i < path.size(); ++i) {
      if (is_capture(route.segments[i])) {
        request.path_params.emplace_back(route.segments[i].substr(1, route.segments[i].size() - 2), path[i]);
      }
    }
    return &route.handler;
  }
  if (!allowed.empty()) {
    return Problem{http::status::method_not_allowed, "method_not_allowed", "Method not allowed",
                   std::string(request.message.method_string()) + " is not allowed here; use " + allowed,
                   {}, {{"Allow", allowed}}};
  }
  return Problem{http::status::not_found, "not_found", "Not found",
                 "no route for " + std::string(request.target.path()), {}, {}};
}

}  // namespace flashtix::core
