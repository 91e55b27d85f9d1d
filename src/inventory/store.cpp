// Inventory SQL. Every change to a stock goes through run_event_batches: one transaction that locks
// each event row once for the batches of requests of several events. The event row carries its counts
// (available, sold; held is what remains), so reading an event never sums its holds.
#include "inventory/store.hpp"

#include <algorithm>
#include <cassert>
#include <limits>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "core/events.hpp"
#include "core/json_fields.hpp"

namespace flashtix::inventory::store {

// A store is written in core::pg's terms (Query, Statement, Result, params) throughout.
using namespace core::pg;

namespace {

std::optional<std::int64_t> optional_integer(const Result& rows, int row, const char* column) {
  return rows.is_null(row, column) ? std::nullopt : std::optional<std::int64_t>(rows.integer(row, column));
}

SalesWindow sales_window_from(const Result& rows, int row) {
  return SalesWindow{optional_integer(rows, row, "sales_start_ms"), optional_integer(rows, row, "sales_end_ms")};
}

// '{1,2,3}', PostgreSQL's text form of an integer array.
std::vector<std::int64_t> integers_of(std::string_view array) {
  std::vector<std::int64_t> numbers;
  if (array.size() < 2) return numbers;
  array = array.substr(1, array.size() - 2);
  while (!array.empty()) {
    const std::size_t comma = array.find(',');
    const std::string_view element = array.substr(0, comma);
    numbers.push_back(core::parse_int(element, std::numeric_limits<std::int64_t>::min(),
                                      std::numeric_limits<std::int64_t>::max())
                          .value_or(0));
    if (comma == std::string_view::npos) break;
    array.remove_prefix(comma + 1);
  }
  return numbers;
}

std::vector<HoldItem> items_from(const Result& rows, int row) {
  const std::vector<std::int64_t> types = integers_of(rows.text(row, "item_type_ids"));
  const std::vector<std::int64_t> quantities = integers_of(rows.text(row, "item_quantities"));
  const std::vector<std::int64_t> prices = integers_of(rows.text(row, "item_prices_minor"));
  // The table's CHECK keeps the three in step.
  std::vector<HoldItem> items;
  for (std::size_t i = 0; i < types.size() && i < quantities.size() && i < prices.size(); ++i) {
    items.push_back(HoldItem{types[i], quantities[i], prices[i]});
  }
  return items;
}

TicketType ticket_type_from(const Result& rows, int row) {
  return TicketType{rows.integer(row, "id"),
                    rows.integer(row, "event_id"),
                    std::string(rows.text(row, "name")),
                    rows.boolean(row, "is_default"),
                    rows.integer(row, "price_minor"),
                    rows.integer(row, "min_per_order"),
                    optional_integer(rows, row, "max_per_order"),
                    optional_integer(rows, row, "quota"),
                    optional_integer(rows, row, "available_tickets"),
                    optional_integer(rows, row, "sold_tickets"),
                    sales_window_from(rows, row)};
}

Event event_from(const Result& rows, int row) {
  const std::int64_t total = rows.integer(row, "total_tickets");
  const std::int64_t available = rows.integer(row, "available_tickets");
  const std::int64_t sold = rows.integer(row, "sold_tickets");
  return Event{rows.integer(row, "id"),
               std::string(rows.text(row, "name")),
               total,
               available,
               total - available - sold,
               sold,
               rows.integer(row, "created_at_ms"),
               optional_integer(rows, row, "max_tickets_per_buyer"),
               sales_window_from(rows, row),
               std::string(rows.text(row, "currency")),
               {}};
}

Reservation reservation_from(const Result& rows, int row) {
  return Reservation{rows.integer(row, "id"),
                     std::string(rows.text(row, "reservation_key")),
                     rows.integer(row, "event_id"),
                     rows.integer(row, "quantity"),
                     std::string(rows.text(row, "status")),
                     rows.integer(row, "expires_at_ms"),
                     rows.integer(row, "created_at_ms"),
                     rows.is_null(row, "secret_sha256") ? std::string() : std::string(rows.text(row, "secret_sha256")),
                     items_from(rows, row),
                     rows.integer(row, "amount_minor"),
                     rows.is_null(row, "currency") ? std::string() : std::string(rows.text(row, "currency"))};
}

#define FLASHTIX_EVENT_COLUMNS                                                                   \
  "e.id, e.name, e.total_tickets, e.available_tickets, e.sold_tickets, e.max_tickets_per_buyer, e.currency, " \
  "(extract(epoch FROM e.created_at) * 1000)::bigint AS created_at_ms, "                        \
  "(extract(epoch FROM e.sales_start) * 1000)::bigint AS sales_start_ms, "                      \
  "(extract(epoch FROM e.sales_end) * 1000)::bigint AS sales_end_ms "

// A hold's columns, its items in the middle. A hold of its event's default type alone, made while that type
// had no quota, stores no items (NULL arrays, db/inventory/010): its one item is `quantity` tickets of the
// default type at amount_minor / quantity each, which FLASHTIX_RESERVATION_COLUMNS reads back. The new holds
// of a batch come back as stored (FLASHTIX_NEW_HOLD_COLUMNS), without a read of the types a hold, and are
// given that item by default_type_items.
#define FLASHTIX_HOLD_HEAD "r.id, r.reservation_key, r.event_id, r.quantity, r.status, r.secret_sha256, "
#define FLASHTIX_HOLD_TAIL                                                                       \
  "r.amount_minor, r.currency, "                                                                 \
  "(extract(epoch FROM r.expires_at) * 1000)::bigint AS expires_at_ms, "                         \
  "(extract(epoch FROM r.created_at) * 1000)::bigint AS created_at_ms "
#define FLASHTIX_RESERVATION_COLUMNS                                                             \
  FLASHTIX_HOLD_HEAD                                                                             \
  "coalesce(r.item_type_ids, ARRAY[(SELECT t.id FROM inventory.ticket_types t "                  \
  "                                 WHERE t.event_id = r.event_id AND t.is_default)])::text "    \
  "    AS item_type_ids, "                                                                       \
  "coalesce(r.item_quantities, ARRAY[r.quantity])::text AS item_quantities, "                    \
  "coalesce(r.item_prices_minor, ARRAY[r.amount_minor / r.quantity])::text AS item_prices_minor, " \
  FLASHTIX_HOLD_TAIL
#define FLASHTIX_NEW_HOLD_COLUMNS                                                                \
  FLASHTIX_HOLD_HEAD                                                                             \
  "r.item_type_ids::text AS item_type_ids, r.item_quantities::text AS item_quantities, "         \
  "r.item_prices_minor::text AS item_prices_minor, " FLASHTIX_HOLD_TAIL

#define FLASHTIX_TICKET_TYPE_COLUMNS                                                             \
  "t.id, t.event_id, t.name, t.is_default, t.price_minor, t.min_per_order, t.max_per_order, t.quota, " \
  "t.available_tickets, t.sold_tickets, "                                                        \
  "(extract(epoch FROM t.sales_start) * 1000)::bigint AS sales_start_ms, "                      \
  "(extract(epoch FROM t.sales_end) * 1000)::bigint AS sales_end_ms "

// The event's default type is added by the table's trigger (events_default_ticket_type).
constexpr Query kInsertEvent{"insert_event",
                             "INSERT INTO inventory.events AS e "
                             "    (name, total_tickets, available_tickets, max_tickets_per_buyer, sales_start, sales_end, "
                             "     currency) "
                             "VALUES ($1, $2, $2, $3, to_timestamp($4::bigint / 1000.0), to_timestamp($5::bigint / 1000.0), "
                             "        $6) "
                             "RETURNING " FLASHTIX_EVENT_COLUMNS};

// The types of a new event, in the order given ($2 to $8 one array each): the first becomes the default
// type the trigger made, then the others are added after it. Two statements, so that the default has its
// new name before the others are added (one of them may take the name it had).
#define FLASHTIX_GIVEN_TYPES                                                                                   \
  "WITH given AS ("                                                                                          \
  "    SELECT * FROM unnest($2::text[], $3::bigint[], $4::integer[], $5::integer[], $6::integer[], $7::bigint[], " \
  "                         $8::bigint[]) WITH ORDINALITY "                                                   \
  "        AS g(name, price, min_per_order, max_per_order, quota, sales_start_ms, sales_end_ms, n)) "
constexpr Query kShapeDefaultType{
    "shape_default_type",
    FLASHTIX_GIVEN_TYPES
    "UPDATE inventory.ticket_types t "
    "   SET name = g.name, price_minor = g.price, min_per_order = g.min_per_order, "
    "       max_per_order = g.max_per_order, quota = g.quota, available_tickets = g.quota, "
    "       sold_tickets = CASE WHEN g.quota IS NULL THEN NULL ELSE 0 END, "
    "       sales_start = to_timestamp(g.sales_start_ms / 1000.0), sales_end = to_timestamp(g.sales_end_ms / 1000.0) "
    "  FROM given g "
    " WHERE g.n = 1 AND t.event_id = $1::bigint AND t.is_default"};
constexpr Query kAddOtherTypes{
    "add_other_types",
    FLASHTIX_GIVEN_TYPES
    "INSERT INTO inventory.ticket_types "
    "    (event_id, name, price_minor, min_per_order, max_per_order, quota, available_tickets, sold_tickets, "
    "     sales_start, sales_end) "
    "SELECT $1::bigint, g.name, g.price, g.min_per_order, g.max_per_order, g.quota, g.quota, "
    "       CASE WHEN g.quota IS NULL THEN NULL ELSE 0 END, "
    "       to_timestamp(g.sales_start_ms / 1000.0), to_timestamp(g.sales_end_ms / 1000.0) "
    "  FROM given g WHERE g.n > 1 ORDER BY g.n"};
#undef FLASHTIX_GIVEN_TYPES

// The types of these events, each event's in id order.
constexpr Query kTicketTypesOf{"ticket_types_of",
                               "SELECT " FLASHTIX_TICKET_TYPE_COLUMNS "FROM inventory.ticket_types t "
                               "WHERE t.event_id = ANY($1::bigint[]) ORDER BY t.event_id, t.id"};

// POST /events/{id}/ticket_types, in one transaction: the event row locked (as a batch locks it, so that
// no batch of the event runs meanwhile) with the number of its types, then the new type, if the event has
// room for it and no type of that name (nothing inserted otherwise).
constexpr Query kLockEventForTypes{
    "lock_event_for_types",
    "SELECT e.id, e.available_tickets, e.total_tickets FROM inventory.events e WHERE e.id = $1::bigint "
    "FOR NO KEY UPDATE"};
constexpr Query kTypeQuota{"type_quota",
                           "SELECT t.quota FROM inventory.ticket_types t WHERE t.id = $2::bigint AND t.event_id = $1::bigint"};
constexpr Query kAddTicketType{
    "add_ticket_type",
    "INSERT INTO inventory.ticket_types AS t "
    "    (event_id, name, price_minor, min_per_order, max_per_order, quota, available_tickets, sold_tickets, "
    "     sales_start, sales_end) "
    "SELECT $1::bigint, $2::text, $3::bigint, $4::integer, $5::integer, $6::integer, $6::integer, "
    "       CASE WHEN $6::integer IS NULL THEN NULL ELSE 0 END, "
    "       to_timestamp($7::bigint / 1000.0), to_timestamp($8::bigint / 1000.0) "
    " WHERE EXISTS (SELECT 1 FROM inventory.events WHERE id = $1::bigint) "
    "   AND (SELECT count(*) FROM inventory.ticket_types WHERE event_id = $1::bigint) < $9::integer "
    "ON CONFLICT (event_id, name) DO NOTHING "
    "RETURNING " FLASHTIX_TICKET_TYPE_COLUMNS};

// $2 and $4 say whether the start and the end change; the CHECK refuses a window that would end before
// it starts. The row lock waits for a batch of the event in flight, which read the window as it was.
constexpr Query kChangeSalesWindow{"change_sales_window",
                                   "UPDATE inventory.events AS e SET "
                                   "  sales_start = CASE WHEN $2::boolean THEN to_timestamp($3::bigint / 1000.0) "
                                   "                     ELSE e.sales_start END, "
                                   "  sales_end = CASE WHEN $4::boolean THEN to_timestamp($5::bigint / 1000.0) "
                                   "                   ELSE e.sales_end END "
                                   "WHERE e.id = $1 RETURNING " FLASHTIX_EVENT_COLUMNS};

constexpr Query kSelectEvent{"select_event", "SELECT " FLASHTIX_EVENT_COLUMNS "FROM inventory.events e WHERE e.id = $1"};

constexpr Query kListEvents{
    "list_events", "SELECT " FLASHTIX_EVENT_COLUMNS "FROM inventory.events e WHERE e.id > $1 ORDER BY e.id LIMIT $2"};

// A hold by id ($1) or by key ($2): one of them is null.
constexpr Query kSelectHold{"select_hold",
                            "SELECT " FLASHTIX_RESERVATION_COLUMNS
                            "FROM inventory.reservations r "
                            "WHERE r.id = coalesce($1::bigint, "
                            "    (SELECT id FROM inventory.reservations WHERE reservation_key = $2::text))"};

// expires_at is now: a tombstone is past its time from the start, and never HELD, so no sweep reads it.
constexpr Query kInsertTombstone{"insert_tombstone",
                                 "INSERT INTO inventory.reservations AS r "
                                 "    (reservation_key, event_id, quantity, status, expires_at) "
                                 "VALUES ($1::text, $2::bigint, $3::integer, 'RELEASED', now()) "
                                 "ON CONFLICT (reservation_key) DO NOTHING "
                                 "RETURNING " FLASHTIX_RESERVATION_COLUMNS};

// --- One event's batch ---

// The holds a batch settles, locked after their event rows, in id order, so two batches never wait on
// each other in a circle. `live` is judged by the clock when the locks are had, not when the transaction
// began (now()): a confirm that waited for its event's row past the hold's time must not sell it, since
// a batch of another instance may meanwhile have counted it gone (kBuyerTickets) or sold its tickets.
constexpr Query kLockHolds{"lock_holds",
                           "SELECT " FLASHTIX_RESERVATION_COLUMNS ", r.expires_at > clock_timestamp() AS live "
                           "FROM inventory.reservations r WHERE r.id = ANY($1::bigint[]) ORDER BY r.id FOR UPDATE"};

// Holds past their time, oldest first (through reservations_held_expiry, so only due holds are read),
// skipping those another transaction has locked (a confirm, another instance's batch). With what their
// hold.expired says: the key, and the time of this transaction, which kSettleHolds stamps them with.
constexpr Query kLockDueHolds{"lock_due_holds",
                              "SELECT r.id, r.quantity, r.reservation_key, r.item_type_ids::text AS item_type_ids, "
                              "       r.item_quantities::text AS item_quantities, "
                              "       r.item_prices_minor::text AS item_prices_minor, "
                              "       (extract(epoch FROM now()) * 1000)::bigint AS expired_at_ms "
                              "FROM inventory.reservations r "
                              "WHERE r.status = 'HELD' AND r.expires_at <= now() AND r.event_id = $1::bigint "
                              "ORDER BY r.expires_at LIMIT $2::integer FOR UPDATE SKIP LOCKED"};

// Each event row once per transaction, in id order, before any hold (so two transactions, the reset
// included, never wait on each other in a circle); with its sales window and the database's clock as it
// read the row, which judges the window, so that every instance judges alike. Every statement after it
// reads the stock as it is now, not as a snapshot had it. NO KEY UPDATE, the lock the UPDATE of the
// counts takes anyway: it still puts batches one after the other, but lets a hold written outside a batch
// (a release's tombstone) check its event's key meanwhile.
constexpr Query kLockEvents{"lock_events",
                            "SELECT id, available_tickets, max_tickets_per_buyer, currency, "
                            "       (extract(epoch FROM sales_start) * 1000)::bigint AS sales_start_ms, "
                            "       (extract(epoch FROM sales_end) * 1000)::bigint AS sales_end_ms, "
                            "       (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS locked_at_ms "
                            "FROM inventory.events "
                            "WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE"};

// After the lock: what each buyer of the batch holds (live) or bought of an event that limits it. Every
// hold of such an event is made under its row lock, so no batch can add to these sums meanwhile. Holds
// past their time (by the clock, after the lock) count no more, swept or not: kLockHolds judges a confirm
// by the clock after its lock too, so such a hold can never be sold afterwards. Events and buyers arrive as
// two lists; a buyer's holds of another event of the batch come back too, and are counted only there.
constexpr Query kBuyerTickets{"buyer_tickets",
                              "SELECT r.event_id, r.buyer_digest, sum(r.quantity)::bigint AS tickets "
                              "  FROM inventory.reservations r "
                              " WHERE r.event_id = ANY($1::bigint[]) AND r.buyer_digest = ANY($2::text[]) "
                              // Spelt out so that the planner may use the partial index reservations_buyer_event:
                              // a join clause would not prove its predicate, and every batch would read every hold.
                              "   AND r.buyer_digest IS NOT NULL "
                              "   AND (r.status = 'CONFIRMED' OR (r.status = 'HELD' AND r.expires_at > clock_timestamp())) "
                              " GROUP BY r.event_id, r.buyer_digest"};

// After the lock, so a hold another batch of this event committed under one of these keys is seen.
constexpr Query kHoldsByKeys{"holds_by_keys", "SELECT " FLASHTIX_RESERVATION_COLUMNS
                                              "FROM inventory.reservations r "
                                              "WHERE r.reservation_key = ANY($1::text[])"};

// The rows were locked by this transaction and found HELD; the new statuses were decided in memory.
// `r.id = ANY($1)` bounds the plan by the batch however the join is planned.
constexpr Query kSettleHolds{"settle_holds",
                             "UPDATE inventory.reservations r SET status = s.status, updated_at = now() "
                             "FROM unnest($1::bigint[], $2::text[]) AS s(id, status) "
                             "WHERE r.id = ANY($1::bigint[]) AND r.id = s.id"};

// The new holds, inserted in key order (two transactions sharing keys then wait on each other in one
// order), and each changed event row and ticket type updated once by what was inserted for it: a key
// another event's batch took meanwhile inserts nothing and takes nothing. $6 tickets come back (released,
// expired), $7 are sold (confirmed); $8 names each hold's buyer (NULL unless its event limits buyers), $9
// the digest of its secret (NULL for the order service's holds); $10 to $12 its items (one array literal
// a hold, NULL for a hold of the default type alone: stores_no_items), $13 and $14 its amount and
// currency. $15 to $17 are the changed types with a quota, with what came back to and was sold of each.
// One row per changed event, then one per new hold.
constexpr Query kTakeStock{
    "take_stock",
    "WITH hold AS ("
    "    INSERT INTO inventory.reservations "
    "        (reservation_key, event_id, quantity, status, expires_at, buyer_digest, secret_sha256, "
    "         item_type_ids, item_quantities, item_prices_minor, amount_minor, currency) "
    "    SELECT n.key, n.event_id, n.quantity, 'HELD', now() + make_interval(secs => n.hold_seconds), n.buyer, "
    "           n.secret, n.types::bigint[], n.quantities::integer[], n.prices::bigint[], n.amount, n.currency "
    "      FROM unnest($1::text[], $2::bigint[], $3::integer[], $4::double precision[], $8::text[], $9::text[], "
    "                  $10::text[], $11::text[], $12::text[], $13::bigint[], $14::text[]) "
    "           AS n(key, event_id, quantity, hold_seconds, buyer, secret, types, quantities, prices, amount, currency) "
    "     ORDER BY n.key "
    "    ON CONFLICT (reservation_key) DO NOTHING "
    "    RETURNING *), "
    "taken AS (SELECT event_id, sum(quantity) AS tickets FROM hold GROUP BY event_id), "
    "changed AS ("
    "    UPDATE inventory.events e "
    "       SET available_tickets = e.available_tickets + c.restocked - coalesce(t.tickets, 0), "
    "           sold_tickets = e.sold_tickets + c.sold "
    "      FROM unnest($5::bigint[], $6::integer[], $7::integer[]) AS c(id, restocked, sold) "
    "      LEFT JOIN taken t ON t.event_id = c.id "
    "     WHERE e.id = ANY($5::bigint[]) AND e.id = c.id "
    "    RETURNING e.id, e.available_tickets), "
    "type_taken AS ("
    "    SELECT i.type_id, sum(i.quantity) AS tickets "
    "      FROM hold h, unnest(h.item_type_ids, h.item_quantities) AS i(type_id, quantity) GROUP BY i.type_id), "
    "type_changed AS ("
    "    UPDATE inventory.ticket_types tt "
    "       SET available_tickets = tt.available_tickets + c.restocked - coalesce(t.tickets, 0), "
    "           sold_tickets = tt.sold_tickets + c.sold "
    "      FROM unnest($15::bigint[], $16::integer[], $17::integer[]) AS c(id, restocked, sold) "
    "      LEFT JOIN type_taken t ON t.type_id = c.id "
    "     WHERE tt.id = ANY($15::bigint[]) AND tt.id = c.id AND tt.quota IS NOT NULL) "
    "SELECT c.id AS changed_event, c.available_tickets AS available_after, NULL::bigint AS id, "
    "       NULL::text AS reservation_key, NULL::bigint AS event_id, NULL::integer AS quantity, NULL::text AS status, "
    "       NULL::text AS secret_sha256, NULL::text AS item_type_ids, NULL::text AS item_quantities, "
    "       NULL::text AS item_prices_minor, NULL::bigint AS amount_minor, NULL::text AS currency, "
    "       NULL::bigint AS expires_at_ms, NULL::bigint AS created_at_ms "
    "  FROM changed c "
    "UNION ALL "
    "SELECT NULL, NULL, " FLASHTIX_NEW_HOLD_COLUMNS "FROM hold r"};

// The events of the holds longest past their time; at most $1 holds are read, in expiry order.
constexpr Query kEventsWithDueHolds{"events_with_due_holds",
                                    "SELECT DISTINCT due.event_id FROM ("
                                    "    SELECT event_id FROM inventory.reservations "
                                    "     WHERE status = 'HELD' AND expires_at <= now() "
                                    "     ORDER BY expires_at LIMIT $1) due "
                                    "ORDER BY due.event_id"};

// One hold.expired a hold this transaction expires, in the order given: the type ($1) and each payload
// ($3) come from the contract (core/events.hpp), the key ($2) correlates it with the hold's order.
constexpr Query kAnnounceExpiredHolds{"announce_expired_holds",
                                      "INSERT INTO inventory.outbox (type, correlation_id, payload) "
                                      "SELECT $1::text, a.key, a.payload::jsonb "
                                      "  FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS a(key, payload, n) "
                                      " ORDER BY a.n"};

// PATCH of a type, after its event's row lock: $3.. are the fields, each with a flag saying whether it
// changes. A quota moves its stock by the difference (the CHECKs refuse one below what the type holds and
// sold); a type that had none gets one only while its event has nothing held or sold (checked before), so
// its stock is the whole quota, and nothing is counted. Bounds out of order are refused by the CHECKs too.
constexpr Query kChangeTicketType{
    "change_ticket_type",
    "UPDATE inventory.ticket_types t SET "
    "  name = coalesce($3::text, t.name), "
    "  price_minor = coalesce($4::bigint, t.price_minor), "
    "  min_per_order = coalesce($5::integer, t.min_per_order), "
    "  max_per_order = CASE WHEN $6::boolean THEN $7::integer ELSE t.max_per_order END, "
    "  quota = CASE WHEN $8::boolean THEN $9::integer ELSE t.quota END, "
    "  available_tickets = CASE WHEN NOT $8::boolean THEN t.available_tickets "
    "                           WHEN t.quota IS NULL THEN $9::integer "
    "                           ELSE t.available_tickets + ($9::integer - t.quota) END, "
    "  sold_tickets = CASE WHEN NOT $8::boolean THEN t.sold_tickets "
    "                      WHEN $9::integer IS NULL THEN NULL "
    "                      WHEN t.quota IS NULL THEN 0 ELSE t.sold_tickets END, "
    "  sales_start = CASE WHEN $10::boolean THEN to_timestamp($11::bigint / 1000.0) ELSE t.sales_start END, "
    "  sales_end = CASE WHEN $12::boolean THEN to_timestamp($13::bigint / 1000.0) ELSE t.sales_end END "
    "WHERE t.id = $2::bigint AND t.event_id = $1::bigint "
    "RETURNING " FLASHTIX_TICKET_TYPE_COLUMNS};

#undef FLASHTIX_EVENT_COLUMNS
#undef FLASHTIX_RESERVATION_COLUMNS
#undef FLASHTIX_NEW_HOLD_COLUMNS
#undef FLASHTIX_HOLD_HEAD
#undef FLASHTIX_HOLD_TAIL
#undef FLASHTIX_TICKET_TYPE_COLUMNS

using HoldsByKey = std::unordered_map<std::string, Reservation>;

HoldsByKey holds_by_key(const Result& rows) {
  HoldsByKey holds;
  for (int i = 0; i < rows.rows(); ++i) {
    Reservation hold = reservation_from(rows, i);
    std::string key = hold.key;
    holds.emplace(std::move(key), std::move(hold));
  }
  return holds;
}

// One event's part of a transaction, as its batch goes from the reads to the writes.
struct EventPart {
  std::int64_t event_id = 0;
  const EventBatch* batch = nullptr;
  std::vector<LockedHold> holds;  // those its settles name
  std::vector<DueHold> due;
  // The due holds as their hold.expired tells of them, by id: announced for those the batch expires.
  std::unordered_map<std::int64_t, core::events::HoldExpired> due_announced;
  std::optional<std::int64_t> available;  // under the lock; nothing when the event does not exist
  SalesWindow sales;
  bool on_sale = true;  // by the database's clock as it read the row
  std::string currency;
  EventTypes types;
  BuyerLimit buyers;
  Allocation allocation;
};

}  // namespace

namespace {

// Each event's types, read with kTicketTypesOf, into the events.
void attach_ticket_types(const Result& rows, std::vector<Event>& events) {
  std::unordered_map<std::int64_t, Event*> by_id;
  for (Event& event : events) by_id.emplace(event.id, &event);
  for (int i = 0; i < rows.rows(); ++i) {
    TicketType type = ticket_type_from(rows, i);
    if (const auto found = by_id.find(type.event_id); found != by_id.end()) found->second->ticket_types.push_back(std::move(type));
  }
}

// Whether a new hold stores no items: it holds the default type alone, which has no quota, so no type's
// books count it; nor will they, since a type gets a first quota only while its event has nothing held or
// sold (db/checks/ledger.sql and the expiry read the stored arrays, which are NULL: no item).
bool stores_no_items(const Decision& decision, const EventTypes& types) {
  if (decision.items.size() != 1 || decision.items.front().ticket_type_id != types.default_id) return false;
  const auto type = types.by_id.find(decision.items.front().ticket_type_id);
  return type != types.by_id.end() && !type->second.quota;
}

// The one item of a new hold stored without items, as FLASHTIX_RESERVATION_COLUMNS reads it back.
std::vector<HoldItem> default_type_items(const Reservation& hold, const EventTypes& types) {
  const HoldItem item{types.default_id.value_or(0), hold.quantity, hold.amount_minor / hold.quantity};
  return std::vector<HoldItem>(1, item);
}

// A boolean parameter: whether a PATCH changes a field.
std::string_view flag(bool given) { return given ? "true" : "false"; }

}  // namespace

awaitable<Event> create_event(Pool* db, CreateEvent command) {
  std::vector<std::string> names;
  std::vector<std::int64_t> prices;
  std::vector<core::pg::Param> min_per_order, max_per_order, quota, sales_start, sales_end;
  for (const NewTicketType& type : command.ticket_types) {
    names.push_back(type.name);
    prices.push_back(type.price_minor);
    min_per_order.push_back(core::pg::param(type.min_per_order));
    max_per_order.push_back(core::pg::param(type.max_per_order));
    quota.push_back(core::pg::param(type.quota));
    sales_start.push_back(core::pg::param(type.sales.start_ms));
    sales_end.push_back(core::pg::param(type.sales.end_ms));
  }
  core::pg::Lease connection = co_await db->acquire();
  std::vector<Statement> insert;
  insert.push_back({&core::pg::kBegin, {}});
  insert.push_back({&kInsertEvent, params(command.name, command.total_tickets, command.max_tickets_per_buyer,
                                          command.sales.start_ms, command.sales.end_ms, command.currency)});
  const std::vector<Result> made = co_await connection->pipeline(std::move(insert));
  std::vector<Event> events(1, event_from(made[1], 0));
  const std::int64_t id = events.front().id;
  std::vector<Statement> set_up;
  const Params given = params(id, text_array(names), int_array(prices), text_array(min_per_order),
                              text_array(max_per_order), text_array(quota), text_array(sales_start), text_array(sales_end));
  set_up.push_back({&kShapeDefaultType, given});
  set_up.push_back({&kAddOtherTypes, given});
  set_up.push_back({&kTicketTypesOf, params(int_array(std::vector<std::int64_t>(1, id)))});
  set_up.push_back({&core::pg::kCommit, {}});
  const std::vector<Result> typed = co_await connection->pipeline(std::move(set_up));
  attach_ticket_types(typed[2], events);
  co_return std::move(events.front());
}

awaitable<TypeAdded> add_ticket_type(Pool* db, std::int64_t event_id, NewTicketType type) {
  core::pg::Lease connection = co_await db->acquire();
  std::vector<Statement> add;
  add.push_back({&core::pg::kBegin, {}});
  add.push_back({&kLockEventForTypes, params(event_id)});
  add.push_back({&kAddTicketType, params(event_id, type.name, type.price_minor, type.min_per_order, type.max_per_order,
                                         type.quota, type.sales.start_ms, type.sales.end_ms,
                                         static_cast<std::int64_t>(kMaxTicketTypes))});
  add.push_back({&core::pg::kCommit, {}});
  const std::vector<Result> added = co_await connection->pipeline(std::move(add));
  if (added[1].empty()) co_return EventNotFound{};
  if (added[2].empty()) co_return TypeNotAdded{};
  co_return ticket_type_from(added[2], 0);
}

awaitable<WindowChange> change_sales_window(Pool* db, std::int64_t event_id, ChangeSalesWindow change) {
  const std::optional<std::int64_t> start = change.start_ms.value_or(std::nullopt);
  const std::optional<std::int64_t> end = change.end_ms.value_or(std::nullopt);
  std::optional<Result> rows;
  try {
    rows = co_await db->exec(kChangeSalesWindow, params(event_id, flag(change.start_ms.has_value()), start,
                                                        flag(change.end_ms.has_value()), end));
  } catch (const core::pg::Error& e) {
    if (e.sqlstate() != "23514") throw;  // check_violation: sales_window_in_order
  }
  if (!rows) co_return SalesWindowOutOfOrder{};
  if (rows->rows() == 0) co_return EventNotFound{};
  co_return event_from(*rows, 0);
}

awaitable<TypeChanged> change_ticket_type(Pool* db, std::int64_t event_id, std::int64_t type_id,
                                         ChangeTicketType change) {
  const auto value = [](const std::optional<std::optional<std::int64_t>>& field) { return field.value_or(std::nullopt); };
  core::pg::Lease connection = co_await db->acquire();
  std::vector<Statement> lock;
  lock.push_back({&core::pg::kBegin, {}});
  lock.push_back({&kLockEventForTypes, params(event_id)});
  lock.push_back({&kTypeQuota, params(event_id, type_id)});
  const std::vector<Result> locked = co_await connection->pipeline(std::move(lock));
  std::optional<TypeChanged> refused;
  if (locked[1].empty()) {
    refused = EventNotFound{};
  } else if (locked[2].empty()) {
    refused = TicketTypeNotFound{type_id};
  } else if (change.quota && *change.quota && locked[2].is_null(0, "quota") &&
             locked[1].integer(0, "available_tickets") != locked[1].integer(0, "total_tickets")) {
    // Its held and sold tickets are counted nowhere; counting them would read every hold of a selling event.
    refused = QuotaNotSettable{};
  }
  if (refused) {
    co_await connection->exec(core::pg::kRollback, {});
    co_return *refused;
  }
  std::optional<Result> rows;
  std::string refusal;
  try {
    rows = co_await connection->exec(
        kChangeTicketType,
        params(event_id, type_id, change.name, change.price_minor, change.min_per_order,
               flag(change.max_per_order.has_value()), value(change.max_per_order), flag(change.quota.has_value()),
               value(change.quota), flag(change.start_ms.has_value()), value(change.start_ms),
               flag(change.end_ms.has_value()), value(change.end_ms)));
  } catch (const core::pg::Error& e) {
    // The transaction is rolled back when the connection goes back to its pool.
    if (e.sqlstate() != "23514" && e.sqlstate() != "23505") throw;
    refusal = e.sqlstate() == "23505" ? "name" : e.what();
  }
  if (!rows) {
    co_await connection->exec(core::pg::kRollback, {});
    if (refusal == "name") co_return TypeNameTaken{};
    // The CHECKs on the counts (available_tickets >= 0, counts_within_quota) refuse a quota below the taken.
    if (refusal.find("available_tickets") != std::string::npos || refusal.find("counts_within_quota") != std::string::npos) {
      co_return QuotaBelowTaken{};
    }
    co_return TypeChangeOutOfOrder{};
  }
  co_await connection->exec(core::pg::kCommit, {});
  if (rows->empty()) co_return TicketTypeNotFound{type_id};  // found under the lock, so never; but never a crash
  co_return ticket_type_from(*rows, 0);
}

awaitable<std::optional<Event>> find_event(Pool* db, std::int64_t id) {
  // Two reads, not a transaction: a type's counts may be a batch newer than the event's, as any two reads.
  std::vector<Statement> reads;
  reads.push_back({&kSelectEvent, params(id)});
  reads.push_back({&kTicketTypesOf, params(int_array(std::vector<std::int64_t>(1, id)))});
  const std::vector<Result> read = co_await db->pipeline(std::move(reads));
  if (read[0].empty()) co_return std::nullopt;
  std::vector<Event> events(1, event_from(read[0], 0));
  attach_ticket_types(read[1], events);
  co_return std::move(events.front());
}

awaitable<std::vector<Event>> list_events(Pool* db, std::int64_t after_id, std::int64_t limit) {
  Result rows = co_await db->exec(kListEvents, params(after_id, limit));
  std::vector<Event> events;
  std::vector<std::int64_t> ids;
  for (int i = 0; i < rows.rows(); ++i) {
    events.push_back(event_from(rows, i));
    ids.push_back(events.back().id);
  }
  if (!events.empty()) {
    const Result types = co_await db->exec(kTicketTypesOf, params(int_array(ids)));
    attach_ticket_types(types, events);
  }
  co_return events;
}

awaitable<std::optional<Reservation>> find_hold(Pool* db, HoldRef ref) {
  return find_one<Reservation>(db, kSelectHold, params(ref.id, ref.key), reservation_from);
}

awaitable<std::optional<Reservation>> find_reservation(Pool* db, std::int64_t id) {
  HoldRef ref{id, std::nullopt};
  co_return co_await find_hold(db, std::move(ref));
}

awaitable<std::optional<Reservation>> leave_tombstone(Pool* db, std::string key, std::int64_t event_id,
                                                      std::int64_t quantity) {
  constexpr std::string_view kForeignKeyViolation = "23503";
  try {
    const Result rows = co_await db->exec(kInsertTombstone, params(std::move(key), event_id, quantity));
    if (rows.empty()) co_return std::nullopt;
    co_return reservation_from(rows, 0);
  } catch (const core::pg::Error& e) {
    if (e.sqlstate() != kForeignKeyViolation) throw;
  }
  co_return std::nullopt;
}

awaitable<std::unordered_map<std::string, Reservation>> find_holds_by_keys(Pool* db, std::vector<std::string> keys) {
  const Result rows = co_await db->exec(kHoldsByKeys, params(text_array(keys)));
  co_return holds_by_key(rows);
}

awaitable<std::vector<EventBatchResult>> run_event_batches(Pool* db, std::vector<EventWork> work) {
  std::vector<EventPart> parts(work.size());
  std::vector<std::int64_t> event_ids;
  std::vector<std::int64_t> settle_ids;
  std::vector<std::string> keys;
  // The events and the buyers of the reserves that name a buyer, each once.
  std::vector<std::int64_t> buyer_events;
  std::vector<std::string> buyer_digests;
  std::unordered_set<std::int64_t> seen_events;
  std::unordered_set<std::string> seen_buyers;
  for (std::size_t i = 0; i < work.size(); ++i) {
    parts[i].event_id = work[i].event_id;
    parts[i].batch = &work[i].batch;
    event_ids.push_back(work[i].event_id);
    for (const SettleRequest& request : work[i].batch.settles) settle_ids.push_back(request.reservation_id);
    for (const ReserveCommand& request : work[i].batch.reserves) {
      keys.push_back(request.key);
      if (!request.buyer_digest) continue;
      if (seen_events.insert(work[i].event_id).second) buyer_events.push_back(work[i].event_id);
      if (seen_buyers.insert(*request.buyer_digest).second) buyer_digests.push_back(*request.buyer_digest);
    }
  }

  core::pg::Lease connection = co_await db->acquire();
  // Round trip 1: lock the event rows, then what the batches settle, then read the keys.
  std::vector<Statement> lock;
  lock.push_back({&core::pg::kBegin, {}});
  lock.push_back({&kLockEvents, params(int_array(event_ids))});
  lock.push_back({&kTicketTypesOf, params(int_array(event_ids))});
  if (!settle_ids.empty()) lock.push_back({&kLockHolds, params(int_array(settle_ids))});
  for (const EventWork& item : work) {
    if (item.batch.expire_at_most > 0) lock.push_back({&kLockDueHolds, params(item.event_id, item.batch.expire_at_most)});
  }
  if (!keys.empty()) lock.push_back({&kHoldsByKeys, params(text_array(keys))});
  if (!buyer_events.empty()) lock.push_back({&kBuyerTickets, params(int_array(buyer_events), text_array(buyer_digests))});
  const std::vector<Result> read = co_await connection->pipeline(std::move(lock));
  const auto locked_at = std::chrono::steady_clock::now();

  std::unordered_map<std::int64_t, EventPart*> part_of;
  for (EventPart& part : parts) part_of.emplace(part.event_id, &part);
  std::size_t next = 1;
  {
    const Result& rows = read[next++];
    for (int i = 0; i < rows.rows(); ++i) {
      EventPart* part = part_of.at(rows.integer(i, "id"));
      part->available = rows.integer(i, "available_tickets");
      part->sales = sales_window_from(rows, i);
      part->on_sale = part->sales.open_at(rows.integer(i, "locked_at_ms"));
      part->types.now_ms = rows.integer(i, "locked_at_ms");
      part->currency = std::string(rows.text(i, "currency"));
      if (!rows.is_null(i, "max_tickets_per_buyer")) part->buyers.max_tickets_per_buyer = rows.integer(i, "max_tickets_per_buyer");
    }
  }
  {
    // Read after the event rows were locked: no batch can change these counts until this one commits.
    const Result& rows = read[next++];
    for (int i = 0; i < rows.rows(); ++i) {
      TicketType type = ticket_type_from(rows, i);
      EventTypes& types = part_of.at(type.event_id)->types;
      if (type.is_default) types.default_id = type.id;
      types.by_id.emplace(type.id, std::move(type));
    }
  }
  if (!settle_ids.empty()) {
    const Result& rows = read[next++];
    for (int i = 0; i < rows.rows(); ++i) {
      Reservation hold = reservation_from(rows, i);
      const auto part = part_of.find(hold.event_id);
      if (part != part_of.end()) part->second->holds.push_back({std::move(hold), rows.boolean(i, "live")});
    }
  }
  for (EventPart& part : parts) {
    if (part.batch->expire_at_most == 0) continue;
    const Result& rows = read[next++];
    for (int i = 0; i < rows.rows(); ++i) {
      const std::int64_t id = rows.integer(i, "id");
      const std::int64_t quantity = rows.integer(i, "quantity");
      part.due.push_back({id, quantity, items_from(rows, i)});
      core::events::HoldExpired announced{{id, std::string(rows.text(i, "reservation_key")), part.event_id, quantity},
                                          rows.integer(i, "expired_at_ms")};
      part.due_announced.emplace(id, std::move(announced));
    }
  }
  HoldsByKey existing;
  if (!keys.empty()) existing = holds_by_key(read[next++]);
  if (!buyer_events.empty()) {
    const Result& rows = read[next++];
    for (int i = 0; i < rows.rows(); ++i) {
      part_of.at(rows.integer(i, "event_id"))->buyers.tickets[std::string(rows.text(i, "buyer_digest"))] =
          rows.integer(i, "tickets");
    }
  }

  // Each event on its own: its settlements, then its reserves against its stock.
  std::vector<EventBatchResult> results(parts.size());
  std::vector<std::int64_t> changed_ids, changed_events, restocked, sold;
  std::vector<std::string> changed_statuses, new_keys;
  std::vector<std::int64_t> new_events, new_quantities, new_hold_seconds;
  std::vector<core::pg::Param> new_buyers, new_secrets;
  std::vector<core::pg::Param> new_item_types, new_item_quantities, new_item_prices;  // NULL: the default type
  std::vector<std::string> new_currencies;
  std::vector<std::int64_t> new_amounts;
  std::vector<std::int64_t> changed_types, type_restocked, type_sold;  // types with a quota
  std::vector<std::string> expired_keys, expired_payloads;  // one hold.expired each
  for (std::size_t p = 0; p < parts.size(); ++p) {
    EventPart& part = parts[p];
    const EventBatch& batch = *part.batch;
    if (!part.available) {
      // No event, so no holds of it either: every reserve is answered, nothing changes.
      results[p].reserves.assign(batch.reserves.size(), EventNotFound{});
      continue;
    }
    results[p].settlement = settle(batch.settles, part.holds, part.due);
    const Settlement& settlement = results[p].settlement;
    for (const auto& [type_id, change] : settlement.types) {
      const auto type = part.types.by_id.find(type_id);
      if (type == part.types.by_id.end() || !type->second.available_tickets) continue;
      *type->second.available_tickets += change.restocked_tickets;
    }
    part.allocation = allocate(part.event_id, *part.available + settlement.restocked_tickets, batch.reserves, existing,
                               part.buyers, locked_at, part.on_sale, &part.types);
    // Every type with a quota that its settlements or its new holds change, once.
    std::unordered_set<std::int64_t> types_changed;
    for (const auto& [type_id, change] : settlement.types) types_changed.insert(type_id);
    for (const StatusChange& change : settlement.changes) {
      changed_ids.push_back(change.reservation_id);
      changed_statuses.emplace_back(change.status);
      if (change.status != kExpired) continue;
      const core::events::HoldExpired& expired = part.due_announced.at(change.reservation_id);
      expired_keys.push_back(expired.reservation_key);
      expired_payloads.push_back(core::events::payload_text(expired));
    }
    bool takes = false;
    for (std::size_t i = 0; i < batch.reserves.size(); ++i) {
      if (part.allocation.decisions[i].verdict != Verdict::take) continue;
      takes = true;
      new_keys.push_back(batch.reserves[i].key);
      new_events.push_back(part.event_id);
      new_quantities.push_back(batch.reserves[i].quantity);
      new_hold_seconds.push_back(batch.reserves[i].hold_seconds);
      // The buyer is kept only where it is counted: no index entry for the holds of an open event.
      new_buyers.push_back(part.buyers.max_tickets_per_buyer ? batch.reserves[i].buyer_digest : std::nullopt);
      new_secrets.push_back(batch.reserves[i].secret_sha256);
      const Decision& decision = part.allocation.decisions[i];
      std::vector<std::int64_t> types, quantities, prices;
      for (const HoldItem& item : decision.items) {
        types.push_back(item.ticket_type_id);
        quantities.push_back(item.quantity);
        prices.push_back(item.unit_price_minor);
        types_changed.insert(item.ticket_type_id);
      }
      if (stores_no_items(decision, part.types)) {
        new_item_types.emplace_back();
        new_item_quantities.emplace_back();
        new_item_prices.emplace_back();
      } else {
        new_item_types.push_back(int_array(types));
        new_item_quantities.push_back(int_array(quantities));
        new_item_prices.push_back(int_array(prices));
      }
      new_amounts.push_back(decision.amount_minor);
      new_currencies.push_back(part.currency);
    }
    for (const std::int64_t type_id : types_changed) {
      const auto type = part.types.by_id.find(type_id);
      if (type == part.types.by_id.end() || !type->second.quota) continue;
      const auto change = settlement.types.find(type_id);
      changed_types.push_back(type_id);
      type_restocked.push_back(change == settlement.types.end() ? 0 : change->second.restocked_tickets);
      type_sold.push_back(change == settlement.types.end() ? 0 : change->second.sold_tickets);
    }
    if (takes || settlement.restocked_tickets > 0 || settlement.sold_tickets > 0) {
      changed_events.push_back(part.event_id);
      restocked.push_back(settlement.restocked_tickets);
      sold.push_back(settlement.sold_tickets);
    }
    results[p].available_after = part.available;  // until a write says otherwise
    results[p].sales = part.sales;
    results[p].default_type_id = part.types.default_id;
    for (const auto& [type_id, type] : part.types.by_id) {
      if (type.sales != SalesWindow{}) results[p].type_sales.emplace(type_id, type.sales);
    }
  }

  // Round trip 2: write what was decided, and commit; or end a transaction that changes nothing.
  std::unordered_set<std::string> inserted;  // keys of the holds this transaction made
  if (changed_ids.empty() && new_keys.empty() && changed_events.empty()) {
    co_await connection->exec(core::pg::kRollback, {});
  } else {
    std::vector<Statement> write;
    if (!changed_ids.empty()) {
      write.push_back({&kSettleHolds, params(int_array(changed_ids), text_array(changed_statuses))});
    }
    write.push_back({&kTakeStock, params(text_array(new_keys), int_array(new_events), int_array(new_quantities),
                                         int_array(new_hold_seconds), int_array(changed_events), int_array(restocked),
                                         int_array(sold), text_array(new_buyers), text_array(new_secrets),
                                         text_array(new_item_types), text_array(new_item_quantities),
                                         text_array(new_item_prices), int_array(new_amounts), text_array(new_currencies),
                                         int_array(changed_types), int_array(type_restocked), int_array(type_sold))});
    // After kTakeStock, whose result is read by its place below.
    if (!expired_keys.empty()) {
      write.push_back({&kAnnounceExpiredHolds, params(core::events::HoldExpired::kType, text_array(expired_keys),
                                                      text_array(expired_payloads))});
    }
    write.push_back({&core::pg::kCommit, {}});
    const std::vector<Result> written = co_await connection->pipeline(std::move(write));
    const Result& taken = written[changed_ids.empty() ? 0 : 1];
    for (int i = 0; i < taken.rows(); ++i) {
      if (!taken.is_null(i, "changed_event")) {
        const std::int64_t event_id = taken.integer(i, "changed_event");
        for (std::size_t p = 0; p < parts.size(); ++p) {
          if (parts[p].event_id == event_id) results[p].available_after = taken.integer(i, "available_after");
        }
        continue;
      }
      Reservation hold = reservation_from(taken, i);
      if (hold.items.empty()) hold.items = default_type_items(hold, part_of.at(hold.event_id)->types);
      inserted.insert(hold.key);
      std::string key = hold.key;
      existing.insert_or_assign(std::move(key), std::move(hold));
    }
  }

  // A key to take that no row came back for was taken meanwhile by a reserve of another event.
  std::vector<std::string> lost_keys;
  for (std::size_t p = 0; p < parts.size(); ++p) {
    const EventPart& part = parts[p];
    if (!part.available) continue;
    bool all_made = true;
    for (std::size_t i = 0; i < part.batch->reserves.size(); ++i) {
      const std::string& key = part.batch->reserves[i].key;
      if (part.allocation.decisions[i].verdict == Verdict::take && !inserted.contains(key)) {
        lost_keys.push_back(key);
        all_made = false;
      }
    }
    if (all_made) results[p].type_available = part.allocation.type_available_after;
  }
  if (!lost_keys.empty()) {
    const Result rows = co_await connection->exec(kHoldsByKeys, params(text_array(lost_keys)));
    for (auto& [key, hold] : holds_by_key(rows)) existing.insert_or_assign(key, std::move(hold));
  }

  for (std::size_t p = 0; p < parts.size(); ++p) {
    const EventPart& part = parts[p];
    if (!part.available) continue;
    const std::int64_t remaining = *results[p].available_after;
    assert(remaining >= 0);
    for (std::size_t i = 0; i < part.batch->reserves.size(); ++i) {
      const ReserveCommand& request = part.batch->reserves[i];
      const Decision& decision = part.allocation.decisions[i];
      if (decision.verdict == Verdict::sold_out) {
        const SoldOut refused{decision.available, decision.ticket_type_id};
        results[p].reserves.emplace_back(refused);
        continue;
      }
      if (decision.verdict == Verdict::type_not_found) {
        results[p].reserves.emplace_back(TicketTypeNotFound{decision.ticket_type_id.value_or(0)});
        continue;
      }
      if (decision.verdict == Verdict::quantity_out_of_range) {
        const TicketType& type = part.types.by_id.at(*decision.ticket_type_id);
        const auto asked = std::find_if(request.items.begin(), request.items.end(),
                                        [&](const ItemRequest& item) { return item.ticket_type_id == type.id; });
        results[p].reserves.emplace_back(QuantityOutOfRange{type, asked == request.items.end() ? request.quantity : asked->quantity});
        continue;
      }
      if (decision.verdict == Verdict::amount_out_of_range) {
        results[p].reserves.emplace_back(AmountOutOfRange{decision.amount_minor});
        continue;
      }
      if (decision.verdict == Verdict::too_late) {
        results[p].reserves.emplace_back(TooLate{});
        continue;
      }
      if (decision.verdict == Verdict::not_on_sale) {
        const SalesWindow& window =
            decision.ticket_type_id ? part.types.by_id.at(*decision.ticket_type_id).sales : part.sales;
        results[p].reserves.emplace_back(NotOnSale{window, decision.ticket_type_id});
        continue;
      }
      if (decision.verdict == Verdict::buyer_required) {
        results[p].reserves.emplace_back(BuyerRequired{*part.buyers.max_tickets_per_buyer});
        continue;
      }
      if (decision.verdict == Verdict::buyer_limit) {
        results[p].reserves.emplace_back(BuyerLimitReached{*part.buyers.max_tickets_per_buyer, decision.buyer_tickets});
        continue;
      }
      const auto stored = existing.find(request.key);
      if (stored == existing.end()) throw std::runtime_error("reservation key " + request.key + " vanished");
      if (decision.verdict == Verdict::take && inserted.contains(request.key)) {
        results[p].reserves.push_back(Reserved{stored->second, remaining, true});
      } else {
        results[p].reserves.push_back(answer_with(stored->second, request, remaining));
      }
    }
  }
  co_return results;
}

awaitable<std::vector<std::int64_t>> events_with_due_holds(Pool* db, int holds) {
  const Result rows = co_await db->exec(kEventsWithDueHolds, params(holds));
  std::vector<std::int64_t> events;
  for (int i = 0; i < rows.rows(); ++i) events.push_back(rows.integer(i, "event_id"));
  co_return events;
}

}  // namespace flashtix::inventory::store
