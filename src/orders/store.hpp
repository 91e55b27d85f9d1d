// The order service's SQL, each statement named and beside the function that runs it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/pg.hpp"
#include "orders/order.hpp"

namespace flashtix::orders::store {

using boost::asio::awaitable;
using core::pg::Pool;

// The outcomes of claiming an Idempotency-Key.
struct Claimed {};  // ours: go on with `order_id`
struct Replay {     // finished before: answer exactly as then
  int status;
  std::string body;
};
struct KeyMismatch {};  // the key was used with another body
struct InProgress {};   // the first request with this key is still running
using ClaimOutcome = std::variant<Claimed, Replay, KeyMismatch, InProgress>;

awaitable<ClaimOutcome> claim_key(Pool* db, std::string key, std::string fingerprint, std::string order_id);
// Records the final answer for a claimed key (for answers that made no order: sold out, not found).
awaitable<void> finish_key(Pool* db, std::string key, int status, std::string body);
// Gives a claim up so that a retry starts afresh (the attempt failed and was compensated).
awaitable<void> drop_claim(Pool* db, std::string key, std::string order_id);

// Inserts the order, its order.created event (`created_payload`) and, when keyed, marks the claim DONE
// with `response_body`, in one statement. False when the claim was no longer ours (it was recovered as
// abandoned): nothing was inserted.
awaitable<bool> insert_order(Pool* db, Order order, std::optional<std::string> key, std::string response_body,
                             std::string created_payload);

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

// Pending orders whose hold time has passed, oldest first.
awaitable<std::vector<Order>> due_orders(Pool* db, int batch);

struct AbandonedClaim {
  std::string key;
  std::string order_id;
};
awaitable<std::vector<AbandonedClaim>> abandoned_claims(Pool* db, std::chrono::seconds older_than, int batch);

}  // namespace flashtix::orders::store
