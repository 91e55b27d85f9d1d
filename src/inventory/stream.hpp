// The live sale: GET /events/{id}/stream pushes an event's counts (Server-Sent Events) as they change,
// read from the event row a few times a second at most, so watchers never take a lock or wait for a
// batch; GET / serves the page that shows them.
#pragma once

#include <mutex>
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
  // The event as of at most `fresh_for` ago (or of the read in flight for another stream).
  struct Snapshot {
    bool known = false;          // false: its first read is still on its way; nothing to tell yet
    std::optional<Event> event;  // nothing: the event does not exist
  };
  boost::asio::awaitable<Snapshot> latest(std::int64_t event_id);

 private:
  struct Copy {
    Snapshot snapshot;
    std::chrono::steady_clock::time_point read_at;
    bool reading = false;  // a read for it is on its way
  };
  core::pg::Pool* db_;
  std::chrono::milliseconds fresh_for_;
  std::unordered_map<std::int64_t, Copy> copies_;  // events watched on this thread (bounded by the streams)
};

// Streams open in this process, in all and per client address; shared by every thread.
class StreamCount {
 public:
  // Counts a stream of `client`; false (and nothing counted) past either bound.
  bool enter(const std::string& client, const StreamLimits& limits);
  void leave(const std::string& client);

 private:
  std::mutex mutex_;
  int open_ = 0;
  std::unordered_map<std::string, int> per_client_;
};

// The answer to GET /events/{id}/stream of `client` (an address) once the event is known to exist: an
// event-stream that sends `event: stock` with {id, total_tickets, available_tickets, held_tickets,
// sold_tickets} at once and at every change; 503 too_many_subscribers past the bounds.
core::Response event_stream(EventSnapshots* snapshots, StreamCount* count, StreamLimits limits, Event first,
                            std::string client);

// The sale page (src/inventory/sale_page.html, compiled in).
std::string_view sale_page();

}  // namespace flashtix::inventory
