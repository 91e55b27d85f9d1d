// The request and response types every handler sees, and RFC 9457 problem answers.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/url.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/trace.hpp"

namespace flashtix::core {

namespace http = boost::beast::http;
namespace json = boost::json;

// Sent with every call between services: how many milliseconds the caller still waits for the answer.
// Work the caller will no longer wait for must not take effect late (inventory refuses a hold past it).
inline constexpr std::string_view kRequestTimeoutHeader = "X-Request-Timeout-Ms";

class RouteMetrics;

// Who may call what (core/auth.hpp): each role may do all that the ones before it may.
enum class Role {
  anyone,   // the public buyer: no credential
  service,  // one FlashTix service calling another (orders -> inventory)
  admin,    // the seller's operators
};

struct Request {
  http::request<http::string_body> message;
  boost::urls::url target;  // parsed origin-form target, owning its text
  std::vector<std::pair<std::string, std::string>> path_params;
  // Set by the router: the role the request's bearer token proves (anyone without one, or with a token
  // that is not an API token, such as an order's secret, which the handler checks itself).
  Role caller = Role::anyone;
  // The connection's peer (an IP address); the rate limit may read the client's through trusted proxies.
  std::string client_address;
  // Set by the router for an anonymous caller: who it is for limits (RateLimiter::client_of, through
  // trusted proxies); empty otherwise.
  std::string client;
  // Set by the router for a call that counts against a rate limit: the headers its answer carries.
  std::vector<std::pair<std::string, std::string>> rate_limit_headers;
  // Set by the router once the path matched a route: where the answer is counted, and its pattern.
  const RouteMetrics* metrics = nullptr;
  std::string_view route;
  // Set by the server: the client's X-Request-Id (or a new one) and this request's span of its trace
  // (the caller's traceparent, or a new trace).
  std::string request_id;
  TraceContext trace;

  // A `{name}` segment of the route that matched; empty when absent.
  std::string_view path_param(std::string_view name) const;
  // A decoded query parameter, or nothing when it is absent.
  std::optional<std::string> query_param(std::string_view name) const;
  std::string_view header(http::field field) const;
  std::string_view header(std::string_view name) const;
  const std::string& body() const { return message.body(); }
};

// Where a streamed answer writes its body as it is made.
class BodyWriter {
 public:
  virtual ~BodyWriter() = default;
  // Sends `text` now; false once the client is gone or does not take it within the write timeout.
  virtual boost::asio::awaitable<bool> write(std::string text) = 0;
  // False once the client has closed the connection (or sent anything more: a stream's client only reads).
  virtual bool open() const = 0;
};

struct Response {
  http::status status = http::status::ok;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  // A body that is written as it is made (Server-Sent Events) instead of `body`: the head goes out
  // without a length, then `stream` writes, and the connection closes when it returns.
  std::function<boost::asio::awaitable<void>(BodyWriter*)> stream;
};

// An expected failure (sold out, not found, bad input): a value, mapped to an HTTP answer in one place.
struct Problem {
  http::status status = http::status::bad_request;
  std::string code;    // stable, machine-readable: "sold_out", "invalid_request", ...
  std::string title;   // short, human-readable summary of the code
  std::string detail;  // what happened this time
  json::object extra;  // more members of the problem object, e.g. available_tickets
  std::vector<std::pair<std::string, std::string>> headers;
};

Problem invalid_request(std::string detail);
// The problem document (RFC 9457) of a problem, and the whole answer.
json::object problem_json(const Problem& problem);
Response problem_response(const Problem& problem);
Response json_response(http::status status, const json::value& body);

// A handler's outcome when it may fail in an expected way.
template <class T>
using Result = std::variant<T, Problem>;

// Lists are paged: ?limit= (default 50, at most 500) and ?cursor=, an opaque position the server gave out
// (here the last item's sequence number), answered as {"items": [...], "next_cursor": "..." | null}.
inline constexpr std::int64_t kDefaultPageLimit = 50;
inline constexpr std::int64_t kMaxPageLimit = 500;
struct PageRequest {
  std::int64_t limit = kDefaultPageLimit;
  std::int64_t after = 0;  // items after this position
};
Result<PageRequest> parse_page(const Request& request);
Response page_response(json::array items, std::optional<std::int64_t> next_cursor);

using Handler = std::function<boost::asio::awaitable<Response>(Request)>;

// The names every service's handlers are written in, brought in by a routes.cpp with
// `using namespace core::handler_names;`, so that the list is kept once rather than once a service.
namespace handler_names {
using boost::asio::awaitable;
using core::json_response;
using core::Problem;
using core::problem_response;
using core::Request;
using core::Response;
using core::http::status;
namespace json = core::json;
}  // namespace handler_names

}  // namespace flashtix::core
