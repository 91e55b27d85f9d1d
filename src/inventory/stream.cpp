// One coroutine per stream: read the event's copy each tick, send it when it changed.
#include "inventory/stream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <memory>

#include "core/http_server.hpp"
#include "inventory/store.hpp"

namespace flashtix::inventory {

namespace asio = boost::asio;
using asio::awaitable;

awaitable<EventSnapshots::Snapshot> EventSnapshots::latest(std::int64_t event_id) {
  const auto now = std::chrono::steady_clock::now();
  auto found = copies_.find(event_id);
  if (found != copies_.end() && (found->second.reading || now - found->second.read_at < fresh_for_)) {
    // Fresh enough, or being read for another stream this moment: one read a tick, however many watch.
    co_return found->second.snapshot;
  }
  if (found == copies_.end()) found = copies_.emplace(event_id, Copy{}).first;
  // Stamped before the read, so that a failing read is not tried again by every stream in the same tick.
  found->second.read_at = now;
  found->second.reading = true;
  std::optional<Event> event;
  try {
    // A plain read: no lock, nothing a batch waits for.
    event = co_await store::find_event(db_, event_id);
  } catch (const std::exception&) {
    copies_[event_id].reading = false;
    throw;
  }
  // Looked up again: the map may have grown during the read.
  Copy& copy = copies_[event_id];
  copy.snapshot = Snapshot{true, event};
  copy.reading = false;
  co_return copy.snapshot;
}

bool StreamCount::enter(const std::string& client, const StreamLimits& limits) {
  const std::lock_guard lock(mutex_);
  int& mine = per_client_[client];
  if (open_ >= limits.max_subscribers || mine >= limits.max_per_client) {
    if (mine == 0) per_client_.erase(client);
    return false;
  }
  ++open_;
  ++mine;
  return true;
}

void StreamCount::leave(const std::string& client) {
  const std::lock_guard lock(mutex_);
  --open_;
  const auto found = per_client_.find(client);
  if (found != per_client_.end() && --found->second == 0) per_client_.erase(found);
}

namespace {

// Holds a place among the open streams until the answer, streamed or not, is gone.
struct Subscription {
  StreamCount* count;
  std::string client;
  Subscription(StreamCount* counted, std::string address) : count(counted), client(std::move(address)) {}
  ~Subscription() { count->leave(client); }
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;
};

std::string stock_message(const Event& event) {
  core::json::array types;
  for (const TicketType& type : event.ticket_types) {
    types.push_back(core::json::object{{"id", type.id}, {"available_tickets", available_of(type, event.available_tickets)}});
  }
  const core::json::object counts{{"id", event.id},
                                  {"total_tickets", event.total_tickets},
                                  {"available_tickets", event.available_tickets},
                                  {"held_tickets", event.held_tickets},
                                  {"sold_tickets", event.sold_tickets},
                                  {"ticket_types", std::move(types)}};
  return "event: stock\ndata: " + core::json::serialize(counts) + "\n\n";
}

bool same_counts(const Event& a, const Event& b) {
  const bool same_types = std::equal(a.ticket_types.begin(), a.ticket_types.end(), b.ticket_types.begin(),
                                     b.ticket_types.end(), [&](const TicketType& x, const TicketType& y) {
                                       return x.id == y.id && available_of(x, a.available_tickets) == available_of(y, b.available_tickets);
                                     });
  return a.total_tickets == b.total_tickets && a.available_tickets == b.available_tickets &&
         a.held_tickets == b.held_tickets && a.sold_tickets == b.sold_tickets && same_types;
}

awaitable<void> run_stream(EventSnapshots* snapshots, std::shared_ptr<Subscription> subscription, StreamLimits limits,
                           Event first, core::BodyWriter* writer) {
  static_cast<void>(subscription);  // kept until the stream ends
  const auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor);
  const auto started = std::chrono::steady_clock::now();
  // The browser waits this long before it reconnects a stream that ended.
  std::string opening = "retry: 2000\n\n" + stock_message(first);
  const bool opened = co_await writer->write(std::move(opening));
  if (!opened) co_return;
  Event sent = first;
  auto last_write = started;
  while (!core::stopping() && std::chrono::steady_clock::now() - started < limits.max_duration) {
    timer.expires_after(limits.tick);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!writer->open()) co_return;
    EventSnapshots::Snapshot latest;
    try {
      latest = co_await snapshots->latest(first.id);
    } catch (const std::exception&) {
      // The database is away for a moment: the page keeps what it has; the next tick asks again.
      continue;
    }
    if (!latest.known) continue;
    if (!latest.event) co_return;  // the event is gone
    const std::optional<Event>& now = latest.event;
    std::string message;
    if (!same_counts(*now, sent)) {
      message = stock_message(*now);
      sent = *now;
    } else if (std::chrono::steady_clock::now() - last_write >= limits.keepalive) {
      message = ": still here\n\n";
    }
    if (message.empty()) continue;
    const bool taken = co_await writer->write(std::move(message));
    if (!taken) co_return;
    last_write = std::chrono::steady_clock::now();
  }
}

}  // namespace

core::Response event_stream(EventSnapshots* snapshots, StreamCount* count, StreamLimits limits, Event first,
                            std::string client) {
  if (!count->enter(client, limits)) {
    return core::problem_response(core::Problem{core::http::status::service_unavailable, "too_many_subscribers",
                                                "Too many streams",
                                                "this service, or this client address, has as many open streams as "
                                                "it may; retry later",
                                                {}, {{"Retry-After", "5"}}});
  }
  auto subscription = std::make_shared<Subscription>(count, std::move(client));
  core::Response response;
  response.content_type = "text/event-stream";
  response.headers = {{"Cache-Control", "no-cache"}};
  response.stream = [snapshots, subscription, limits, first](core::BodyWriter* writer) {
    return run_stream(snapshots, subscription, limits, first, writer);
  };
  return response;
}

}  // namespace flashtix::inventory
