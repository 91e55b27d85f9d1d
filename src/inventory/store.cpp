// Inventory SQL. Release, confirm and expiry are each one statement. A reserve locks the event row in
// one round trip and takes the tickets and commits in the next: the decrement then runs on a fresh
// snapshot under the lock. (A single statement with FOR UPDATE in one CTE and the decrement in another
// was refused by the CHECK under concurrent restocks.) The lock spans that one round trip only.
#include "inventory/store.hpp"

#include <cassert>

namespace flashtix::inventory::store {

using core::pg::params;
using core::pg::Query;
using core::pg::Result;
using core::pg::Statement;

namespace {

Event event_from(const Result& rows, int row) {
  return Event{rows.integer(row, "id"),
               std::string(rows.text(row, "name")),
               rows.integer(row, "total_tickets"),
               rows.integer(row, "available_tickets"),
               rows.integer(row, "held_tickets"),
               rows.integer(row, "sold_tickets"),
               rows.integer(row, "created_at_ms")};
}

Reservation reservation_from(const Result& rows, int row) {
  return Reservation{rows.integer(row, "id"),
                     std::string(rows.text(row, "reservation_key")),
                     rows.integer(row, "event_id"),
                     rows.integer(row, "quantity"),
                     std::string(rows.text(row, "status")),
                     rows.integer(row, "expires_at_ms"),
                     rows.integer(row, "created_at_ms")};
}

// Held and sold counts come from the holds themselves, so they can never drift from the ledger.
#define FLASHTIX_EVENT_COLUMNS                                                                   \
  "e.id, e.name, e.total_tickets, e.available_tickets, "                                         \
  "(extract(epoch FROM e.created_at) * 1000)::bigint AS created_at_ms, "                         \
  "coalesce((SELECT sum(r.quantity) FROM inventory.reservations r "                              \
  "          WHERE r.event_id = e.id AND r.status = 'HELD'), 0) AS held_tickets, "               \
  "coalesce((SELECT sum(r.quantity) FROM inventory.reservations r "                              \
  "          WHERE r.event_id = e.id AND r.status = 'CONFIRMED'), 0) AS sold_tickets "

#define FLASHTIX_RESERVATION_COLUMNS                                                             \
  "r.id, r.reservation_key, r.event_id, r.quantity, r.status, "                                  \
  "(extract(epoch FROM r.expires_at) * 1000)::bigint AS expires_at_ms, "                         \
  "(extract(epoch FROM r.created_at) * 1000)::bigint AS created_at_ms "

constexpr Query kInsertEvent{"insert_event",
                             "WITH e AS (INSERT INTO inventory.events (name, total_tickets, available_tickets) "
                             "           VALUES ($1, $2, $2) RETURNING *) "
                             "SELECT e.id, e.name, e.total_tickets, e.available_tickets, "
                             "       (extract(epoch FROM e.created_at) * 1000)::bigint AS created_at_ms, "
                             "       0 AS held_tickets, 0 AS sold_tickets FROM e"};

constexpr Query kSelectEvent{"select_event", "SELECT " FLASHTIX_EVENT_COLUMNS "FROM inventory.events e WHERE e.id = $1"};

constexpr Query kListEvents{"list_events",
                            "SELECT " FLASHTIX_EVENT_COLUMNS
                            "FROM inventory.events e WHERE e.id > $1 ORDER BY e.id LIMIT $2"};

// The event row lock serialises every reserve of one event. It is taken first, so that every
// statement after it in the transaction reads the stock as it is now, not as a snapshot had it.
constexpr Query kLockEvent{"lock_event",
                           "SELECT available_tickets FROM inventory.events WHERE id = $1::bigint FOR UPDATE"};

constexpr Query kSelectHoldByKey{"select_hold_by_key",
                                 "SELECT " FLASHTIX_RESERVATION_COLUMNS ", e.available_tickets "
                                 "FROM inventory.reservations r JOIN inventory.events e ON e.id = r.event_id "
                                 "WHERE r.reservation_key = $1::text"};

// Runs under the event lock. ON CONFLICT covers the same key arriving at once for another event:
// no hold is inserted, so no ticket is taken.
constexpr Query kInsertHold{"insert_hold",
                            "WITH hold AS ("
                            "    INSERT INTO inventory.reservations (reservation_key, event_id, quantity, status, expires_at) "
                            "    VALUES ($1::text, $2::bigint, $3::integer, 'HELD', now() + make_interval(secs => $4::double precision)) "
                            "    ON CONFLICT (reservation_key) DO NOTHING "
                            "    RETURNING *), "
                            "taken AS ("
                            "    UPDATE inventory.events e SET available_tickets = e.available_tickets - hold.quantity "
                            "      FROM hold WHERE e.id = hold.event_id "
                            "    RETURNING e.available_tickets) "
                            "SELECT " FLASHTIX_RESERVATION_COLUMNS ", taken.available_tickets "
                            "  FROM hold r, taken"};

// A hold by id ($1) or by key ($2): one of them is null.
#define FLASHTIX_HOLD_ID "coalesce($1::bigint, (SELECT id FROM inventory.reservations WHERE reservation_key = $2::text))"

constexpr Query kSelectHold{"select_hold",
                            "SELECT " FLASHTIX_RESERVATION_COLUMNS
                            "FROM inventory.reservations r WHERE r.id = " FLASHTIX_HOLD_ID};

// The reservation row is locked by the inner UPDATE before the event row by the outer one.
constexpr Query kRelease{"release",
                         "WITH released AS ("
                         "    UPDATE inventory.reservations SET status = 'RELEASED', updated_at = now() "
                         "     WHERE id = " FLASHTIX_HOLD_ID " AND status = 'HELD' "
                         "    RETURNING event_id, quantity) "
                         "UPDATE inventory.events e SET available_tickets = e.available_tickets + released.quantity "
                         "  FROM released WHERE e.id = released.event_id"};

// Confirming sells the held tickets: available does not move, so the event row is not touched.
constexpr Query kConfirm{"confirm",
                         "UPDATE inventory.reservations SET status = 'CONFIRMED', updated_at = now() "
                         " WHERE id = " FLASHTIX_HOLD_ID " AND status = 'HELD' AND expires_at > now()"};

constexpr Query kEventsWithDueHolds{"events_with_due_holds",
                                   "SELECT DISTINCT event_id FROM inventory.reservations "
                                   "WHERE status = 'HELD' AND expires_at <= now() ORDER BY event_id LIMIT 100"};

// One event per statement: a sweeper holds at most one event lock, and skips holds another
// transaction (a release, a confirm, another instance's sweeper) has locked.
constexpr Query kExpireHolds{"expire_holds",
                             "WITH expired AS ("
                             "    UPDATE inventory.reservations SET status = 'EXPIRED', updated_at = now() "
                             "     WHERE status = 'HELD' AND id IN ("
                             "        SELECT id FROM inventory.reservations "
                             "         WHERE event_id = $1 AND status = 'HELD' AND expires_at <= now() "
                             "         ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED) "
                             "    RETURNING quantity), "
                             "returned AS (SELECT count(*) AS holds, sum(quantity) AS tickets FROM expired), "
                             "restocked AS ("
                             "    UPDATE inventory.events e SET available_tickets = e.available_tickets + returned.tickets "
                             "      FROM returned WHERE e.id = $1 AND returned.holds > 0) "
                             "SELECT holds FROM returned"};

#undef FLASHTIX_EVENT_COLUMNS
#undef FLASHTIX_RESERVATION_COLUMNS
#undef FLASHTIX_HOLD_ID

}  // namespace

awaitable<Event> create_event(Pool* db, CreateEvent command) {
  Result rows = co_await db->exec(kInsertEvent, params(command.name, command.total_tickets));
  co_return event_from(rows, 0);
}

awaitable<std::optional<Event>> find_event(Pool* db, std::int64_t id) {
  Result rows = co_await db->exec(kSelectEvent, params(id));
  if (rows.empty()) co_return std::nullopt;
  co_return event_from(rows, 0);
}

awaitable<std::vector<Event>> list_events(Pool* db, std::int64_t after_id, std::int64_t limit) {
  Result rows = co_await db->exec(kListEvents, params(after_id, limit));
  std::vector<Event> events;
  for (int i = 0; i < rows.rows(); ++i) events.push_back(event_from(rows, i));
  co_return events;
}

awaitable<ReserveOutcome> reserve(Pool* db, ReserveCommand command) {
  core::pg::Lease connection = co_await db->acquire();
  // Round trip 1: lock the event, then look for the key (after the lock, so a hold committed by
  // another reserve of this key is seen).
  std::vector<Statement> lock;
  lock.push_back({&core::pg::kBegin, {}});
  lock.push_back({&kLockEvent, params(command.event_id)});
  lock.push_back({&kSelectHoldByKey, params(command.key)});
  const std::vector<Result> locked = co_await connection->pipeline(std::move(lock));
  const Result& event = locked[1];
  const Result& existing = locked[2];

  std::optional<ReserveOutcome> refusal;
  if (!existing.empty()) {
    Reservation reservation = reservation_from(existing, 0);
    const std::int64_t remaining = existing.integer(0, "available_tickets");
    if (reservation.event_id != command.event_id || reservation.quantity != command.quantity) {
      refusal = KeyReused{std::move(reservation)};
    } else {
      refusal = Reserved{std::move(reservation), remaining, false};
    }
  } else if (event.empty()) {
    refusal = EventNotFound{};
  } else if (event.integer(0, "available_tickets") < command.quantity) {
    refusal = SoldOut{event.integer(0, "available_tickets")};
  }
  if (refusal) {
    // End the transaction now: the lock must not outlive this request.
    co_await connection->exec(core::pg::kRollback, {});
    co_return std::move(*refusal);
  }

  // Round trip 2: take the tickets and commit.
  std::vector<Statement> take;
  take.push_back({&kInsertHold, params(command.key, command.event_id, command.quantity, command.hold_seconds)});
  take.push_back({&core::pg::kCommit, {}});
  const std::vector<Result> taken = co_await connection->pipeline(std::move(take));
  if (taken[0].empty()) {
    // The key was taken meanwhile by a reserve of another event; nothing changed here.
    const Result again = co_await connection->exec(kSelectHoldByKey, params(command.key));
    if (again.empty()) throw std::runtime_error("reservation key " + command.key + " vanished");
    co_return KeyReused{reservation_from(again, 0)};
  }
  Reservation reservation = reservation_from(taken[0], 0);
  const std::int64_t remaining = taken[0].integer(0, "available_tickets");
  assert(remaining >= 0 && reservation.quantity == command.quantity);
  co_return Reserved{std::move(reservation), remaining, true};
}

namespace {

awaitable<std::optional<HoldAfter>> transition(Pool* db, const Query* change, HoldRef ref) {
  std::vector<Statement> statements;
  statements.push_back({change, params(ref.id, ref.key)});
  statements.push_back({&kSelectHold, params(ref.id, ref.key)});
  const std::vector<Result> results = co_await db->pipeline(std::move(statements));
  if (results[1].empty()) co_return std::nullopt;
  co_return HoldAfter{reservation_from(results[1], 0), results[0].affected() > 0};
}

}  // namespace

awaitable<std::optional<HoldAfter>> release(Pool* db, HoldRef ref) { return transition(db, &kRelease, std::move(ref)); }

awaitable<std::optional<HoldAfter>> confirm(Pool* db, HoldRef ref) { return transition(db, &kConfirm, std::move(ref)); }

awaitable<std::optional<Reservation>> find_reservation(Pool* db, std::int64_t id) {
  Result rows = co_await db->exec(kSelectHold, params(id, std::optional<std::string>{}));
  if (rows.empty()) co_return std::nullopt;
  co_return reservation_from(rows, 0);
}

awaitable<std::int64_t> expire_due_holds(Pool* db, int batch_per_event) {
  Result events = co_await db->exec(kEventsWithDueHolds, {});
  std::int64_t expired = 0;
  for (int i = 0; i < events.rows(); ++i) {
    Result done = co_await db->exec(kExpireHolds, params(events.integer(i, "event_id"), batch_per_event));
    expired += done.integer(0, "holds");
  }
  co_return expired;
}

}  // namespace flashtix::inventory::store
