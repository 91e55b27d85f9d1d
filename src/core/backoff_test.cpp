// The growing pause: doubling to a cap, back to the first after a success, and the jitter's range.
#include "core/backoff.hpp"

#include <gtest/gtest.h>

namespace flashtix::core {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, DoublesUpToTheCapAndStartsOverAfterASuccess) {
  Backoff backoff(milliseconds(100), milliseconds(300));
  EXPECT_EQ(backoff.next(), milliseconds(100));
  EXPECT_EQ(backoff.next(), milliseconds(200));
  EXPECT_EQ(backoff.next(), milliseconds(300));
  EXPECT_EQ(backoff.next(), milliseconds(300));
  backoff.reset();
  EXPECT_EQ(backoff.next(), milliseconds(100));
}

TEST(Backoff, CeilingAfterFailuresIsCappedWithoutOverflow) {
  EXPECT_EQ(backoff_ceiling(milliseconds(200), milliseconds(10'000), 0), milliseconds(200));
  EXPECT_EQ(backoff_ceiling(milliseconds(200), milliseconds(10'000), 3), milliseconds(1600));
  EXPECT_EQ(backoff_ceiling(milliseconds(200), milliseconds(10'000), 6), milliseconds(10'000));
  EXPECT_EQ(backoff_ceiling(milliseconds(200), milliseconds(10'000), 1'000'000), milliseconds(10'000));
  EXPECT_EQ(backoff_ceiling(milliseconds(200), milliseconds(10'000), -1), milliseconds(200));
}

TEST(Backoff, JitterKeepsThePauseBetweenHalfAndAll) {
  EXPECT_EQ(jittered(milliseconds(1000), 0.0), milliseconds(500));
  EXPECT_EQ(jittered(milliseconds(1000), 1.0), milliseconds(1000));
  EXPECT_EQ(jittered(milliseconds(1000), 0.5), milliseconds(750));
  EXPECT_EQ(jittered(milliseconds(1000), 7.0), milliseconds(1000));
  EXPECT_EQ(jittered(milliseconds(1000), -1.0), milliseconds(500));
}

}  // namespace
}  // namespace flashtix::core
