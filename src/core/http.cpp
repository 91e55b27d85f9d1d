// Request accessors and the single place that turns a Problem into an HTTP answer.
#include "core/http.hpp"

#include <limits>

#include "core/json_fields.hpp"

namespace flashtix::core {

std::string_view Request::path_param(std::string_view name) const {
  for (const auto& [key, value] : path_params) {
    if (key == name) return value;
  }
  return {};
}

std::optional<std::string> Request::query_param(std::string_view name) const {
  const auto params = boost::urls::url_view(target).params();
  const auto it = params.find(name);
  if (it == params.end()) return std::nullopt;
  return std::string((*it).value);
}

std::string_view Request::header(http::field field) const {
  const auto it = message.find(field);
  return it == message.end() ? std::string_view{} : std::string_view(it->value());
}

std::string_view Request::header(std::string_view name) const {
  const auto it = message.find(name);
  return it == message.end() ? std::string_view{} : std::string_view(it->value());
}

Problem invalid_request(std::string detail) {
  return Problem{http::status::bad_request, "invalid_request", "The request is not valid", std::move(detail), {}, {}};
}

json::object problem_json(const Problem& problem) {
  json::object body;
  body["type"] = "urn:flashtix:problem:" + problem.code;
  body["title"] = problem.title;
  body["status"] = static_cast<int>(problem.status);
  // A detail may quote the request (a path, say), whose bytes need not be UTF-8; JSON must be.
  body["detail"] = valid_utf8(problem.detail);
  body["code"] = problem.code;
  for (const auto& member : problem.extra) body[member.key()] = member.value();
  return body;
}

Response problem_response(const Problem& problem) {
  Response response{problem.status, json::serialize(problem_json(problem)), "application/problem+json",
                    problem.headers, {}};
  return response;
}

Result<PageRequest> parse_page(const Request& request) {
  PageRequest page;
  if (auto text = request.query_param("limit")) {
    auto limit = parse_int(*text, 1, kMaxPageLimit);
    if (!limit) return invalid_request("'limit' must be an integer from 1 to " + std::to_string(kMaxPageLimit));
    page.limit = *limit;
  }
  if (auto text = request.query_param("cursor")) {
    auto after = parse_int(*text, 0, std::numeric_limits<std::int64_t>::max());
    if (!after) return invalid_request("'cursor' is not a cursor this server gave out");
    page.after = *after;
  }
  return page;
}

Response page_response(json::array items, std::optional<std::int64_t> next_cursor) {
  json::value next = next_cursor ? json::value(std::to_string(*next_cursor)) : json::value(nullptr);
  return json_response(http::status::ok, {{"items", std::move(items)}, {"next_cursor", std::move(next)}});
}

Response json_response(http::status status, const json::value& body) {
  return Response{status, json::serialize(body), "application/json", {}, {}};
}

}  // namespace flashtix::core
