// The per-event queues: requests hop to the desk's home thread, wait there for its next transaction,
// and their answers hop back.
#include "inventory/event_desk.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <stdexcept>

#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/time.hpp"
#include "inventory/store.hpp"

namespace flashtix::inventory {

namespace asio = boost::asio;
using asio::awaitable;

namespace {
// An op of a batch that needs no position in the transaction: answered from memory, or an expiry.
constexpr std::size_t kFromMemory = static_cast<std::size_t>(-1);

// What the batches did to the holds, and how many requests went together.
struct DeskMetrics {
  prometheus::Counter& made;
  prometheus::Counter& sold;
  prometheus::Counter& released;
  prometheus::Counter& expired;
  prometheus::Histogram& requests_per_transaction;
  prometheus::Histogram& events_per_transaction;
};

const DeskMetrics& desk_metrics() {
  static const std::string kHolds = "flashtix_holds_total";
  static const std::string kHelp = "Holds made, and holds that were sold, released or expired";
  static const DeskMetrics metrics{
      core::metrics::counter(kHolds, kHelp, {{"transition", "made"}}),
      core::metrics::counter(kHolds, kHelp, {{"transition", "sold"}}),
      core::metrics::counter(kHolds, kHelp, {{"transition", "released"}}),
      core::metrics::counter(kHolds, kHelp, {{"transition", "expired"}}),
      core::metrics::histogram("flashtix_inventory_transaction_requests",
                               "Requests (reserves, releases, confirms) one stock transaction carried", {},
                               core::metrics::size_buckets()),
      core::metrics::histogram("flashtix_inventory_transaction_events", "Events one stock transaction locked", {},
                               core::metrics::size_buckets()),
  };
  return metrics;
}

void count_results(const std::vector<store::EventBatchResult>& results, std::size_t requests) {
  const DeskMetrics& metrics = desk_metrics();
  metrics.requests_per_transaction.Observe(static_cast<double>(requests));
  metrics.events_per_transaction.Observe(static_cast<double>(results.size()));
  for (const store::EventBatchResult& result : results) {
    for (const ReserveOutcome& outcome : result.reserves) {
      if (const auto* reserved = std::get_if<Reserved>(&outcome); reserved && reserved->created) metrics.made.Increment();
    }
    for (const StatusChange& change : result.settlement.changes) {
      if (change.status == kConfirmed) {
        metrics.sold.Increment();
      } else if (change.status == kReleased) {
        metrics.released.Increment();
      } else if (change.status == kExpired) {
        metrics.expired.Increment();
      }
    }
  }
}

}  // namespace

EventDesk::EventDesk(Home home, DeskLimits limits) : home_(home), limits_(limits) {
  // The hold counters exist from the start, at 0, so that a rate over them counts the first holds too.
  desk_metrics();
}

awaitable<ReserveOutcome> EventDesk::reserve(ReserveCommand command) {
  const std::int64_t event_id = command.event_id;
  Op op{std::move(command)};
  Outcome outcome = co_await submit(event_id, std::move(op));
  co_return std::get<ReserveOutcome>(std::move(outcome));
}

awaitable<HoldAfter> EventDesk::settle(std::int64_t event_id, SettleRequest request) {
  Op op{request};
  Outcome outcome = co_await submit(event_id, std::move(op));
  co_return std::get<HoldAfter>(std::move(outcome));
}

awaitable<std::int64_t> EventDesk::expire_due(std::int64_t event_id) {
  Op op{ExpireDue{}};
  Outcome outcome = co_await submit(event_id, std::move(op));
  co_return std::get<std::int64_t>(outcome);
}

awaitable<std::vector<EventDesk::ReserveAttempt>> EventDesk::reserve_many(std::vector<ReserveCommand> commands) {
  const auto executor = co_await asio::this_coro::executor;
  const auto start_by = std::chrono::steady_clock::now() + limits_.queue_wait;
  std::vector<Waiting> queued;
  for (ReserveCommand& command : commands)
    queued.push_back(Waiting{Op{std::move(command)}, std::make_shared<core::Reply<Outcome>>(executor)});
  std::vector<std::shared_ptr<core::Reply<Outcome>>> replies;
  for (const Waiting& item : queued) replies.push_back(item.reply);
  asio::post(home_.executor, [this, queued = std::move(queued)]() mutable {
    for (Waiting& item : queued) {
      const std::int64_t event_id = std::get<ReserveCommand>(item.op).event_id;
      accept(event_id, std::move(item.op), std::move(item.reply));
    }
  });
  std::vector<ReserveAttempt> attempts;
  attempts.reserve(replies.size());
  for (auto& reply : replies) {
    try {
      Outcome outcome = co_await core::Reply<Outcome>::wait(std::move(reply), start_by);
      attempts.emplace_back(std::get<ReserveOutcome>(std::move(outcome)));
    } catch (const std::exception&) {
      attempts.emplace_back(std::current_exception());
    }
  }
  co_return attempts;
}

awaitable<EventDesk::Outcome> EventDesk::submit(std::int64_t event_id, Op op) {
  const auto executor = co_await asio::this_coro::executor;
  auto reply = std::make_shared<core::Reply<Outcome>>(executor);
  if (home_.executor.running_in_this_thread()) {
    accept(event_id, std::move(op), reply);
  } else {
    asio::post(home_.executor, [this, event_id, op = std::move(op), reply]() mutable {
      accept(event_id, std::move(op), std::move(reply));
    });
  }
  const auto start_by = std::chrono::steady_clock::now() + limits_.queue_wait;
  co_return co_await core::Reply<Outcome>::wait(std::move(reply), start_by);
}

void EventDesk::accept(std::int64_t event_id, Op op, std::shared_ptr<core::Reply<Outcome>> reply) {
  Line* line = line_of(event_id);
  if (line == nullptr) {
    core::Reply<Outcome>::fail(reply, std::make_exception_ptr(core::Overloaded("too many events are waiting")));
    return;
  }
  if (const auto* command = std::get_if<ReserveCommand>(&op); command && !command->key_from_client) {
    // A fresh key names no hold yet: nothing to look up before refusing.
    if (auto refusal = refusal_from_memory(*line, *command)) {
      core::Reply<Outcome>::fulfil(reply, Outcome{ReserveOutcome{*refusal}});
      return;
    }
  }
  if (line->waiting.size() >= limits_.max_waiting) {
    core::Reply<Outcome>::fail(reply, std::make_exception_ptr(core::Overloaded("event " + std::to_string(event_id) +
                                                                               ": too many requests are waiting")));
    return;
  }
  line->waiting.push_back(Waiting{std::move(op), std::move(reply)});
  if (!line->ready) {
    line->ready = true;
    ready_.push_back(line);
  }
  if (!running_) {
    running_ = true;
    asio::co_spawn(home_.executor, run_transactions(this), core::LogIfFailed{"event transactions"});
  }
}

EventDesk::Line* EventDesk::line_of(std::int64_t event_id) {
  auto found = lines_.find(event_id);
  if (found != lines_.end()) return found->second.get();
  if (lines_.size() >= limits_.max_events) {
    // Forget the events nothing waits for; their memory of the stock is only a shortcut.
    std::erase_if(lines_, [](const auto& entry) {
      const Line& line = *entry.second;
      return line.waiting.empty() && !line.ready && !line.in_flight;
    });
    if (lines_.size() >= limits_.max_events) return nullptr;
  }
  auto line = std::make_unique<Line>();
  line->event_id = event_id;
  return lines_.emplace(event_id, std::move(line)).first->second.get();
}

std::optional<ReserveOutcome> EventDesk::refusal_from_memory(const Line& line, const ReserveCommand& command) const {
  if (!line.known_available) return std::nullopt;
  if (std::chrono::steady_clock::now() - line.known_at >= limits_.sold_out_recheck) return std::nullopt;
  // By this machine's clock; the transaction judges by the database's.
  const std::int64_t now_ms = core::unix_ms_now();
  if (!line.known_sales.open_at(now_ms)) return NotOnSale{line.known_sales, std::nullopt};
  const auto type_refuses = [&](std::int64_t type_id, std::int64_t quantity) -> std::optional<ReserveOutcome> {
    if (const auto window = line.known_type_sales.find(type_id);
        window != line.known_type_sales.end() && !window->second.open_at(now_ms)) {
      return NotOnSale{window->second, type_id};
    }
    if (const auto left = line.known_type_available.find(type_id);
        left != line.known_type_available.end() && left->second < quantity) {
      return SoldOut{left->second, type_id};
    }
    return std::nullopt;
  };
  if (command.items.empty() && line.known_default_type) {
    if (auto refused = type_refuses(*line.known_default_type, command.quantity)) return refused;
  }
  for (const ItemRequest& item : command.items) {
    if (auto refused = type_refuses(item.ticket_type_id, item.quantity)) return refused;
  }
  if (*line.known_available >= command.quantity) return std::nullopt;
  return SoldOut{*line.known_available, std::nullopt};
}

struct EventDesk::LineBatch {
  Line* line = nullptr;
  std::vector<Waiting> requests;
  std::vector<Outcome> outcomes;  // one per request: from memory now, from the transaction after it
  // Where each request's answer comes from: its index among the work's settles or reserves.
  std::vector<std::size_t> position;
  std::vector<std::size_t> expiries;
  // Reserves refused from memory whose client key may name an earlier hold: looked up before the transaction.
  std::vector<std::size_t> refused;
  store::EventBatch work;

