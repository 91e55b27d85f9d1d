// Route matching: captures, 404 versus 405, trailing slashes.
#include "core/router.hpp"

#include <gtest/gtest.h>

namespace flashtix::core {
namespace {

boost::asio::awaitable<Response> ok(Request request) {
  static_cast<void>(request);
  co_return Response{};
}

Request make_request(http::verb method, std::string_view target) {
  Request request;
  request.message.method(method);
  request.message.target(target);
  request.target = *boost::urls::parse_origin_form(target);
  return request;
}

TEST(Router, CapturesPathParameters) {
  Router router;
  router.get("/events/{id}", ok);
  Request request = make_request(http::verb::get, "/events/42");
  auto matched = router.match(request);
  ASSERT_TRUE(std::holds_alternative<const Handler*>(matched));
  EXPECT_EQ(request.path_param("id"), "42");
  EXPECT_EQ(request.path_param("other"), "");
}

TEST(Router, TrailingSlashIsTheSamePath) {
  Router router;
  router.post("/inventory/reserve", ok);
  Request request = make_request(http::verb::post, "/inventory/reserve/");
  EXPECT_TRUE(std::holds_alternative<const Handler*>(router.match(request)));
}

TEST(Router, UnknownPathIsNotFound) {
  Router router;
  router.get("/events/{id}", ok);
  Request request = make_request(http::verb::get, "/events/1/extra");
  auto matched = router.match(request);
  ASSERT_TRUE(std::holds_alternative<Problem>(matched));
  EXPECT_EQ(std::get<Problem>(matched).status, http::status::not_found);
  EXPECT_EQ(std::get<Problem>(matched).code, "not_found");
}

TEST(Router, WrongMethodListsAllowedOnes) {
  Router router;
  router.get("/events", ok);
  router.post("/events", ok);
  Request request = make_request(http::verb::delete_, "/events");
  auto matched = router.match(request);
  ASSERT_TRUE(std::holds_alternative<Problem>(matched));
  const Problem& problem = std::get<Problem>(matched);
  EXPECT_EQ(problem.status, http::status::method_not_allowed);
  ASSERT_EQ(problem.headers.size(), 1u);
  EXPECT_EQ(problem.headers[0].first, "Allow");
  EXPECT_EQ(problem.headers[0].second, "GET, POST");
}

TEST(Router, QueryParametersAreDecoded) {
  Request request = make_request(http::verb::get, "/events?limit=5&cursor=a%20b");
  EXPECT_EQ(request.query_param("limit"), "5");
  EXPECT_EQ(request.query_param("cursor"), "a b");
  EXPECT_FALSE(request.query_param("missing").has_value());
}

TEST(Router, RejectsPatternWithoutLeadingSlash) {
  Router router;
  EXPECT_THROW(router.get("events", ok), std::invalid_argument);
}

}  // namespace
}  // namespace flashtix::core
