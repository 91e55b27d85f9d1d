// Wakes a background loop (outbox relay, refunds, webhook delivery) from any thread, so that work just
// committed is picked up at once rather than at the loop's next poll; and the plain pause such a loop
// takes when it must not be woken early.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>

namespace flashtix::core {

class Doorbell {
 public:
  explicit Doorbell(boost::asio::any_io_executor loop);
  Doorbell(const Doorbell&) = delete;
  Doorbell& operator=(const Doorbell&) = delete;

  // Any thread: something is due now.
  void ring();
  // On the loop's thread: returns once rung (at once if rung since the last wait), or after `at_most`.
  boost::asio::awaitable<void> wait(std::chrono::milliseconds at_most);

 private:
  boost::asio::steady_timer timer_;
  std::atomic<bool> rung_{false};
};

// A pause on the caller's loop that no ring shortens: a retry after a failure waits its full time.
boost::asio::awaitable<void> sleep_for(std::chrono::milliseconds duration);

}  // namespace flashtix::core
