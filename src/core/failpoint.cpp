// Failpoints are read once from the environment; the set never changes while the process runs.
#include "core/failpoint.hpp"

#include <cstdlib>
#include <set>
#include <string>

#include "core/log.hpp"

namespace flashtix::core {
namespace {

std::set<std::string, std::less<>> read_failpoints() {
  std::set<std::string, std::less<>> names;
  const char* text = std::getenv("FLASHTIX_FAILPOINTS");
  if (!text) return names;
  std::string_view rest(text);
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view name = rest.substr(0, comma);
    if (!name.empty()) names.emplace(name);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  for (const auto& name : names) log_warn("failpoint active: ", name);
  return names;
}

}  // namespace

bool failpoint_active(std::string_view name) {
  static const std::set<std::string, std::less<>> active = read_failpoints();
  return active.contains(name);
}

}  // namespace flashtix::core
