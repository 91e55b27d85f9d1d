// Batching without a timer: requests queue while the batch before them is in flight, and the next batch
// takes everything that waited, up to a bound. A quiet service answers at once; a busy one shares each
// round among many requests. For the database this is group commit: one transaction, one WAL flush,
// for a whole batch of requests; between services, one call for many.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cassert>
#include <chrono>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/pg.hpp"

namespace flashtix::core {

namespace asio = boost::asio;

// A queue past its bound, or a request that waited longer than it may before a batch took it:
// answered at once with 503 `overloaded` and Retry-After, never queued without end.
class Overloaded : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One request's answer, handed from the thread that runs its batch to the coroutine that waits
// for it, which may be on another thread. The waiter gives up only while no batch has taken the
// request: work its caller stopped waiting for is never committed.
template <class T>
class Reply {
 public:
  explicit Reply(asio::any_io_executor waiter) : waiter_(std::move(waiter)) {}
  Reply(const Reply&) = delete;
  Reply& operator=(const Reply&) = delete;

  // Claims the request for a batch; false when its waiter has given up (then it must not run).
  bool take() {
    int expected = kQueued;
    return state_.compare_exchange_strong(expected, kTaken);
  }

  // From any thread, once.
  static void fulfil(const std::shared_ptr<Reply>& reply, T value) {
    reply->value_.emplace(std::move(value));
    wake(reply);
  }
  static void fail(const std::shared_ptr<Reply>& reply, std::exception_ptr error) {
    reply->error_ = std::move(error);
    wake(reply);
  }

  // On the waiter's executor: the answer, or Overloaded when no batch took the request by
  // `start_by`. A request already taken is waited for: its batch has deadlines of its own.
  static asio::awaitable<T> wait(std::shared_ptr<Reply> reply, std::chrono::steady_clock::time_point start_by) {
    const auto executor = co_await asio::this_coro::executor;
    asio::steady_timer timer(executor, start_by);
    reply->timer_ = &timer;
    // The timer lives in this frame; an answer arriving after the frame is gone must not touch it.
    struct Unhook {
      Reply* reply;
      ~Unhook() { reply->timer_ = nullptr; }
    } unhook{reply.get()};
    if (!reply->answered_) co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!reply->answered_) {
      int expected = kQueued;
      if (reply->state_.compare_exchange_strong(expected, kAbandoned)) {
        throw Overloaded("the request waited too long for its turn");
      }
      timer.expires_at(std::chrono::steady_clock::time_point::max());
      if (!reply->answered_) co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    if (reply->error_) std::rethrow_exception(reply->error_);
    co_return std::move(*reply->value_);
  }

 private:
  static constexpr int kQueued = 0;
  static constexpr int kTaken = 1;
  static constexpr int kAbandoned = 2;

  // The answer was written before this post, so the waiter's thread sees it once the handler runs.
  static void wake(const std::shared_ptr<Reply>& reply) {
    asio::post(reply->waiter_, [reply] {
      reply->answered_ = true;
      if (reply->timer_) reply->timer_->cancel();
    });
  }

  asio::any_io_executor waiter_;
  std::atomic<int> state_{kQueued};
  std::optional<T> value_;
  std::exception_ptr error_;
  // Touched on the waiter's thread only.
  asio::steady_timer* timer_ = nullptr;
  bool answered_ = false;
};

struct BatchLimits {
  std::size_t max_batch = 512;       // requests in one batch at most
  std::size_t max_waiting = 10'000;  // requests queued behind the batches in flight at most
  // Batches running at once. One where they would wait for each other anyway (one event's row lock,
  // one writer's commits); more where the next batch can usefully start before the last one ends.
  int max_in_flight = 1;
};

// One queue of requests for one kind of batch, owned by one event-loop thread (its home). At most
// `max_in_flight` batches run at a time; `run_batch` gets the waiting items in arrival order and returns
// one outcome per item, or throws to fail them all. A batch the database refused (a pg::Error that is not about
// load) is run again one item at a time, so that one bad request fails alone, and one that lost a
// deadlock is run once more: either way the refused transaction was rolled back whole, so nothing of it
// took effect.
template <class Item, class Outcome>
class Batcher : public std::enable_shared_from_this<Batcher<Item, Outcome>> {
 public:
  using RunBatch = std::function<asio::awaitable<std::vector<Outcome>>(std::vector<Item>)>;

