// The arithmetic of a growing pause, kept free of overflow however long the run of failures.
#include "core/backoff.hpp"

#include <cmath>

namespace flashtix::core {

std::chrono::milliseconds backoff_ceiling(std::chrono::milliseconds first, std::chrono::milliseconds longest,
                                          std::int64_t failures) {
  const std::int64_t cap = std::max<std::int64_t>(longest.count(), 0);
  std::int64_t ceiling = std::max<std::int64_t>(first.count(), 0);
  // Doubling stops at the cap, so a long run of failures never overflows.
  for (std::int64_t doubled = 0; doubled < failures && ceiling > 0 && ceiling < cap; ++doubled) ceiling *= 2;
  return std::chrono::milliseconds(std::min(ceiling, cap));
}

std::chrono::milliseconds jittered(std::chrono::milliseconds ceiling, double jitter) {
  const double fraction = std::clamp(jitter, 0.0, 1.0);
  const std::int64_t floor = ceiling.count() / 2;
  return std::chrono::milliseconds(floor + std::llround(fraction * static_cast<double>(ceiling.count() - floor)));
}

}  // namespace flashtix::core