  bool needs_database() const { return !work.reserves.empty() || !work.settles.empty() || work.expire_at_most > 0; }
};

EventDesk::LineBatch EventDesk::plan(Line* line, std::vector<Waiting> requests) const {
  LineBatch batch;
  batch.line = line;
  batch.outcomes.resize(requests.size());
  batch.position.assign(requests.size(), kFromMemory);
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const Op& op = requests[i].op;
    if (const auto* command = std::get_if<ReserveCommand>(&op)) {
      // Asked of memory again: the transaction before this one may have learnt that the stock ran out.
      if (auto refusal = refusal_from_memory(*line, *command)) {
        batch.outcomes[i] = ReserveOutcome{*refusal};
        if (command->key_from_client) batch.refused.push_back(i);
        continue;
      }
      batch.position[i] = batch.work.reserves.size();
      batch.work.reserves.push_back(*command);
    } else if (const auto* settle = std::get_if<SettleRequest>(&op)) {
      batch.position[i] = batch.work.settles.size();
      batch.work.settles.push_back(*settle);
    } else {
      batch.work.expire_at_most = limits_.expire_batch;
      batch.expiries.push_back(i);
    }
  }
  batch.requests = std::move(requests);
  return batch;
}

awaitable<void> EventDesk::run_transactions(EventDesk* desk) {
  // Also when a transaction throws: the next request that arrives starts the loop again.
  struct Stopped {
    EventDesk* desk;
    ~Stopped() { desk->running_ = false; }
  } stopped{desk};
  while (!desk->ready_.empty()) {
    std::vector<LineBatch> batches;
    // Lines with requests left past max_batch: ready again after this round, so an event is in a
    // transaction once.
    std::vector<Line*> more;
    while (!desk->ready_.empty() && batches.size() < desk->limits_.max_events_per_transaction) {
      Line* line = desk->ready_.front();
      desk->ready_.pop_front();
      line->ready = false;
      std::vector<Waiting> requests;
      while (!line->waiting.empty() && requests.size() < desk->limits_.max_batch) {
        Waiting next = std::move(line->waiting.front());
        line->waiting.pop_front();
        // A request whose caller stopped waiting (queue_wait) never runs.
        if (next.reply->take()) requests.push_back(std::move(next));
      }
      if (!line->waiting.empty()) more.push_back(line);
      if (requests.empty()) continue;
      line->in_flight = true;
      batches.push_back(desk->plan(line, std::move(requests)));
    }
    for (Line* line : more) {
      line->ready = true;
      desk->ready_.push_back(line);
    }
    if (!batches.empty()) co_await run_transaction(desk, std::move(batches));
  }
}

