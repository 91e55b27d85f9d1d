// FLASHTIX_VERSION comes from CMake, for this file alone, so a new commit rebuilds one object.
#include "core/version.hpp"

#ifndef FLASHTIX_VERSION
#error "FLASHTIX_VERSION must be defined by the build"
#endif

namespace flashtix::core {

std::string_view build_version() { return FLASHTIX_VERSION; }

}  // namespace flashtix::core
