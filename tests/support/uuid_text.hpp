// The tests' own check of a UUID's text form, kept apart from the services' check so that a test does not
// trust the code it tests; the harness's assertions and the answer recorder both use it.
#pragma once

#include <string_view>

namespace flashtix::test {

// 8-4-4-4-12 hexadecimal digits.
bool is_uuid(std::string_view text);

}  // namespace flashtix::test
