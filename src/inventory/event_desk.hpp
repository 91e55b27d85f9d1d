// Every change to an event's stock in this process goes through its desk: one queue per event, kept by
// one event-loop thread (the event's home), so that the requests for an event that arrive while its
// batch is in flight go together in the next one (core::Batcher); and the batches of a home's events
// that are ready at once share one transaction, so that many quiet events cost no more commits than
// one busy one. Across processes the event row lock still puts the batches one after the other;
// correctness never depends on the batching.
//
// Cheap refusals: the desk remembers the stock each batch of an event committed. A reserve asking for
// more than that is refused at once, without a lock or a commit, for `sold_out_recheck` after that
// batch; tickets given back through this process come with its batches, so only tickets returned by
// another instance (or by hand) can go unseen, and for at most that long.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <unordered_map>
#include <variant>
#include <vector>

#include "core/batcher.hpp"
#include "core/pg.hpp"
#include "inventory/allocation.hpp"
#include "inventory/inventory.hpp"
#include "inventory/reservation.hpp"
#include "inventory/store.hpp"

namespace flashtix::inventory {

class EventDesk {
 public:
  // One home per event-loop thread; an event's home is picked by its id.
  struct Home {
    boost::asio::io_context::executor_type executor;
    core::pg::Pool* db;
  };
  EventDesk(std::vector<Home> homes, DeskLimits limits);
  EventDesk(const EventDesk&) = delete;
  EventDesk& operator=(const EventDesk&) = delete;

  // From any thread.
  boost::asio::awaitable<ReserveOutcome> reserve(ReserveCommand command);
  // Many reserves at once: each joins its event's queue, all in one hop per home thread. One answer
  // each, in order: the outcome, or the fault that failed it.
  using ReserveAttempt = std::variant<ReserveOutcome, std::exception_ptr>;
  boost::asio::awaitable<std::vector<ReserveAttempt>> reserve_many(std::vector<ReserveCommand> commands);
  // Release or confirm a hold of `event_id`.
  boost::asio::awaitable<HoldAfter> settle(std::int64_t event_id, SettleRequest request);
  // Expires up to DeskLimits::expire_batch of the event's holds past their time; how many it expired.
  boost::asio::awaitable<std::int64_t> expire_due(std::int64_t event_id);

  const DeskLimits& limits() const { return limits_; }

 private:
  struct ExpireDue {};
  using Op = std::variant<ReserveCommand, SettleRequest, ExpireDue>;
  using Outcome = std::variant<ReserveOutcome, HoldAfter, std::int64_t>;
  using Queue = core::Batcher<Op, Outcome>;

  // One event on its home thread.
  struct HomeState;
  struct Line {
    std::int64_t event_id = 0;
    HomeState* home = nullptr;
    std::shared_ptr<Queue> queue;
    // The available tickets this process's last batch of the event committed, and when.
    std::optional<std::int64_t> known_available;
    std::chrono::steady_clock::time_point known_at;
  };
  struct HomeState {
    Home home;
    std::unordered_map<std::int64_t, std::unique_ptr<Line>> lines;  // touched on the home thread only
    // The batches of this thread's events that are ready while a transaction is in flight go together
    // in the next one.
    std::shared_ptr<core::Batcher<store::EventWork, store::EventBatchResult>> transactions;
  };

  boost::asio::awaitable<Outcome> submit(std::int64_t event_id, Op op);
  // Which thread keeps an event's queue.
  std::size_t home_index(std::int64_t event_id) const;
  // On the home thread: answers from memory what it can, queues the rest.
  void accept(HomeState* home, std::int64_t event_id, Op op, std::shared_ptr<core::Reply<Outcome>> reply);
  Line& line_of(HomeState* home, std::int64_t event_id);
  std::optional<SoldOut> refusal_from_memory(const Line& line, const ReserveCommand& command) const;
  static boost::asio::awaitable<std::vector<Outcome>> run_batch(EventDesk* desk, Line* line, std::vector<Op> ops);

  std::vector<std::unique_ptr<HomeState>> homes_;
  DeskLimits limits_;
};

}  // namespace flashtix::inventory
