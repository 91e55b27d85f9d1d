// The per-event queues: requests hop to their event's home thread, wait there for the event's next
// transaction, and their answers hop back.
#include "inventory/event_desk.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <stdexcept>

#include "inventory/store.hpp"

namespace flashtix::inventory {

namespace asio = boost::asio;
using asio::awaitable;

namespace {
// An op of a batch that needs no position in the transaction: answered from memory, or an expiry.
constexpr std::size_t kFromMemory = static_cast<std::size_t>(-1);
}  // namespace

EventDesk::EventDesk(std::vector<Home> homes, DeskLimits limits) : limits_(limits) {
  if (homes.empty()) throw std::invalid_argument("an event desk needs at least one home thread");
  for (Home& home : homes) {
    auto state = std::make_unique<HomeState>(HomeState{home, {}, nullptr});
    core::pg::Pool* db = home.db;
    // Each event has one batch in flight at most, so a transaction carries each event once.
    state->transactions = std::make_shared<core::Batcher<store::EventWork, store::EventBatchResult>>(
        home.executor, core::BatchLimits{limits.max_events_per_transaction, limits.max_events},
        [db](std::vector<store::EventWork> work) { return store::run_event_batches(db, std::move(work)); },
        "event transactions");
    homes_.push_back(std::move(state));
  }
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
  struct Queued {
    std::int64_t event_id;
    Op op;
    std::shared_ptr<core::Reply<Outcome>> reply;
  };
  std::vector<std::shared_ptr<core::Reply<Outcome>>> replies;
  std::vector<std::vector<Queued>> by_home(homes_.size());
  for (ReserveCommand& command : commands) {
    auto reply = std::make_shared<core::Reply<Outcome>>(executor);
    replies.push_back(reply);
    const std::size_t home = home_index(command.event_id);
    const std::int64_t event_id = command.event_id;
    by_home[home].push_back(Queued{event_id, Op{std::move(command)}, std::move(reply)});
  }
  for (std::size_t i = 0; i < homes_.size(); ++i) {
    if (by_home[i].empty()) continue;
    HomeState* home = homes_[i].get();
    asio::post(home->home.executor, [this, home, queued = std::move(by_home[i])]() mutable {
      for (Queued& item : queued) accept(home, item.event_id, std::move(item.op), std::move(item.reply));
    });
  }
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

std::size_t EventDesk::home_index(std::int64_t event_id) const {
  return static_cast<std::size_t>(event_id) % homes_.size();
}

awaitable<EventDesk::Outcome> EventDesk::submit(std::int64_t event_id, Op op) {
  const auto executor = co_await asio::this_coro::executor;
  auto reply = std::make_shared<core::Reply<Outcome>>(executor);
  HomeState* home = homes_[home_index(event_id)].get();
  if (home->home.executor.running_in_this_thread()) {
    accept(home, event_id, std::move(op), reply);
  } else {
    asio::post(home->home.executor, [this, home, event_id, op = std::move(op), reply]() mutable {
      accept(home, event_id, std::move(op), std::move(reply));
    });
  }
  const auto start_by = std::chrono::steady_clock::now() + limits_.queue_wait;
  co_return co_await core::Reply<Outcome>::wait(std::move(reply), start_by);
}

void EventDesk::accept(HomeState* home, std::int64_t event_id, Op op, std::shared_ptr<core::Reply<Outcome>> reply) {
  Line& line = line_of(home, event_id);
  if (const auto* command = std::get_if<ReserveCommand>(&op); command && !command->key_from_client) {
    // A fresh key names no hold yet: nothing to look up before refusing.
    if (auto refusal = refusal_from_memory(line, *command)) {
      core::Reply<Outcome>::fulfil(reply, Outcome{ReserveOutcome{*refusal}});
      return;
    }
  }
  line.queue->push(std::move(op), std::move(reply));
}

EventDesk::Line& EventDesk::line_of(HomeState* home, std::int64_t event_id) {
  auto found = home->lines.find(event_id);
  if (found != home->lines.end()) return *found->second;
  if (home->lines.size() >= limits_.max_events) {
    // Forget the events nothing waits for; their memory of the stock is only a shortcut.
    std::erase_if(home->lines, [](const auto& entry) { return entry.second->queue->idle(); });
  }
  auto line = std::make_unique<Line>();
  line->event_id = event_id;
  line->home = home;
  Line* raw = line.get();
  line->queue = std::make_shared<Queue>(
      home->home.executor, limits_.queue,
      [this, raw](std::vector<Op> ops) { return run_batch(this, raw, std::move(ops)); },
      "event " + std::to_string(event_id) + " batch");
  return *home->lines.emplace(event_id, std::move(line)).first->second;
}

std::optional<SoldOut> EventDesk::refusal_from_memory(const Line& line, const ReserveCommand& command) const {
  if (!line.known_available || *line.known_available >= command.quantity) return std::nullopt;
  if (std::chrono::steady_clock::now() - line.known_at >= limits_.sold_out_recheck) return std::nullopt;
  return SoldOut{*line.known_available};
}

awaitable<std::vector<EventDesk::Outcome>> EventDesk::run_batch(EventDesk* desk, Line* line, std::vector<Op> ops) {
  std::vector<Outcome> outcomes(ops.size());
  store::EventBatch batch;
  // Where each op's answer comes from: its index among the transaction's settles or reserves.
  std::vector<std::size_t> position(ops.size(), kFromMemory);
  std::vector<std::size_t> expiries;
  // Reserves refused from memory whose client key may name an earlier hold: looked up first, all at once.
  std::vector<std::size_t> refused;
  std::vector<std::string> refused_keys;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (const auto* command = std::get_if<ReserveCommand>(&ops[i])) {
      // Asked of memory again: the batch before this one may have learnt that the stock ran out.
      if (auto refusal = desk->refusal_from_memory(*line, *command)) {
        outcomes[i] = ReserveOutcome{*refusal};
        if (command->key_from_client) {
          refused.push_back(i);
          refused_keys.push_back(command->key);
        }
        continue;
      }
      position[i] = batch.reserves.size();
      batch.reserves.push_back(*command);
    } else if (const auto* settle = std::get_if<SettleRequest>(&ops[i])) {
      position[i] = batch.settles.size();
      batch.settles.push_back(*settle);
    } else {
      batch.expire_at_most = desk->limits_.expire_batch;
      expiries.push_back(i);
    }
  }
  if (!refused_keys.empty()) {
    // A read, not a transaction: no lock and no commit for a refusal.
    const auto earlier = co_await store::find_holds_by_keys(line->home->home.db, std::move(refused_keys));
    for (const std::size_t i : refused) {
      const ReserveCommand& command = std::get<ReserveCommand>(ops[i]);
      if (const auto found = earlier.find(command.key); found != earlier.end()) {
        outcomes[i] = answer_with(found->second, command, *line->known_available);
      }
    }
  }
  if (batch.reserves.empty() && batch.settles.empty() && batch.expire_at_most == 0) co_return outcomes;

  store::EventWork work{line->event_id, std::move(batch)};
  const auto start_by = std::chrono::steady_clock::now() + desk->limits_.queue_wait;
  const store::EventBatchResult result =
      co_await core::Batcher<store::EventWork, store::EventBatchResult>::submit(line->home->transactions, std::move(work),
                                                                                start_by);
  if (result.available_after) {
    line->known_available = result.available_after;
    line->known_at = std::chrono::steady_clock::now();
  }
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (position[i] == kFromMemory) continue;
    if (std::holds_alternative<ReserveCommand>(ops[i])) {
      outcomes[i] = result.reserves[position[i]];
    } else if (std::holds_alternative<SettleRequest>(ops[i])) {
      outcomes[i] = result.settlement.answers[position[i]];
    }
  }
  // Every expiry request of the batch was served by its one expiry.
  for (const std::size_t i : expiries) outcomes[i] = result.settlement.expired_holds;
  co_return outcomes;
}

}  // namespace flashtix::inventory
