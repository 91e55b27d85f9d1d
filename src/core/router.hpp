// The route table: one visible list of (method, path pattern, role, handler); `{name}` segments capture.
#pragma once

#include <string>
#include <vector>

#include "core/auth.hpp"
#include "core/http.hpp"

namespace flashtix::core {

class Router {
 public:
  // A route open to anyone, or one that needs at least `role` (see core/auth.hpp).
  void get(std::string pattern, Handler handler) { add(http::verb::get, std::move(pattern), Role::anyone, std::move(handler)); }
  void post(std::string pattern, Handler handler) { add(http::verb::post, std::move(pattern), Role::anyone, std::move(handler)); }
  void get(std::string pattern, Role role, Handler handler) { add(http::verb::get, std::move(pattern), role, std::move(handler)); }
  void post(std::string pattern, Role role, Handler handler) { add(http::verb::post, std::move(pattern), role, std::move(handler)); }
  void add(http::verb method, std::string pattern, Role role, Handler handler);

  // The tokens the routes that need a role accept; without, those routes answer 401 to everyone.
  void set_credentials(const Credentials* credentials) { credentials_ = credentials; }

  // Finds the handler for a request and fills its path parameters: unknown path -> 404 not_found,
  // known path with another method -> 405 method_not_allowed with an Allow header, a route that needs a
  // role the caller does not prove -> 401 unauthenticated or 403 forbidden.
  Result<const Handler*> match(Request& request) const;

 private:
  struct Route {
    http::verb method;
    std::vector<std::string> segments;
    Role role;
    Handler handler;
  };
  std::vector<Route> routes_;
  const Credentials* credentials_ = nullptr;
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
