// Order SQL. An Idempotency-Key's answer is an INSERT ... ON CONFLICT, never a select-then-insert.
#include "orders/store.hpp"

#include <cassert>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

namespace flashtix::orders::store {

// A store is written in core::pg's terms (Query, Statement, Result, params) throughout.
using namespace core::pg;

namespace {

// The items column as order_items wrote it; the table holds only what this service wrote.
std::vector<OrderItem> items_from(std::string_view text) {
  std::vector<OrderItem> items;
  boost::system::error_code error;
  const core::json::value parsed = core::json::parse(text, error);
  if (error || !parsed.is_array()) return items;
  for (const core::json::value& element : parsed.get_array()) {
    const core::json::object* item = element.if_object();
    if (!item) continue;
    const auto number = [&](std::string_view name) {
      const core::json::value* member = item->if_contains(name);
      return member && member->is_int64() ? member->as_int64() : 0;
    };
    items.push_back(OrderItem{number("ticket_type_id"), number("quantity"), number("unit_price_minor")});
  }
  return items;
}

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
  if (!rows.is_null(row, "secret_sha256")) order.secret_sha256 = std::string(rows.text(row, "secret_sha256"));
  if (!rows.is_null(row, "payment_id")) order.payment_id = std::string(rows.text(row, "payment_id"));
  if (!rows.is_null(row, "status_reason")) order.status_reason = std::string(rows.text(row, "status_reason"));
  if (!rows.is_null(row, "traceparent")) order.traceparent = std::string(rows.text(row, "traceparent"));
  order.items = items_from(rows.text(row, "items"));
  order.amount_minor = rows.integer(row, "amount_minor");
  if (!rows.is_null(row, "currency")) order.currency = std::string(rows.text(row, "currency"));
  return order;
}

// The orders of one batch as the arrays kInsertOrders unnests, one array per column.
struct OrderColumns {
  std::vector<std::string> ids;
  std::vector<std::int64_t> event_ids, quantities, reservation_ids, expires_at_ms, created_at_ms;
  std::vector<Param> customer_emails, keys, fingerprints;
  std::vector<std::string> response_bodies, created_payloads, secrets;
  std::vector<Param> traceparents;
  std::vector<std::string> items;
  std::vector<std::int64_t> amounts;
  std::vector<Param> currencies;

