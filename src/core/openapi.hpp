// GET /openapi.json: each service answers its OpenAPI 3.1 document, compiled into the binary from
// src/<service>/openapi.json and src/core/openapi.json (cmake/embed_openapi.cmake).
#pragma once

#include <string_view>

#include "core/router.hpp"

namespace flashtix::core {

// A probe: open to anyone and never rate limited. `document` must outlive the router (it is static).
void add_openapi_route(Router& router, std::string_view document);

}  // namespace flashtix::core
