// Each service's OpenAPI document lists exactly the paths and methods of its route table: no route goes
// undescribed, and the document describes no route that is not there.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cctype>
#include <set>
#include <string>
#include <string_view>

#include "inventory/routes.hpp"
#include "notifications/routes.hpp"
#include "orders/routes.hpp"
#include "payments/routes.hpp"

namespace flashtix {
namespace {

namespace json = boost::json;
using Operations = std::set<std::string>;  // "GET /events/{id}"

Operations of_router(const core::Router& router) {
  Operations operations;
  for (const core::Router::Entry& entry : router.entries()) {
    operations.insert(std::string(core::http::to_string(entry.method)) + " " + std::string(entry.pattern));
  }
  // The host adds GET /metrics to every router when it starts, unless --metrics-address serves it alone.
  operations.insert("GET /metrics");
  return operations;
}

Operations of_document(std::string_view document) {
  static const std::set<std::string, std::less<>> kMethods{"get",     "put",  "post",  "delete",
                                                           "options", "head", "patch", "trace"};
  const json::value parsed = json::parse(document);
  EXPECT_EQ(parsed.at("openapi"), "3.1.0");
  Operations operations;
  for (const auto& [path, item] : parsed.at("paths").as_object()) {
    for (const auto& member : item.as_object()) {
      if (!kMethods.contains(member.key())) continue;
      std::string method(member.key());
      for (char& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      operations.insert(method + " " + std::string(path));
    }
  }
  return operations;
}

// `service`'s document lists what the route table `make_router` builds. The router is only built, never
// run: the handlers' state may be empty.
template <class State>
void expect_document_lists_route_table(std::string_view service, std::string_view document,
                                       core::Router (*make_router)(State*)) {
  SCOPED_TRACE(service);
  State state{};
  EXPECT_EQ(of_document(document), of_router(make_router(&state)));
}

TEST(OpenApiRoutes, EachDocumentListsItsRouteTable) {
  expect_document_lists_route_table("inventory", inventory::openapi_document(), inventory::make_router);
  expect_document_lists_route_table("orders", orders::openapi_document(), orders::make_router);
  expect_document_lists_route_table("payments", payments::openapi_document(), payments::make_router);
  expect_document_lists_route_table("notifications", notifications::openapi_document(), notifications::make_router);
}

}  // namespace
}  // namespace flashtix
