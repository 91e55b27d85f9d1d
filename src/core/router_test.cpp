// Route matching: captures, 404 versus 405, trailing slashes, routes that need a role.
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

std::string code_of(const Result<const Handler*>& matched) {
  const auto* problem = std::get_if<Problem>(&matched);
  return problem ? problem->code : "matched";
}

TEST(Router, ARouteThatNeedsARoleChecksTheBearerToken) {
  const Credentials credentials(sha256_hex("the-admin-token"), sha256_hex("the-service-token"));
  Router router;
  router.set_credentials(&credentials);
  router.post("/events", Role::admin, ok);
  router.post("/inventory/confirm", Role::service, ok);
  router.get("/events", ok);
  const auto call = [&](std::string_view target, std::string_view authorization) {
    Request request = make_request(http::verb::post, target);
    if (!authorization.empty()) request.message.set(http::field::authorization, authorization);
    return code_of(router.match(request));
  };
  EXPECT_EQ(call("/events", ""), "unauthenticated");
  EXPECT_EQ(call("/events", "Bearer wrong"), "unauthenticated");
  EXPECT_EQ(call("/events", "Bearer "), "unauthenticated");
  EXPECT_EQ(call("/events", "the-admin-token"), "unauthenticated");
  EXPECT_EQ(call("/events", "Bearer the-service-token"), "forbidden");
  EXPECT_EQ(call("/events", "Bearer the-admin-token"), "matched");
  EXPECT_EQ(call("/events", "BEARER the-admin-token"), "matched");
  EXPECT_EQ(call("/inventory/confirm", "Bearer the-service-token"), "matched");
  EXPECT_EQ(call("/inventory/confirm", "Bearer the-admin-token"), "matched");
  EXPECT_EQ(call("/inventory/confirm", "Bearer the-admin-tokeN"), "unauthenticated");
  // An open route asks for nothing.
  Request open = make_request(http::verb::get, "/events");
  EXPECT_EQ(code_of(router.match(open)), "matched");
}

TEST(Router, WithoutCredentialsARouteThatNeedsARoleRefusesEveryone) {
  Router router;
  router.post("/events", Role::admin, ok);
  Request request = make_request(http::verb::post, "/events");
  request.message.set(http::field::authorization, "Bearer anything");
  EXPECT_EQ(code_of(router.match(request)), "unauthenticated");
}

TEST(Credentials, DigestsMustBeSha256Hex) {
  EXPECT_THROW(Credentials("abc", ""), std::invalid_argument);
  EXPECT_THROW(Credentials("", std::string(64, 'g')), std::invalid_argument);
  EXPECT_NO_THROW(Credentials(std::string(64, 'A'), ""));
  // An empty digest accepts no token, not the empty one.
  EXPECT_EQ(Credentials("", "").role_of(""), std::nullopt);
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace flashtix::core
