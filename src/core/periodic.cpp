// The two loops behind every background task, with their waits and their failure logging.
#include "core/periodic.hpp"

#include <exception>

#include "core/log.hpp"

namespace flashtix::core {

namespace asio = boost::asio;

namespace {

asio::awaitable<void> pause(Doorbell* doorbell, std::chrono::milliseconds interval) {
  if (doorbell != nullptr) {
    co_await doorbell->wait(interval);
  } else {
    co_await sleep_for(interval);
  }
}

}  // namespace

asio::awaitable<void> run_periodically(Periodic every, std::function<asio::awaitable<void>()> round) {
  for (;;) {
    co_await pause(every.doorbell, every.interval);
    try {
      co_await round();
    } catch (const std::exception& e) {
      log_warn(every.failed, e.what());
    }
  }
}

asio::awaitable<void> run_draining(Drain drain, std::function<asio::awaitable<bool>()> round) {
  bool failing = false;
  for (;;) {
    bool full = false;
    std::optional<std::string> failure;
    try {
      full = co_await round();
    } catch (const std::exception& e) {
      failure = e.what();
    }
    if (failure) {
      if (!failing) log_warn(drain.name, " paused, retrying: ", *failure);
      failing = true;
      if (drain.after_failure) {
        co_await sleep_for(drain.after_failure->next());
        continue;
      }
    } else {
      if (failing) log_info(drain.name, " resumed");
      failing = false;
      if (drain.after_failure) drain.after_failure->reset();
      if (full) continue;
    }
    co_await pause(drain.doorbell, drain.interval);
  }
}

}  // namespace flashtix::core
