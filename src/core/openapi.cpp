// Serves the compiled-in OpenAPI document as it is.
#include "core/openapi.hpp"

namespace flashtix::core {

namespace {

// Coroutine parameters stay named even when unused: GCC 12 miscompiles unnamed ones.
boost::asio::awaitable<Response> serve_document(std::string_view document, Request request) {
  static_cast<void>(request);
  co_return Response{http::status::ok, std::string(document), "application/json", {}, {}};
}

}  // namespace

void add_openapi_route(Router& router, std::string_view document) {
  // The lambda only forwards: the coroutine takes the document by value, so no coroutine lambda captures.
  router.probe("/openapi.json", [document](Request request) { return serve_document(document, std::move(request)); });
}

}  // namespace flashtix::core
