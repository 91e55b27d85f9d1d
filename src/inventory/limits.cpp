// The inventory service's limit flags, read once at start and checked against each other.
#include "inventory/limits.hpp"

#include <stdexcept>
#include <string>

#include "core/limits.hpp"

namespace flashtix::inventory {

namespace {

constexpr std::int64_t kWeekSeconds = 7 * 24 * 3600;

core::LimitFlags<Limits> flags() {
  core::LimitFlags<Limits> table;
  table.add("max-quantity", &Limits::max_tickets_per_hold, 1, 1000, "tickets one reserve may hold")
      .add("default-hold-seconds", &Limits::default_hold_seconds, 1, kWeekSeconds,
           "how long a hold lasts when the request does not say")
      .add("max-hold-seconds", &Limits::max_hold_seconds, 1, kWeekSeconds, "the longest hold a request may ask for")
      .add("sweep-interval-ms", &Limits::sweep_interval, 10, 60'000, "how often expired holds are returned to stock")
      .add("max-batch-size", &Limits::desk, &DeskLimits::max_batch, 1, 10'000,
           "requests of one event in one transaction at most")
      .add("max-waiting-per-event", &Limits::desk, &DeskLimits::max_waiting, 1, 1'000'000,
           "requests of one event waiting for its next transaction at most")
      .add("queue-wait-ms", &Limits::desk, &DeskLimits::queue_wait, 10, 60'000,
           "a request not started within this is answered 503 overloaded")
      .add("sold-out-recheck-ms", &Limits::desk, &DeskLimits::sold_out_recheck, 0, 60'000,
           "how long a sold-out event or ticket type is refused from memory before asking the database")
      .add("stream-interval-ms", &Limits::stream, &StreamLimits::tick, 50, 60'000,
           "how often a live stream (GET /events/{id}/stream) looks for changes")
      .add("max-stream-subscribers", &Limits::stream, &StreamLimits::max_subscribers, 0, 100'000,
           "live streams open at once at most; more are refused with 503")
      .add("max-streams-per-client", &Limits::stream, &StreamLimits::max_per_client, 1, 100'000,
           "live streams open at once from one client address at most");
  return table;
}

}  // namespace

std::vector<core::ConfigOption> Limits::options() { return flags().options(); }

Limits Limits::from(const core::Config& config) { return flags().read(config); }

void Limits::check() const {
  if (default_hold_seconds > max_hold_seconds) {
    throw std::invalid_argument("--default-hold-seconds (" + std::to_string(default_hold_seconds) +
                                ") is above --max-hold-seconds (" + std::to_string(max_hold_seconds) +
                                "): a reserve that names no hold time would be refused");
  }
  // A stream looks at its keepalive once a tick: a longer tick would break its promise to proxies.
  if (stream.tick > stream.keepalive) {
    throw std::invalid_argument("--stream-interval-ms (" + std::to_string(stream.tick.count()) +
                                ") is longer than a stream's keepalive interval (" +
                                std::to_string(stream.keepalive.count()) +
                                " ms): a quiet stream would not send its keepalive in time");
  }
}

}  // namespace flashtix::inventory
