// The route table: one visible list of (method, path pattern, role, handler); `{name}` segments capture.
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/histogram.h>

#include "core/auth.hpp"
#include "core/http.hpp"
#include "core/rate_limit.hpp"

namespace flashtix::core {

// The metrics of one route, or of the requests no route matched: answers by status class, and how long
// the handler took.
class RouteMetrics {
 public:
  RouteMetrics(std::string_view method, std::string_view route);
  void observe(http::status status, std::chrono::steady_clock::duration elapsed) const;

 private:
  std::array<prometheus::Counter*, 5> answers_{};  // 1xx .. 5xx
  prometheus::Histogram* duration_ = nullptr;
};

class Router {
 public:
  // A route open to anyone, or one that needs at least `role` (see core/auth.hpp).
  void get(std::string pattern, Handler handler) { add(http::verb::get, std::move(pattern), Role::anyone, std::move(handler)); }
  void post(std::string pattern, Handler handler) { add(http::verb::post, std::move(pattern), Role::anyone, std::move(handler)); }
  void get(std::string pattern, Role role, Handler handler) { add(http::verb::get, std::move(pattern), role, std::move(handler)); }
  void post(std::string pattern, Role role, Handler handler) { add(http::verb::post, std::move(pattern), role, std::move(handler)); }
  void patch(std::string pattern, Role role, Handler handler) { add(http::verb::patch, std::move(pattern), role, std::move(handler)); }
  // GET open to anyone and never rate limited: what load balancers and monitors poll (/health, /ready).
  void probe(std::string pattern, Handler handler);
  void add(http::verb method, std::string pattern, Role role, Handler handler);

  // The tokens the routes that need a role accept; without, those routes answer 401 to everyone.
  void set_credentials(const Credentials* credentials) { credentials_ = credentials; }
  // The limit on calls that prove no role (probes aside); without one, nothing is limited.
  void set_rate_limiter(RateLimiter* limiter) { rate_limiter_ = limiter; }

  // Finds the handler for a request and fills its path parameters: unknown path -> 404 not_found,
  // known path with another method -> 405 method_not_allowed with an Allow header, a route that needs a
  // role the caller does not prove -> 401 unauthenticated or 403 forbidden, an anonymous caller past its
  // rate limit -> 429 rate_limited. Sets request.metrics to the route's whenever the path matched.
  Result<const Handler*> match(Request& request) const;
  const RouteMetrics& unmatched_metrics() const { return *unmatched_; }

  // The table as it was built, in order: what the service's OpenAPI document must describe.
  struct Entry {
    http::verb method;
    std::string_view pattern;
  };
  std::vector<Entry> entries() const;

 private:
  struct Route {
    http::verb method;
    std::string pattern;
    std::vector<std::string> segments;
    Role role;
    Handler handler;
    bool rate_limited = true;
    std::unique_ptr<RouteMetrics> metrics;
  };
  std::vector<Route> routes_;
  std::unique_ptr<RouteMetrics> unmatched_ = std::make_unique<RouteMetrics>("", "unmatched");
  const Credentials* credentials_ = nullptr;
  RateLimiter* rate_limiter_ = nullptr;
};

// Binds a handler coroutine `handler(State*, Request)` to one thread's service state. The lambda only
// forwards; the coroutine is the handler itself, so no coroutine lambda captures anything.
template <auto handler, class State>
Handler bind(State* state) {
  return [state](Request request) { return handler(state, std::move(request)); };
}

// The path split into decoded segments; "/a/b/" and "/a/b" are the same path.
std::vector<std::string> split_path(const boost::urls::url_view& url);

}  // namespace flashtix::core