  Batcher(asio::io_context::executor_type home, BatchLimits limits, RunBatch run_batch, std::string name)
      : home_(std::move(home)),
        limits_(limits),
        run_batch_(std::move(run_batch)),
        name_(std::move(name)),
        batch_sizes_(&metrics::histogram("flashtix_batch_size", "Requests one batch carried, by queue",
                                         {{"queue", name_}}, metrics::size_buckets())),
        overloaded_(&metrics::counter("flashtix_batch_overloaded_total",
                                      "Requests refused because the queue was full, by queue", {{"queue", name_}})) {}

  // From any thread: queues `item` on the home thread and waits for its outcome; Overloaded when the
  // queue is full or no batch took the item by `start_by`.
  static asio::awaitable<Outcome> submit(std::shared_ptr<Batcher> self, Item item,
                                         std::chrono::steady_clock::time_point start_by) {
    const auto executor = co_await asio::this_coro::executor;
    auto reply = std::make_shared<Reply<Outcome>>(executor);
    if (self->home_.running_in_this_thread()) {
      self->push(std::move(item), reply);
    } else {
      asio::post(self->home_,
                 [self, item = std::move(item), reply]() mutable { self->push(std::move(item), std::move(reply)); });
    }
    co_return co_await Reply<Outcome>::wait(std::move(reply), start_by);
  }

  // On the home thread. Past `max_waiting` the reply fails with Overloaded at once.
  void push(Item item, std::shared_ptr<Reply<Outcome>> reply) {
    if (waiting_.size() >= limits_.max_waiting) {
      overloaded_->Increment();
      Reply<Outcome>::fail(reply, std::make_exception_ptr(Overloaded(name_ + ": too many requests are waiting")));
      return;
    }
    waiting_.push_back(Entry{std::move(item), std::move(reply)});
    if (in_flight_ < limits_.max_in_flight) {
      ++in_flight_;
      asio::co_spawn(home_, drain(this->shared_from_this()), LogIfFailed{name_});
    }
  }

  // On the home thread: nothing waits and no batch runs.
  bool idle() const { return in_flight_ == 0 && waiting_.empty(); }

 private:
  struct Entry {
    Item item;
    std::shared_ptr<Reply<Outcome>> reply;
  };

  static asio::awaitable<void> drain(std::shared_ptr<Batcher> self) {
    while (!self->waiting_.empty()) {
      std::vector<Entry> batch;
      while (!self->waiting_.empty() && batch.size() < self->limits_.max_batch) {
        Entry entry = std::move(self->waiting_.front());
        self->waiting_.pop_front();
        if (entry.reply->take()) batch.push_back(std::move(entry));
      }
      if (!batch.empty()) co_await run(self, std::move(batch));
    }
    --self->in_flight_;
  }

  static asio::awaitable<void> run(std::shared_ptr<Batcher> self, std::vector<Entry> batch) {
    std::exception_ptr failure;
    bool one_by_one = false;
    self->batch_sizes_->Observe(static_cast<double>(batch.size()));
    for (int attempt = 1;; ++attempt) {
      std::vector<Item> items;
      items.reserve(batch.size());
      for (const Entry& entry : batch) items.push_back(entry.item);
      bool again = false;
      try {
        std::vector<Outcome> outcomes = co_await self->run_batch_(std::move(items));
        assert(outcomes.size() == batch.size());
        for (std::size_t i = 0; i < batch.size(); ++i) Reply<Outcome>::fulfil(batch[i].reply, std::move(outcomes[i]));
        co_return;
      } catch (const pg::Error& e) {
        failure = std::current_exception();
        // A deadlock or serialization failure rolled the transaction back; the same batch may run again.
        again = attempt < kMaxAttempts && (e.sqlstate() == "40P01" || e.sqlstate() == "40001");
        one_by_one = !again && batch.size() > 1 && !pg::is_transient(e);
        if (one_by_one) {
          log_warn(self->name_, ": a batch of ", batch.size(), " failed (", e.what(), "); retrying one by one");
        }
      } catch (const std::exception&) {
        failure = std::current_exception();
      }
      if (!again) break;
    }
    if (!one_by_one) {
      for (const Entry& entry : batch) Reply<Outcome>::fail(entry.reply, failure);
      co_return;
    }
    for (Entry& entry : batch) {
      std::vector<Entry> alone;
      alone.push_back(std::move(entry));
      co_await run(self, std::move(alone));
    }
  }

  static constexpr int kMaxAttempts = 2;

  asio::io_context::executor_type home_;
  BatchLimits limits_;
  RunBatch run_batch_;
  std::string name_;
  prometheus::Histogram* batch_sizes_;
  prometheus::Counter* overloaded_;
  std::deque<Entry> waiting_;
  int in_flight_ = 0;  // drains running, each one batch at a time while anything waits
};

}  // namespace flashtix::core