awaitable<void> EventDesk::run_transaction(EventDesk* desk, std::vector<LineBatch> batches) {
  std::exception_ptr failure;
  bool one_by_one = false;
  try {
    std::vector<std::string> refused_keys;
    for (const LineBatch& batch : batches) {
      for (const std::size_t i : batch.refused)
        refused_keys.push_back(std::get<ReserveCommand>(batch.requests[i].op).key);
    }
    if (!refused_keys.empty()) {
      // A read, not a transaction: no lock and no commit for a refusal.
      const auto earlier = co_await store::find_holds_by_keys(desk->home_.db, std::move(refused_keys));
      for (LineBatch& batch : batches) {
        for (const std::size_t i : batch.refused) {
          const ReserveCommand& command = std::get<ReserveCommand>(batch.requests[i].op);
          if (const auto found = earlier.find(command.key); found != earlier.end()) {
            batch.outcomes[i] = answer_with(found->second, command, *batch.line->known_available);
          }
        }
      }
    }
    std::vector<store::EventWork> work;
    std::vector<LineBatch*> working;
    std::size_t requests = 0;
    for (LineBatch& batch : batches) {
      if (!batch.needs_database()) continue;
      work.push_back(store::EventWork{batch.line->event_id, batch.work});
      working.push_back(&batch);
      requests += batch.requests.size();
    }
    std::vector<store::EventBatchResult> results;
    for (int attempt = 1; !work.empty(); ++attempt) {
      bool again = false;
      try {
        results = co_await store::run_event_batches(desk->home_.db, work);
        count_results(results, requests);
        break;
      } catch (const core::pg::Error& e) {
        // A deadlock or serialization failure rolled the transaction back whole; it may run again.
        again = attempt < desk->limits_.max_transaction_attempts &&
                (e.sqlstate() == "40P01" || e.sqlstate() == "40001");
        one_by_one = !again && requests > 1 && !core::pg::is_transient(e);
        if (one_by_one) {
          core::log_warn("a transaction of ", requests, " requests failed (", e.what(), "); retrying one by one");
        }
        if (!again) throw;
      }
    }
    for (std::size_t w = 0; w < working.size(); ++w) {
      LineBatch& batch = *working[w];
      const store::EventBatchResult& result = results[w];
      if (result.available_after) {
        batch.line->known_available = result.available_after;
        batch.line->known_sales = result.sales;
        batch.line->known_type_sales = result.type_sales;
        batch.line->known_default_type = result.default_type_id;
        batch.line->known_type_available = result.type_available;
        batch.line->known_at = std::chrono::steady_clock::now();
      }
      for (std::size_t i = 0; i < batch.requests.size(); ++i) {
        if (batch.position[i] == kFromMemory) continue;
        if (std::holds_alternative<ReserveCommand>(batch.requests[i].op)) {
          batch.outcomes[i] = result.reserves[batch.position[i]];
        } else if (std::holds_alternative<SettleRequest>(batch.requests[i].op)) {
          batch.outcomes[i] = result.settlement.answers[batch.position[i]];
        }
      }
      // Every expiry request of the batch was served by its one expiry.
      for (const std::size_t i : batch.expiries) batch.outcomes[i] = result.settlement.expired_holds;
    }
  } catch (const std::exception&) {
    failure = std::current_exception();
  }
  if (one_by_one) {
    // The refused transaction was rolled back whole, so nothing of it took effect.
    for (LineBatch& batch : batches) {
      for (Waiting& request : batch.requests) {
        // Each run below ends by marking the line idle; it is not until the last request has run.
        batch.line->in_flight = true;
        std::vector<Waiting> alone;
        alone.push_back(std::move(request));
        std::vector<LineBatch> single;
        single.push_back(desk->plan(batch.line, std::move(alone)));
        co_await run_transaction(desk, std::move(single));
      }
      batch.line->in_flight = false;
    }
    co_return;
  }
  for (LineBatch& batch : batches) {
    for (std::size_t i = 0; i < batch.requests.size(); ++i) {
      if (failure) {
        core::Reply<Outcome>::fail(batch.requests[i].reply, failure);
      } else {
        core::Reply<Outcome>::fulfil(batch.requests[i].reply, std::move(batch.outcomes[i]));
      }
    }
    batch.line->in_flight = false;
  }
}

}  // namespace flashtix::inventory
