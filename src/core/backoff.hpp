// The growing pause of a retry loop: each pause twice the last, from a first one up to a cap, and back to
// the first after a success, so that a dependency that is away is not hammered while it comes back.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace flashtix::core {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds first, std::chrono::milliseconds longest)
      : first_(first), longest_(longest), next_(first) {}

  // The pause to take now; the one after it is twice as long, at most `longest`.
  std::chrono::milliseconds next() {
    const std::chrono::milliseconds pause = next_;
    next_ = std::min(next_ * 2, longest_);
    return pause;
  }
  // The call succeeded: the next failure starts again from the first pause.
  void reset() { next_ = first_; }

 private:
  std::chrono::milliseconds first_;
  std::chrono::milliseconds longest_;
  std::chrono::milliseconds next_;
};

// The pause after `failures` earlier failures without keeping a count: `first` doubled that many times,
// at most `longest`.
std::chrono::milliseconds backoff_ceiling(std::chrono::milliseconds first, std::chrono::milliseconds longest,
                                          std::int64_t failures);
// `ceiling` scaled into [50%, 100%] by `jitter` in [0, 1], so that many callers failing together do not
// come back in lockstep.
std::chrono::milliseconds jittered(std::chrono::milliseconds ceiling, double jitter);

}  // namespace flashtix::core
