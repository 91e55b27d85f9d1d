// Order SQL. The idempotency claim is an INSERT ... ON CONFLICT, never a select-then-insert.
#include "orders/store.hpp"

namespace flashtix::orders::store {

namespace json = core::json;
using core::pg::params;
using core::pg::Query;
using core::pg::Result;
using core::pg::Statement;

namespace {

Order order_from(const Result& rows, int row) {
  Order order;
  order.id = std::string(rows.text(row, "id"));
  order.event_id = rows.integer(row, "event_id");
  order.quantity = rows.integer(row, "quantity");
  if (!rows.is_null(row, "customer_email")) order.customer_email = std::string(rows.text(row, "customer_email"));
  order.status = std::string(rows.text(row, "status"));
  order.reservation_id = rows.integer(row, "reservation_id");
  order.expires_at_ms = rows.integer(row, "expires_at_ms");
  order.created_at_ms = rows.integer(row, "created_at_ms");
  if (!rows.is_null(row, "payment_id")) order.payment_id = std::string(rows.text(row, "payment_id"));
  if (!rows.is_null(row, "status_reason")) order.status_reason = std::string(rows.text(row, "status_reason"));
  return order;
}

#define FLASHTIX_ORDER_COLUMNS                                               \
  "id, event_id, quantity, customer_email, status, reservation_id, seq, "    \
  "payment_id, status_reason, "                                              \
  "(extract(epoch FROM expires_at) * 1000)::bigint AS expires_at_ms, "       \
  "(extract(epoch FROM created_at) * 1000)::bigint AS created_at_ms "

constexpr Query kClaimKey{"claim_key",
                          "INSERT INTO orders.idempotency_keys (key, request_fingerprint, order_id, state) "
                          "VALUES ($1::text, $2::text, $3::uuid, 'IN_PROGRESS') "
                          "ON CONFLICT (key) DO NOTHING RETURNING key"};

// Read after the claim in the same pipeline: it sees our row, or the one that was there first.
constexpr Query kSelectKey{"select_key",
                           "SELECT request_fingerprint, state, response_status, response_body "
                           "FROM orders.idempotency_keys WHERE key = $1::text"};

constexpr Query kFinishKey{"finish_key",
                           "UPDATE orders.idempotency_keys "
                           "SET state = 'DONE', response_status = $2::integer, response_body = $3::text, updated_at = now() "
                           "WHERE key = $1::text AND state = 'IN_PROGRESS'"};

constexpr Query kDropClaim{"drop_claim",
                           "DELETE FROM orders.idempotency_keys "
                           "WHERE key = $1::text AND order_id = $2::uuid AND state = 'IN_PROGRESS'"};

// The order, its key's answer and its order.created event commit together, and only while the claim
// is still ours.
constexpr Query kInsertOrder{"insert_order",
                             "WITH claim AS ("
                             "    UPDATE orders.idempotency_keys "
                             "       SET state = 'DONE', response_status = 201, response_body = $9::text, updated_at = now() "
                             "     WHERE key = $8::text AND order_id = $1::uuid AND state = 'IN_PROGRESS' "
                             "    RETURNING 1), "
                             "inserted AS ("
                             "    INSERT INTO orders.orders "
                             "        (id, event_id, quantity, customer_email, status, reservation_id, expires_at, created_at) "
                             "    SELECT $1::uuid, $2::bigint, $3::integer, $4::text, 'PENDING_PAYMENT', $5::bigint, "
                             "           to_timestamp($6::bigint / 1000.0), to_timestamp($7::bigint / 1000.0) "
                             "     WHERE $8::text IS NULL OR EXISTS (SELECT 1 FROM claim) "
                             "    RETURNING id) "
                             "INSERT INTO orders.outbox (type, correlation_id, payload) "
                             "SELECT 'order.created', id::text, $10::jsonb FROM inserted "
                             "RETURNING seq"};

constexpr Query kSelectOrder{"select_order",
                             "SELECT " FLASHTIX_ORDER_COLUMNS "FROM orders.orders WHERE id = $1::uuid"};

constexpr Query kListOrders{"list_orders",
                            "SELECT " FLASHTIX_ORDER_COLUMNS "FROM orders.orders "
                            "WHERE ($1::bigint IS NULL OR event_id = $1::bigint) "
                            "  AND ($2::text IS NULL OR status = $2::text) AND seq > $3::bigint "
                            "ORDER BY seq LIMIT $4::bigint"};

// The only way out of PENDING_PAYMENT, with the event that tells of it in the same statement. The
// status condition makes concurrent finishers (payment, cancel, expiry sweep) agree: one wins.
constexpr Query kFinishOrder{"finish_order",
                             "WITH changed AS ("
                             "    UPDATE orders.orders "
                             "       SET status = $2::text, status_reason = $3::text, "
                             "           payment_id = coalesce($4::uuid, payment_id), updated_at = now() "
                             "     WHERE id = $1::uuid AND status = 'PENDING_PAYMENT' "
                             "    RETURNING id) "
                             "INSERT INTO orders.outbox (type, correlation_id, payload) "
                             "SELECT $5::text, id::text, $6::jsonb FROM changed "
                             "RETURNING seq"};

constexpr Query kDueOrders{"due_orders",
                           "SELECT " FLASHTIX_ORDER_COLUMNS "FROM orders.orders "
                           "WHERE status = 'PENDING_PAYMENT' AND expires_at <= now() "
                           "ORDER BY expires_at LIMIT $1::integer"};

constexpr Query kAbandonedClaims{"abandoned_claims",
                                 "SELECT key, order_id FROM orders.idempotency_keys "
                                 "WHERE state = 'IN_PROGRESS' AND claimed_at < now() - make_interval(secs => $1::double precision) "
                                 "ORDER BY claimed_at LIMIT $2::integer"};

#undef FLASHTIX_ORDER_COLUMNS

}  // namespace

awaitable<ClaimOutcome> claim_key(Pool* db, std::string key, std::string fingerprint, std::string order_id) {
  std::vector<Statement> statements;
  statements.push_back({&kClaimKey, params(key, fingerprint, order_id)});
  statements.push_back({&kSelectKey, params(key)});
  const std::vector<Result> results = co_await db->pipeline(std::move(statements));
  if (!results[0].empty()) co_return Claimed{};
  const Result& existing = results[1];
  // Deleted between the two statements by a failed first attempt: that request is still winding down.
  if (existing.empty()) co_return InProgress{};
  if (existing.text(0, "request_fingerprint") != fingerprint) co_return KeyMismatch{};
  if (existing.text(0, "state") == "IN_PROGRESS") co_return InProgress{};
  co_return Replay{static_cast<int>(existing.integer(0, "response_status")),
                   std::string(existing.text(0, "response_body"))};
}

awaitable<void> finish_key(Pool* db, std::string key, int status, std::string body) {
  co_await db->exec(kFinishKey, params(key, status, body));
}

awaitable<void> drop_claim(Pool* db, std::string key, std::string order_id) {
  co_await db->exec(kDropClaim, params(key, order_id));
}

awaitable<bool> insert_order(Pool* db, Order order, std::optional<std::string> key, std::string response_body,
                             std::string created_payload) {
  const Result inserted =
      co_await db->exec(kInsertOrder, params(order.id, order.event_id, order.quantity, order.customer_email,
                                             order.reservation_id, order.expires_at_ms, order.created_at_ms, key,
                                             response_body, created_payload));
  co_return !inserted.empty();
}

awaitable<std::optional<Order>> find_order(Pool* db, std::string id) {
  const Result rows = co_await db->exec(kSelectOrder, params(id));
  if (rows.empty()) co_return std::nullopt;
  co_return order_from(rows, 0);
}

awaitable<OrderPage> list_orders(Pool* db, OrderFilter filter) {
  // One extra row tells whether another page exists (read_page).
  const Result rows =
      co_await db->exec(kListOrders, params(filter.event_id, filter.status, filter.after_seq, filter.limit + 1));
  co_return core::pg::read_page<Order>(rows, filter.limit, order_from);
}

Statement finish_order(const Order& ended, std::string_view event_type) {
  return Statement{&kFinishOrder, params(ended.id, ended.status, ended.status_reason, ended.payment_id, event_type,
                                         json::serialize(ended_event_payload(ended)))};
}

awaitable<bool> finish_order(Pool* db, Order ended, std::string_view event_type) {
  Statement statement = finish_order(ended, event_type);
  const Result changed = co_await db->exec(*statement.query, std::move(statement.params));
  co_return !changed.empty();
}

awaitable<std::vector<Order>> due_orders(Pool* db, int batch) {
  const Result rows = co_await db->exec(kDueOrders, params(batch));
  std::vector<Order> orders;
  for (int i = 0; i < rows.rows(); ++i) orders.push_back(order_from(rows, i));
  co_return orders;
}

awaitable<std::vector<AbandonedClaim>> abandoned_claims(Pool* db, std::chrono::seconds older_than, int batch) {
  const Result rows = co_await db->exec(kAbandonedClaims, params(static_cast<std::int64_t>(older_than.count()), batch));
  std::vector<AbandonedClaim> claims;
  for (int i = 0; i < rows.rows(); ++i) {
    claims.push_back({std::string(rows.text(i, "key")), std::string(rows.text(i, "order_id"))});
  }
  co_return claims;
}

}  // namespace flashtix::orders::store
