// The build's version, as --version prints it and flashtix_build_info reports it.
#pragma once

#include <string_view>

namespace flashtix::core {

// "<project version>+<commit>" (the commit the build was configured at; "unknown" outside a checkout).
std::string_view build_version();

}  // namespace flashtix::core