  void add(const CheckoutWrites::InsertOrder& insert) {
    const Order& order = insert.order;
    ids.push_back(order.id);
    event_ids.push_back(order.event_id);
    quantities.push_back(order.quantity);
    customer_emails.push_back(order.customer_email);
    reservation_ids.push_back(order.reservation_id);
    expires_at_ms.push_back(order.expires_at_ms);
    created_at_ms.push_back(order.created_at_ms);
    keys.push_back(insert.key ? Param(insert.key->key) : std::nullopt);
    fingerprints.push_back(insert.key ? Param(insert.key->fingerprint) : std::nullopt);
    response_bodies.push_back(insert.response_body);
    created_payloads.push_back(insert.created_payload);
    secrets.push_back(order.secret_sha256);
    traceparents.push_back(order.traceparent.empty() ? std::nullopt : Param(order.traceparent));
    items.push_back(core::json::serialize(to_json(order.items)));
    amounts.push_back(order.amount_minor);
    currencies.push_back(order.currency.empty() ? std::nullopt : Param(order.currency));
  }
  core::pg::Params params() const {
    return core::pg::params(text_array(ids), int_array(event_ids), int_array(quantities), text_array(customer_emails),
                            int_array(reservation_ids), int_array(expires_at_ms), int_array(created_at_ms),
                            text_array(keys), text_array(fingerprints), text_array(response_bodies),
                            text_array(created_payloads), text_array(secrets), text_array(traceparents),
                            core::events::OrderCreated::kType, text_array(items), int_array(amounts),
                            text_array(currencies));
  }
};

#define FLASHTIX_ORDER_COLUMNS                                            \
  "id, event_id, quantity, customer_email, status, reservation_id, seq, " \
  "payment_id, status_reason, secret_sha256, traceparent, items::text AS items, amount_minor, currency, " \
  "(extract(epoch FROM expires_at) * 1000)::bigint AS expires_at_ms, "    \
  "(extract(epoch FROM created_at) * 1000)::bigint AS created_at_ms "

// --- The checkout's writes, one statement per kind for a whole batch ---

// A key's answer is inserted once, with what it answers. Ordered by key, so two batches that share keys
// wait for each other in one order, not in a circle.
constexpr Query kRememberAnswers{
    "remember_answers",
    "INSERT INTO orders.idempotency_keys (key, request_fingerprint, order_id, state, response_status, response_body) "
    "SELECT a.key, a.fingerprint, a.order_id, 'DONE', a.status, a.body "
    "  FROM unnest($1::text[], $2::text[], $3::uuid[], $4::integer[], $5::text[]) "
    "       AS a(key, fingerprint, order_id, status, body) "
    " ORDER BY a.key "
    "ON CONFLICT (key) DO NOTHING "
    "RETURNING key"};

// Each order, its order.created event ($14, the type) and its key's answer commit together; a keyed
// order is inserted only if its answer was (no other request with that key answered first).
constexpr Query kInsertOrders{
    "insert_orders",
    "WITH input AS ("
    "    SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::integer[], $4::text[], $5::bigint[], $6::bigint[], "
    "                         $7::bigint[], $8::text[], $9::text[], $10::text[], $11::jsonb[], $12::text[], "
    "                         $13::text[], $15::jsonb[], $16::bigint[], $17::text[]) "
    "        AS i(id, event_id, quantity, customer_email, reservation_id, expires_at_ms, created_at_ms, key, "
    "             fingerprint, response_body, created_payload, secret_sha256, traceparent, items, amount_minor, "
    "             currency)), "
    "answered AS ("
    "    INSERT INTO orders.idempotency_keys "
    "        (key, request_fingerprint, order_id, state, response_status, response_body) "
    "    SELECT i.key, i.fingerprint, i.id, 'DONE', 200, i.response_body FROM input i "
    "     WHERE i.key IS NOT NULL ORDER BY i.key "
    "    ON CONFLICT (key) DO NOTHING "
    "    RETURNING order_id), "
    "recorded AS ("
    "    SELECT * FROM input i WHERE i.key IS NULL OR i.id IN (SELECT order_id FROM answered)), "
    "inserted AS ("
    "    INSERT INTO orders.orders "
    "        (id, event_id, quantity, customer_email, status, reservation_id, expires_at, created_at, "
    "         secret_sha256, traceparent, items, amount_minor, currency) "
    "    SELECT r.id, r.event_id, r.quantity, r.customer_email, 'PENDING_PAYMENT', r.reservation_id, "
    "           to_timestamp(r.expires_at_ms / 1000.0), to_timestamp(r.created_at_ms / 1000.0), r.secret_sha256, "
    "           r.traceparent, r.items, r.amount_minor, r.currency "
    "      FROM recorded r "
    "    RETURNING id), "
    "announced AS ("
    "    INSERT INTO orders.outbox (type, correlation_id, payload, traceparent) "
    "    SELECT $14::text, r.id::text, r.created_payload, r.traceparent FROM recorded r) "
    "SELECT id::text AS id FROM inserted"};

// The answers of a batch's keys, read after its inserts in the same transaction: ours, or the ones that
// were there first.
constexpr Query kSelectKeys{"select_keys",
                            "SELECT key, request_fingerprint, response_status, response_body "
                            "FROM orders.idempotency_keys WHERE key = ANY($1::text[])"};

constexpr Query kSelectOrder{"select_order", "SELECT " FLASHTIX_ORDER_COLUMNS "FROM orders.orders WHERE id = $1::uuid"};

constexpr Query kListOrders{"list_orders", "SELECT " FLASHTIX_ORDER_COLUMNS
                                           "FROM orders.orders "
                                           "WHERE ($1::bigint IS NULL OR event_id = $1::bigint) "
                                           "  AND ($2::text IS NULL OR status = $2::text) AND seq > $3::bigint "
                                           "ORDER BY seq LIMIT $4::bigint"};

// The only way out of PENDING_PAYMENT ($7 is {PENDING_PAYMENT}) and, for a reset, of CONFIRMED, with the
// event that tells of it in the same statement. The status condition makes concurrent finishers
// (payment, cancel, expiry sweep, reset) agree: one wins.
constexpr Query kFinishOrder{"finish_order",
                             "WITH changed AS ("
                             "    UPDATE orders.orders "
                             "       SET status = $2::text, status_reason = $3::text, "
                             "           payment_id = coalesce($4::uuid, payment_id), updated_at = now() "
                             "     WHERE id = $1::uuid AND status = ANY($7::text[]) "
                             "    RETURNING id, traceparent) "
                             "INSERT INTO orders.outbox (type, correlation_id, payload, traceparent) "
                             "SELECT $5::text, id::text, $6::jsonb, traceparent FROM changed "
                             "RETURNING seq"};

constexpr Query kDueOrders{"due_orders",
                           "SELECT " FLASHTIX_ORDER_COLUMNS "FROM orders.orders "
                           "WHERE status = 'PENDING_PAYMENT' AND expires_at <= now() "
                           "ORDER BY expires_at LIMIT $1::integer"};

// A key's answer is kept a day: a retry later than that is a new request.
constexpr Query kPruneAnsweredKeys{"prune_answered_keys",
                                   "DELETE FROM orders.idempotency_keys WHERE key IN ("
                                   "    SELECT key FROM orders.idempotency_keys "
                                   "     WHERE claimed_at < now() - interval '24 hours' "
                                   "     ORDER BY claimed_at LIMIT $1::integer)"};

#undef FLASHTIX_ORDER_COLUMNS

}  // namespace

