// The order service's SQL, each statement named and beside the function that runs it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/batcher.hpp"
#include "core/messaging/tables.hpp"
#include "core/pg.hpp"
#include "core/retention.hpp"
#include "orders/order.hpp"

namespace flashtix::orders::store {

using boost::asio::awaitable;
using core::pg::Pool;

// What an Idempotency-Key was answered the first time, and with which request (its fingerprint).
struct KeyAnswer {
  std::string fingerprint;
  int status;
  std::string body;
};
// The stored answers of keys, looked up together: the lookups of concurrent requests of all threads
// share one read (core::Batcher) on one home thread. Any thread may call.
class KeyLookups {
 public:
  KeyLookups(boost::asio::io_context::executor_type home, Pool* db, core::BatchLimits limits,
             std::chrono::milliseconds queue_wait);
  // The stored answer of `key`, if it has one.
  awaitable<std::optional<KeyAnswer>> find(std::string key);

 private:
  std::shared_ptr<core::Batcher<std::string, std::optional<KeyAnswer>>> queue_;
  std::chrono::milliseconds queue_wait_;
};

// A key's answer is stored once, with the result it answers: ours, or (when another request with the
// same key stored one first) that earlier one.
struct Recorded {};
struct KeyTaken {
  KeyAnswer earlier;
};
using RecordOutcome = std::variant<Recorded, KeyTaken>;

// A keyed request as the checkout records it.
struct Keyed {
  std::string key;
  std::string fingerprint;
};

// The checkout's writes, group-committed: the writes of concurrent requests of all threads share one
// transaction (core::Batcher) on one home thread, so an order costs a fraction of a commit. Every
// write is durable when its call returns. A write no transaction took within `queue_wait` throws
// core::Overloaded and never runs. Any thread may call.
class CheckoutWrites {
 public:
  CheckoutWrites(boost::asio::io_context::executor_type home, Pool* db, core::BatchLimits limits,
                 std::chrono::milliseconds queue_wait);

  // Inserts the order and its order.created event (`created_payload`) and, when keyed, the key's answer
  // (201 with `response_body`), together. KeyTaken, with nothing inserted, when the key has an answer.
  awaitable<RecordOutcome> insert_order(Order order, std::optional<Keyed> key, std::string response_body,
                                        std::string created_payload);
  // Stores the answer of a request that made no order (sold out, no such event) under its key.
  awaitable<RecordOutcome> remember_answer(Keyed key, std::string order_id, int status, std::string body);

  // The writes one transaction carries.
  struct InsertOrder {
    Order order;
    std::optional<Keyed> key;
    std::string response_body;
    std::string created_payload;
  };
  struct RememberAnswer {
    Keyed key;
    std::string order_id;  // of the attempt, which made no order
    int status;
    std::string body;
  };
  using Write = std::variant<InsertOrder, RememberAnswer>;

 private:
  awaitable<RecordOutcome> submit(Write write);
  std::shared_ptr<core::Batcher<Write, RecordOutcome>> queue_;
  std::chrono::milliseconds queue_wait_;
};

// One transaction for a batch of checkout writes: the keys' answers first (each stored once), then the
// orders whose answer was stored (or that have no key); one outcome per write, in order.
awaitable<std::vector<RecordOutcome>> run_checkout_writes(Pool* db, std::vector<CheckoutWrites::Write> writes);

awaitable<std::optional<Order>> find_order(Pool* db, std::string id);
struct OrderFilter {
  std::optional<std::int64_t> event_id;
  std::optional<std::string> status;
  std::int64_t after_seq = 0;
  std::int64_t limit = 50;
};
using OrderPage = core::pg::Page<Order>;
awaitable<OrderPage> list_orders(Pool* db, OrderFilter filter);

// Moves a PENDING_PAYMENT order to `ended.status` (with its reason and payment) and writes `event_type`
// to the outbox, in one statement; nothing when the order was not pending any more. As a statement for
// a consumer's inbox transaction, and run on its own.
core::pg::Statement finish_order(const Order& ended, std::string_view event_type);
awaitable<bool> finish_order(Pool* db, Order ended, std::string_view event_type);
// The one way out of CONFIRMED: its event was reset and its seats voided. A PENDING_PAYMENT or CONFIRMED
// order becomes CANCELLED (event_reset) with its order.cancelled, in one statement; the payment service
// refunds what was charged.
core::pg::Statement void_order(const Order& order);

// Pending orders whose hold time has passed, oldest first.
awaitable<std::vector<Order>> due_orders(Pool* db, int batch);

// What the order service prunes: its outbox and inbox, and Idempotency-Keys answered a day ago (as
// Stripe keeps them).
std::vector<core::RetentionRule> retention_rules(const core::messaging::Tables& tables);

}  // namespace flashtix::orders::store
