// One coroutine per stream: read the event's copy each tick, send it when it changed.
#include "inventory/stream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>

#include "core/http_server.hpp"
#include "inventory/store.hpp"

namespace flashtix::inventory {

namespace asio = boost::asio;
using asio::awaitable;

awaitable<std::optional<Event>> EventSnapshots::latest(std::int64_t event_id) {
  const auto now = std::chrono::steady_clock::now();
  const auto found = copies_.find(event_id);
  if (found != copies_.end() && now - found->second.read_at < fresh_for_) co_return found->second.event;
  // A plain read: no lock, nothing a batch waits for.
  std::optional<Event> event = co_await store::find_event(db_, event_id);
  copies_[event_id] = Copy{event, now};
  co_return event;
}

namespace {

// Holds a place among the open streams until the answer, streamed or not, is gone.
struct Subscription {
  StreamCount* count;
  explicit Subscription(StreamCount* counted) : count(counted) {}
  ~Subscription() { count->open.fetch_sub(1, std::memory_order_relaxed); }
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;
};

std::string stock_message(const Event& event) {
  const core::json::object counts{{"id", event.id},
                                  {"total_tickets", event.total_tickets},
                                  {"available_tickets", event.available_tickets},
                                  {"held_tickets", event.held_tickets},
                                  {"sold_tickets", event.sold_tickets}};
  return "event: stock\ndata: " + core::json::serialize(counts) + "\n\n";
}

bool same_counts(const Event& a, const Event& b) {
  return a.total_tickets == b.total_tickets && a.available_tickets == b.available_tickets &&
         a.held_tickets == b.held_tickets && a.sold_tickets == b.sold_tickets;
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
    std::optional<Event> now;
    try {
      now = co_await snapshots->latest(first.id);
    } catch (const std::exception&) {
      // The database is away for a moment: the page keeps what it has; the next tick asks again.
      continue;
    }
    if (!now) co_return;  // the event is gone
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

core::Response event_stream(EventSnapshots* snapshots, StreamCount* count, StreamLimits limits, Event first) {
  if (count->open.fetch_add(1, std::memory_order_relaxed) >= limits.max_subscribers) {
    count->open.fetch_sub(1, std::memory_order_relaxed);
    return core::problem_response(core::Problem{core::http::status::service_unavailable, "too_many_subscribers",
                                                "Too many streams", "this service has as many open streams as it "
                                                "serves; retry later",
                                                {}, {{"Retry-After", "5"}}});
  }
  auto subscription = std::make_shared<Subscription>(count);
  core::Response response;
  response.content_type = "text/event-stream";
  response.headers = {{"Cache-Control", "no-cache"}};
  response.stream = [snapshots, subscription, limits, first](core::BodyWriter* writer) {
    return run_stream(snapshots, subscription, limits, first, writer);
  };
  return response;
}

}  // namespace flashtix::inventory
