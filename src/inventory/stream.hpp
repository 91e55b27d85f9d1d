// The live sale: GET /events/{id}/stream pushes an event's counts (Server-Sent Events) as they change,
// read from the event row a few times a second at most, so watchers never take a lock or wait for a
// batch; GET / serves the page that shows them.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "core/http.hpp"
#include "core/pg.hpp"
#include "inventory/inventory.hpp"
#include "inventory/reservation.hpp"

namespace flashtix::inventory {

// The events' counts as one event-loop thread last read them: a row is read again only when its copy
// is older than a tick, however many streams watch it.
class EventSnapshots {
 public:
  EventSnapshots(core::pg::Pool* db, std::chrono::milliseconds fresh_for) : db_(db), fresh_for_(fresh_for) {}
  // The event as of at most `fresh_for` ago; nothing when it does not exist.
  boost::asio::awaitable<std::optional<Event>> latest(std::int64_t event_id);

 private:
  struct Copy {
    std::optional<Event> event;
    std::chrono::steady_clock::time_point read_at;
  };
  core::pg::Pool* db_;
  std::chrono::milliseconds fresh_for_;
  std::unordered_map<std::int64_t, Copy> copies_;  // events watched on this thread (bounded by the streams)
};

// Streams open in this process; shared by every thread.
struct StreamCount {
  std::atomic<int> open{0};
};

// The answer to GET /events/{id}/stream once the event is known to exist: an event-stream that sends
// `event: stock` with {id, total_tickets, available_tickets, held_tickets, sold_tickets} at once and at
// every change; 503 too_many_subscribers past the bound.
core::Response event_stream(EventSnapshots* snapshots, StreamCount* count, StreamLimits limits, Event first);

// The sale page (src/inventory/sale_page.html, compiled in).
std::string_view sale_page();

}  // namespace flashtix::inventory
