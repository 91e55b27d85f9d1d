// Named failpoints for fault tests: FLASHTIX_FAILPOINTS="name,other" switches them on at start-up.
// Production never sets the variable; every failpoint is then a cheap false.
#pragma once

#include <string_view>

namespace flashtix::core {

bool failpoint_active(std::string_view name);

}  // namespace flashtix::core
