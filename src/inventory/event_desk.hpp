// Every change to an event's stock in this process goes through its desk: one queue per event, all kept
// by one event-loop thread (the desk's home), which runs one transaction at a time. The next transaction
// takes what every queue gathered meanwhile: the requests for an event that arrive while its batch is in
// flight go together in the next one, with those of the other events, so that many quiet events cost no
// more commits than one busy one. One home for all events, because the commits are what costs: a home
// per thread would split each round of a sale spread over many events into as many transactions, and
// two levels of queues (per event, then per transaction) would split it again, since the events of the
// transaction just ended find the next one already started. Across processes the event row lock still
// puts the batches one after the other; correctness never depends on the batching.
//
// Cheap refusals: the desk remembers the stock each batch of an event committed. A reserve asking for
// more than that is refused at once, without a lock or a commit, for `sold_out_recheck` after that
// batch; tickets given back through this process come with its batches, so only tickets returned by
// another instance (or by hand) can go unseen, and for at most that long. The same for each ticket type
// with a quota: a reserve asking a type for more than its last batch left (a sold-out VIP while General
// still sells) is refused from memory; a quota the admin changed is seen within `sold_out_recheck`.
// Likewise a reserve outside the event's sales window as the last batch read it (by this machine's
// clock): a changed window is seen within `sold_out_recheck`, and before a sale opens its crowd costs one
// lock and no commit per recheck. The same for a ticket type's own window: a reserve naming a type (or,
// naming none, the default type) whose window the last batch read as closed now is refused from memory too.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
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
  // The thread that keeps the queues and runs the transactions, and its pool.
  struct Home {
    boost::asio::io_context::executor_type executor;
    core::pg::Pool* db;
  };
  EventDesk(Home home, DeskLimits limits);
  EventDesk(const EventDesk&) = delete;
  EventDesk& operator=(const EventDesk&) = delete;

  // From any thread.
  boost::asio::awaitable<ReserveOutcome> reserve(ReserveCommand command);
  // Many reserves at once: each joins its event's queue, all in one hop to the home thread. One answer
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
  struct Waiting {
    Op op;
    std::shared_ptr<core::Reply<Outcome>> reply;
  };

  // One event's queue, on the home thread.
  struct Line {
    std::int64_t event_id = 0;
    std::deque<Waiting> waiting;  // in arrival order, at most limits.max_waiting
    bool ready = false;           // listed in ready_
    bool in_flight = false;       // a batch of it is in the running transaction
    // The available tickets this process's last batch of the event committed, its sales window as that
    // batch read it, and when.
    std::optional<std::int64_t> known_available;
    SalesWindow known_sales;
    // Its ticket types' own windows (those that have one) and its default type, as that batch read them,
    // and the stock of each type with a quota that batch committed.
    std::unordered_map<std::int64_t, SalesWindow> known_type_sales;
    std::optional<std::int64_t> known_default_type;
    std::unordered_map<std::int64_t, std::int64_t> known_type_available;
    std::chrono::steady_clock::time_point known_at;
  };
  // One event's share of a transaction: its requests, what memory answered, what goes to the database.
  struct LineBatch;

  boost::asio::awaitable<Outcome> submit(std::int64_t event_id, Op op);
  // On the home thread: answers from memory what it can, queues the rest.
  void accept(std::int64_t event_id, Op op, std::shared_ptr<core::Reply<Outcome>> reply);
  // Null when max_events lines are kept already and none is idle.
  Line* line_of(std::int64_t event_id);
  // SoldOut (of the event or of a type) or NotOnSale, when memory (no older than sold_out_recheck) already
  // knows the answer.
  std::optional<ReserveOutcome> refusal_from_memory(const Line& line, const ReserveCommand& command) const;
  LineBatch plan(Line* line, std::vector<Waiting> requests) const;
  // On the home thread, while any line is ready: one transaction after the other.
  static boost::asio::awaitable<void> run_transactions(EventDesk* desk);
  // One transaction for these batches (a deadlock is tried once more); a batch the database refused is
  // run again one request at a time, so that one bad request fails alone. Answers every request.
  static boost::asio::awaitable<void> run_transaction(EventDesk* desk, std::vector<LineBatch> batches);

  Home home_;
  DeskLimits limits_;
  // Touched on the home thread only.
  std::unordered_map<std::int64_t, std::unique_ptr<Line>> lines_;
  std::deque<Line*> ready_;  // the lines with waiting requests, oldest first, each once
  bool running_ = false;     // the transaction loop runs
};

}  // namespace flashtix::inventory
