// The shape of every background task: rounds of work for as long as the service's event loop runs, a
// round that fails logged and followed by the next one rather than ending the task. The task stops with
// its loop (its frame is destroyed with the io_context), never on a failure.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "core/backoff.hpp"
#include "core/doorbell.hpp"

namespace flashtix::core {

// A sweep, a refund round, a pruning round: waits, then runs a round, again and again.
struct Periodic {
  std::chrono::milliseconds interval;  // between rounds
  // The warning a failed round logs, followed by the error: "order sweep failed, retrying next tick: ".
  std::string failed;
  Doorbell* doorbell = nullptr;  // when set, a ring starts the next round before the interval is up
};

// The first round comes after one interval. A round that throws is logged and the next comes on time.
boost::asio::awaitable<void> run_periodically(Periodic every, std::function<boost::asio::awaitable<void>()> round);

// A drain of due work (webhooks to deliver, outbox rows to publish): a round at once, then after each
// interval or ring, and again at once while rounds come back full.
struct Drain {
  std::string name;  // for the log: "<name> paused, retrying: ..." then "<name> resumed"
  std::chrono::milliseconds interval;
  Doorbell* doorbell = nullptr;  // work committed elsewhere rings it
  // After a failure, a plain pause that grows while the failures last, instead of the interval: no ring
  // shortens it, as during an outage every new piece of work would ring.
  std::optional<Backoff> after_failure{};
};

// `round` returns whether it was full (more may be due at once). A run of failed rounds is logged once
// when it starts and once when it ends.
boost::asio::awaitable<void> run_draining(Drain drain, std::function<boost::asio::awaitable<bool>()> round);

}  // namespace flashtix::core
