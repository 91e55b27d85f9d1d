// Payment SQL. One payment per order is a UNIQUE constraint, not a check in code.
#include "payments/store.hpp"

namespace flashtix::payments::store {

// A store is written in core::pg's terms (Query, Statement, Result, params) throughout.
using namespace core::pg;

namespace {

Payment payment_from(const Result& rows, int row) {
  Payment payment;
  payment.id = std::string(rows.text(row, "id"));
  payment.order_id = std::string(rows.text(row, "order_id"));
  payment.event_id = rows.integer(row, "event_id");
  payment.quantity = rows.integer(row, "quantity");
  payment.payment_token = std::string(rows.text(row, "payment_token"));
  payment.amount_minor = rows.integer(row, "amount_minor");
  if (!rows.is_null(row, "currency")) payment.currency = std::string(rows.text(row, "currency"));
  payment.status = std::string(rows.text(row, "status"));
  if (!rows.is_null(row, "failure_reason")) payment.failure_reason = std::string(rows.text(row, "failure_reason"));
  payment.refund_due = rows.boolean(row, "refund_due");
  payment.created_at_ms = rows.integer(row, "created_at_ms");
  payment.updated_at_ms = rows.integer(row, "updated_at_ms");
  if (!rows.is_null(row, "refunded_at_ms")) payment.refunded_at_ms = rows.integer(row, "refunded_at_ms");
  return payment;
}

#define FLASHTIX_PAYMENT_COLUMNS                                                                      \
  "id, order_id, event_id, quantity, payment_token, amount_minor, currency, status, failure_reason, " \
  "refund_due, seq, (extract(epoch FROM created_at) * 1000)::bigint AS created_at_ms, "               \
  "(extract(epoch FROM updated_at) * 1000)::bigint AS updated_at_ms, "                                \
  "(extract(epoch FROM refunded_at) * 1000)::bigint AS refunded_at_ms "

// The first key is this service's class of advisory locks, the second the order.
constexpr Query kLockOrder{"lock_order", "SELECT pg_advisory_xact_lock(8003, hashtext($1::uuid::text))"};

// A payment left pending before amounts were stored (no currency) takes the amount of its order.created
// when that is delivered again, and is charged for it.
constexpr Query kStartCharge{"start_charge",
                             "INSERT INTO payments.payments AS p (order_id, event_id, quantity, payment_token, status, "
                             "                                    traceparent, amount_minor, currency) "
                             "SELECT $1::uuid, $2::bigint, $3::integer, $4::text, 'pending', $5::text, "
                             "       $6::bigint, $7::text "
                             " WHERE NOT EXISTS (SELECT 1 FROM payments.closed_orders WHERE order_id = $1::uuid) "
                             "ON CONFLICT (order_id) DO UPDATE "
                             "   SET amount_minor = excluded.amount_minor, currency = excluded.currency "
                             " WHERE p.currency IS NULL AND p.status = 'pending' "
                             "   AND excluded.currency IS NOT NULL"};

constexpr Query kSelectByOrder{"select_payment_by_order",
                               "SELECT " FLASHTIX_PAYMENT_COLUMNS "FROM payments.payments WHERE order_id = $1::uuid"};

constexpr Query kFinishCharge{"finish_charge",
                              "WITH changed AS ("
                              "    UPDATE payments.payments p "
                              "       SET status = $2::text, failure_reason = $3::text, updated_at = now(), "
                              "           refund_due = p.refund_due OR EXISTS ("
                              "               SELECT 1 FROM payments.closed_orders c WHERE c.order_id = p.order_id) "
                              "     WHERE p.id = $1::uuid AND p.status = 'pending' "
                              "    RETURNING p.order_id, p.refund_due, p.traceparent), "
                              "announced AS ("
                              "    INSERT INTO payments.outbox (type, correlation_id, payload, traceparent) "
                              "    SELECT $4::text, order_id::text, $5::jsonb, traceparent FROM changed) "
                              "SELECT refund_due FROM changed"};

constexpr Query kCloseOrder{"close_order",
                            "WITH closed AS ("
                            "    INSERT INTO payments.closed_orders (order_id, status) VALUES ($1::uuid, $2::text) "
                            "    ON CONFLICT (order_id) DO NOTHING) "
                            "UPDATE payments.payments SET refund_due = true, updated_at = now() "
                            " WHERE order_id = $1::uuid AND status IN ('pending', 'succeeded') "
                            "RETURNING status"};

constexpr Query kDueRefunds{"due_refunds",
                            "SELECT " FLASHTIX_PAYMENT_COLUMNS "FROM payments.payments "
                            "WHERE refund_due AND status = 'succeeded' ORDER BY seq LIMIT $1::integer"};

constexpr Query kRecordRefund{"record_refund",
                              "WITH changed AS ("
                              "    UPDATE payments.payments SET status = 'refunded', refunded_at = now(), updated_at = now() "
                              "     WHERE id = $1::uuid AND status = 'succeeded' "
                              "    RETURNING order_id, traceparent) "
                              "INSERT INTO payments.outbox (type, correlation_id, payload, traceparent) "
                              "SELECT $3::text, order_id::text, $2::jsonb, traceparent FROM changed "
                              "RETURNING seq"};

constexpr Query kSelectPayment{"select_payment",
                               "SELECT " FLASHTIX_PAYMENT_COLUMNS "FROM payments.payments WHERE id = $1::uuid"};

constexpr Query kListPayments{"list_payments",
                              "SELECT " FLASHTIX_PAYMENT_COLUMNS "FROM payments.payments "
                              "WHERE ($1::uuid IS NULL OR order_id = $1::uuid) "
                              "  AND ($2::text IS NULL OR status = $2::text) AND seq > $3::bigint "
                              "ORDER BY seq LIMIT $4::bigint"};

constexpr Query kPruneClosedOrders{"prune_closed_orders",
                                   "DELETE FROM payments.closed_orders WHERE order_id IN ("
                                   "    SELECT order_id FROM payments.closed_orders "
                                   "     WHERE closed_at < now() - interval '7 days' "
                                   "     ORDER BY closed_at LIMIT $1::integer)"};

#undef FLASHTIX_PAYMENT_COLUMNS

}  // namespace

awaitable<std::optional<Payment>> start_charge(Pool* db, NewCharge charge) {
  std::vector<Statement> statements;
  statements.push_back({&core::pg::kBegin, {}});
  statements.push_back({&kLockOrder, params(charge.order_id)});
  // No chargeable amount: stored as none (0, no currency), and the payment fails on it.
  const std::int64_t amount_minor = charge.amount ? charge.amount->amount_minor : 0;
  const std::optional<std::string> currency =
      charge.amount ? std::optional<std::string>(charge.amount->currency) : std::nullopt;
  statements.push_back(
      {&kStartCharge, params(charge.order_id, charge.event_id, charge.quantity, charge.payment_token,
                             charge.traceparent.empty() ? std::nullopt : core::pg::Param(charge.traceparent),
                             amount_minor, currency)});
  statements.push_back({&kSelectByOrder, params(charge.order_id)});
  statements.push_back({&core::pg::kCommit, {}});
  const std::vector<Result> results = co_await db->pipeline(std::move(statements));
  const Result& rows = results[3];
  if (rows.empty()) co_return std::nullopt;
  co_return payment_from(rows, 0);
}

Statement lock_order(const std::string& order_id) { return Statement{&kLockOrder, params(order_id)}; }

Statement finish_charge(const Payment& ended, std::string_view event_type) {
  return Statement{&kFinishCharge, params(ended.id, ended.status, ended.failure_reason, event_type,
                                          core::events::payload_text(event_payload(ended)))};
}

Statement close_order(const std::string& order_id, const std::string& order_status) {
  return Statement{&kCloseOrder, params(order_id, order_status)};
}

awaitable<std::vector<Payment>> due_refunds(Pool* db, int batch) {
  const Result rows = co_await db->exec(kDueRefunds, params(batch));
  std::vector<Payment> payments;
  for (int i = 0; i < rows.rows(); ++i) payments.push_back(payment_from(rows, i));
  co_return payments;
}

awaitable<bool> record_refund(Pool* db, Payment refunded) {
  const Result changed = co_await db->exec(
      kRecordRefund, params(refunded.id, core::events::payload_text(event_payload(refunded)),
                            core::events::PaymentRefunded::kType));
  co_return !changed.empty();
}

awaitable<std::optional<Payment>> find_payment(Pool* db, std::string id) {
  return find_one<Payment>(db, kSelectPayment, params(id), payment_from);
}

awaitable<PaymentPage> list_payments(Pool* db, PaymentFilter filter) {
  return list_page<Payment>(db, kListPayments, params(filter.order_id, filter.status), filter.after_seq, filter.limit,
                            payment_from);
}

std::vector<core::RetentionRule> retention_rules(const core::messaging::Tables& tables) {
  return {{"payments.outbox", tables.prune_published()},
          {"payments.inbox", tables.prune_inbox()},
          {"payments.closed_orders", kPruneClosedOrders}};
}

}  // namespace flashtix::payments::store
