// What the unit tests of every service's limits share: the limits a command line gives, and the defaults
// its flags show. Header-only, for the services' *_test.cpp.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"

namespace flashtix::core::test_support {

// The `Limits` that `program` reads from the flags `argv` (without the program name).
template <class Limits>
Limits limits_from_flags(std::string_view program, std::vector<const char*> argv) {
  const std::string name(program);
  Config config(name, Limits::options());
  argv.insert(argv.begin(), name.c_str());
  config.parse(static_cast<int>(argv.size()), argv.data());
  return Limits::from(config);
}

// Every limit flag of `Limits` by name, with its default.
template <class Limits>
std::map<std::string, std::string> flag_defaults() {
  std::map<std::string, std::string> defaults;
  for (const auto& option : Limits::options()) defaults[option.name] = option.default_value;
  return defaults;
}

}  // namespace flashtix::core::test_support