namespace {

KeyAnswer key_answer(const Result& rows, int row) {
  return KeyAnswer{std::string(rows.text(row, "request_fingerprint")),
                   static_cast<int>(rows.integer(row, "response_status")), std::string(rows.text(row, "response_body"))};
}

// The answers of a batch of lookups, one per key, in order (a key may be asked for twice).
awaitable<std::vector<std::optional<KeyAnswer>>> find_keys(Pool* db, std::vector<std::string> keys) {
  const Result rows = co_await db->exec(kSelectKeys, params(text_array(keys)));
  std::unordered_map<std::string_view, int> row_of;
  for (int row = 0; row < rows.rows(); ++row) row_of.emplace(rows.text(row, "key"), row);
  std::vector<std::optional<KeyAnswer>> answers;
  answers.reserve(keys.size());
  for (const std::string& key : keys) {
    const auto found = row_of.find(key);
    answers.push_back(found == row_of.end() ? std::nullopt : std::optional<KeyAnswer>(key_answer(rows, found->second)));
  }
  co_return answers;
}

}  // namespace

KeyLookups::KeyLookups(boost::asio::io_context::executor_type home, Pool* db, core::BatchLimits limits,
                       std::chrono::milliseconds queue_wait)
    : queue_(std::make_shared<core::Batcher<std::string, std::optional<KeyAnswer>>>(
          home, limits, [db](std::vector<std::string> keys) { return find_keys(db, std::move(keys)); },
          "Idempotency-Key lookups")),
      queue_wait_(queue_wait) {}

awaitable<std::optional<KeyAnswer>> KeyLookups::find(std::string key) {
  const auto start_by = std::chrono::steady_clock::now() + queue_wait_;
  co_return co_await core::Batcher<std::string, std::optional<KeyAnswer>>::submit(queue_, std::move(key), start_by);
}

CheckoutWrites::CheckoutWrites(boost::asio::io_context::executor_type home, Pool* db, core::BatchLimits limits,
                               std::chrono::milliseconds queue_wait)
    : queue_(std::make_shared<core::Batcher<Write, RecordOutcome>>(
          home, limits, [db](std::vector<Write> writes) { return run_checkout_writes(db, std::move(writes)); },
          "checkout writes")),
      queue_wait_(queue_wait) {}

awaitable<RecordOutcome> CheckoutWrites::submit(Write write) {
  const auto start_by = std::chrono::steady_clock::now() + queue_wait_;
  co_return co_await core::Batcher<Write, RecordOutcome>::submit(queue_, std::move(write), start_by);
}

awaitable<RecordOutcome> CheckoutWrites::insert_order(Order order, std::optional<Keyed> key, std::string response_body,
                                                      std::string created_payload) {
  Write write = InsertOrder{std::move(order), std::move(key), std::move(response_body), std::move(created_payload)};
  co_return co_await submit(std::move(write));
}

awaitable<RecordOutcome> CheckoutWrites::remember_answer(Keyed key, std::string order_id, int status,
                                                         std::string body) {
  Write write = RememberAnswer{std::move(key), std::move(order_id), status, std::move(body)};
  co_return co_await submit(std::move(write));
}

