// The background task loops: a failed round does not end the task, a full drain goes on at once, and a
// failed drain waits its growing pause.
#include "core/periodic.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <stdexcept>
#include <vector>

namespace flashtix::core {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;

struct Rounds {
  asio::io_context* io = nullptr;
  int ran = 0;
  int stop_after = 0;
  std::vector<bool> outcomes{};  // per round of a drain: true full, false short; a failure where `fails`
  std::vector<int> fails{};      // the rounds (counted from 1) that throw
  std::vector<std::chrono::steady_clock::time_point> started{};
};

bool fails_now(const Rounds& rounds) {
  for (const int round : rounds.fails) {
    if (round == rounds.ran) return true;
  }
  return false;
}

asio::awaitable<void> one_round(Rounds* rounds) {
  ++rounds->ran;
  rounds->started.push_back(std::chrono::steady_clock::now());
  if (rounds->ran == rounds->stop_after) rounds->io->stop();
  if (fails_now(*rounds)) throw std::runtime_error("the database is away");
  co_return;
}

asio::awaitable<bool> one_drain(Rounds* rounds) {
  co_await one_round(rounds);
  co_return rounds->outcomes.at(static_cast<std::size_t>(rounds->ran - 1));
}

TEST(Periodic, AFailedRoundIsFollowedByTheNext) {
  asio::io_context io;
  Rounds rounds{.io = &io, .stop_after = 3, .fails = {1, 2}};
  const auto begun = std::chrono::steady_clock::now();
  asio::co_spawn(io,
                 run_periodically({.interval = milliseconds(5), .failed = "round failed: "},
                                  [&rounds] { return one_round(&rounds); }),
                 asio::detached);
  io.run_for(std::chrono::seconds(5));
  EXPECT_EQ(rounds.ran, 3);
  // The first round waits one interval.
  EXPECT_GE(rounds.started.front() - begun, milliseconds(5));
}

TEST(Periodic, ADoorbellStartsTheNextRoundEarly) {
  asio::io_context io;
  Doorbell doorbell(io.get_executor());
  Rounds rounds{.io = &io, .stop_after = 1};
  doorbell.ring();
  const auto begun = std::chrono::steady_clock::now();
  asio::co_spawn(
      io,
      run_periodically({.interval = std::chrono::hours(1), .failed = "round failed: ", .doorbell = &doorbell},
                       [&rounds] { return one_round(&rounds); }),
      asio::detached);
  io.run_for(std::chrono::seconds(5));
  EXPECT_EQ(rounds.ran, 1);
  EXPECT_LT(rounds.started.front() - begun, std::chrono::seconds(4));
}

TEST(Periodic, ADrainGoesOnAtOnceWhileFullAndBacksOffWhileFailing) {
  asio::io_context io;
  // Full, full, failed, failed, short, then a short one after the (long) interval is never reached.
  Rounds rounds{.io = &io, .stop_after = 5, .outcomes = {true, true, false, false, false}, .fails = {3, 4}};
  const auto begun = std::chrono::steady_clock::now();
  Drain drain{.name = "test drain",
              .interval = std::chrono::hours(1),
              .after_failure = Backoff(milliseconds(20), milliseconds(40))};
  asio::co_spawn(io, run_draining(std::move(drain), [&rounds] { return one_drain(&rounds); }), asio::detached);
  io.run_for(std::chrono::seconds(5));
  ASSERT_EQ(rounds.ran, 5);
  // The first round at once, the full ones followed at once, the failed ones by 20 then 40 ms.
  EXPECT_LT(rounds.started[2] - begun, std::chrono::seconds(1));
  EXPECT_GE(rounds.started[3] - rounds.started[2], milliseconds(20));
  EXPECT_GE(rounds.started[4] - rounds.started[3], milliseconds(40));
}

}  // namespace
}  // namespace flashtix::core