awaitable<std::vector<RecordOutcome>> run_checkout_writes(Pool* db, std::vector<CheckoutWrites::Write> writes) {
  using InsertOrder = CheckoutWrites::InsertOrder;
  using RememberAnswer = CheckoutWrites::RememberAnswer;
  std::vector<std::string> answer_keys, answer_fingerprints, answer_order_ids, answer_bodies;
  std::vector<std::int64_t> answer_statuses;
  OrderColumns orders;
  std::vector<std::string> all_keys;
  for (const CheckoutWrites::Write& write : writes) {
    if (const auto* insert = std::get_if<InsertOrder>(&write)) {
      orders.add(*insert);
      if (insert->key) all_keys.push_back(insert->key->key);
    } else {
      const auto& answer = std::get<RememberAnswer>(write);
      answer_keys.push_back(answer.key.key);
      answer_fingerprints.push_back(answer.key.fingerprint);
      answer_order_ids.push_back(answer.order_id);
      answer_statuses.push_back(answer.status);
      answer_bodies.push_back(answer.body);
      all_keys.push_back(answer.key.key);
    }
  }

  std::vector<Statement> statements;
  statements.push_back({&core::pg::kBegin, {}});
  std::optional<std::size_t> answers_stored;
  if (!answer_keys.empty()) {
    answers_stored = statements.size();
    statements.push_back({&kRememberAnswers, params(text_array(answer_keys), text_array(answer_fingerprints),
                                                    text_array(answer_order_ids), int_array(answer_statuses),
                                                    text_array(answer_bodies))});
  }
  std::optional<std::size_t> orders_inserted;
  if (!orders.ids.empty()) {
    orders_inserted = statements.size();
    statements.push_back({&kInsertOrders, orders.params()});
  }
  std::optional<std::size_t> keys_read;
  if (!all_keys.empty()) {
    keys_read = statements.size();
    statements.push_back({&kSelectKeys, params(text_array(all_keys))});
  }
  statements.push_back({&core::pg::kCommit, {}});
  const std::vector<Result> results = co_await db->pipeline(std::move(statements));

  // What was stored: the ids of the inserted orders, the keys whose answer is this batch's.
  std::unordered_set<std::string_view> inserted;
  if (orders_inserted) {
    const Result& rows = results[*orders_inserted];
    for (int row = 0; row < rows.rows(); ++row) inserted.insert(rows.text(row, "id"));
  }
  std::unordered_set<std::string_view> remembered;
  if (answers_stored) {
    const Result& rows = results[*answers_stored];
    for (int row = 0; row < rows.rows(); ++row) remembered.insert(rows.text(row, "key"));
  }
  std::unordered_map<std::string_view, int> key_rows;
  if (keys_read) {
    const Result& rows = results[*keys_read];
    for (int row = 0; row < rows.rows(); ++row) key_rows.emplace(rows.text(row, "key"), row);
  }
  const auto taken = [&](const std::string& key) -> RecordOutcome {
    const auto found = key_rows.find(key);
    if (found == key_rows.end()) throw std::runtime_error("Idempotency-Key " + key + " has no answer after its insert");
    return KeyTaken{key_answer(results[*keys_read], found->second)};
  };

  std::vector<RecordOutcome> outcomes;
  outcomes.reserve(writes.size());
  for (const CheckoutWrites::Write& write : writes) {
    if (const auto* insert = std::get_if<InsertOrder>(&write)) {
      if (inserted.contains(insert->order.id)) {
        outcomes.emplace_back(Recorded{});
      } else if (insert->key) {
        outcomes.push_back(taken(insert->key->key));
      } else {
        throw std::runtime_error("order " + insert->order.id + " was not inserted");
      }
    } else {
      const auto& answer = std::get<RememberAnswer>(write);
      if (remembered.contains(answer.key.key)) {
        outcomes.emplace_back(Recorded{});
      } else {
        outcomes.push_back(taken(answer.key.key));
      }
    }
  }
  co_return outcomes;
}

awaitable<std::optional<Order>> find_order(Pool* db, std::string id) {
  return find_one<Order>(db, kSelectOrder, params(id), order_from);
}

awaitable<OrderPage> list_orders(Pool* db, OrderFilter filter) {
  return list_page<Order>(db, kListOrders, params(filter.event_id, filter.status), filter.after_seq, filter.limit,
                          order_from);
}

Statement finish_order(const Order& ended, std::string_view event_type) {
  // An order ends in the state its event announces; one that ends unsold says why.
  assert((ended.status == kConfirmed && event_type == core::events::OrderConfirmed::kType) ||
         (ended.status == kCancelled && event_type == core::events::OrderCancelled::kType && ended.status_reason) ||
         (ended.status == kExpired && event_type == core::events::OrderExpired::kType && ended.status_reason));
  return Statement{&kFinishOrder, params(ended.id, ended.status, ended.status_reason, ended.payment_id, event_type,
                                         core::events::payload_text(ended_event(ended)),
                                         text_array(std::vector<std::string>{std::string(kPendingPayment)}))};
}

Statement void_order(const Order& order) {
  Order voided = order;
  voided.status = std::string(kCancelled);
  voided.status_reason = std::string(kReasonEventReset);
  return Statement{&kFinishOrder,
                   params(voided.id, voided.status, voided.status_reason, voided.payment_id,
                          core::events::OrderCancelled::kType, core::events::payload_text(ended_event(voided)),
                          text_array(std::vector<std::string>{std::string(kPendingPayment), std::string(kConfirmed)}))};
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

std::vector<core::RetentionRule> retention_rules(const core::messaging::Tables& tables) {
  return {{"orders.outbox", tables.prune_published()},
          {"orders.inbox", tables.prune_inbox()},
          {"orders.idempotency_keys", kPruneAnsweredKeys}};
}

}  // namespace flashtix::orders::store
