// The inventory's SQL, each statement named and beside the function that runs it.
// Locking order, everywhere (the documented reset's trigger included): event rows (in id order) before
// their reservation rows (in id order).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/pg.hpp"
#include "inventory/allocation.hpp"
#include "inventory/reservation.hpp"

namespace flashtix::inventory::store {

using boost::asio::awaitable;
using core::pg::Pool;

// The event with its ticket types, in one transaction.
awaitable<Event> create_event(Pool* db, CreateEvent command);
// A type the event could not take: it has kMaxTicketTypes already, or a type of that name.
struct TypeNotAdded {};
using TypeAdded = std::variant<TicketType, EventNotFound, TypeNotAdded>;
awaitable<TypeAdded> add_ticket_type(Pool* db, std::int64_t event_id, NewTicketType type);
// A change the type cannot take: a quota below what it holds and sold (`taken`), a name another type of the
// event has, or bounds out of order with those it keeps (`why`). Nothing changed.
struct QuotaBelowTaken {};
struct TypeNameTaken {};
struct TypeChangeOutOfOrder {};
// A quota for a type that had none, while its event has tickets held or sold.
struct QuotaNotSettable {};
using TypeChanged = std::variant<TicketType, EventNotFound, TicketTypeNotFound, QuotaBelowTaken, TypeNameTaken,
                                 TypeChangeOutOfOrder, QuotaNotSettable>;
// Under the event's row lock, so that no batch of the event runs meanwhile: a batch reads the type after it.
awaitable<TypeChanged> change_ticket_type(Pool* db, std::int64_t event_id, std::int64_t type_id, ChangeTicketType change);
// The window as changed would end before it starts (with the bound the change keeps): nothing changed.
struct SalesWindowOutOfOrder {};
using WindowChange = std::variant<Event, EventNotFound, SalesWindowOutOfOrder>;
awaitable<WindowChange> change_sales_window(Pool* db, std::int64_t event_id, ChangeSalesWindow change);
awaitable<std::optional<Event>> find_event(Pool* db, std::int64_t id);
// Events with id > after_id, in id order; at most `limit`.
awaitable<std::vector<Event>> list_events(Pool* db, std::int64_t after_id, std::int64_t limit);

// A hold by id or by key, as stored now (no lock).
awaitable<std::optional<Reservation>> find_hold(Pool* db, HoldRef ref);
awaitable<std::optional<Reservation>> find_reservation(Pool* db, std::int64_t id);
// The holds stored under these keys (no lock), by key.
awaitable<std::unordered_map<std::string, Reservation>> find_holds_by_keys(Pool* db, std::vector<std::string> keys);

// A tombstone for `key`: a RELEASED hold of `quantity` tickets of `event_id` that took none, written
// when a release by key finds no hold. A reserve of that key still on its way then finds it and holds
// nothing. Nothing is written, and nothing returned, when the key has a hold by now (a reserve committed
// first; the unique key decides) or the event does not exist.
awaitable<std::optional<Reservation>> leave_tombstone(Pool* db, std::string key, std::int64_t event_id,
                                                      std::int64_t quantity);

// Everything one event's batch does: settle holds (release, confirm), expire at most `expire_at_most`
// holds past their time, then grant reserves, in that order.
struct EventBatch {
  std::vector<SettleRequest> settles;
  int expire_at_most = 0;
  std::vector<ReserveCommand> reserves;  // all for this event
};
struct EventBatchResult {
  Settlement settlement;
  std::vector<ReserveOutcome> reserves;         // one per reserve, in order
  std::optional<std::int64_t> available_after;  // nothing when the event does not exist
  SalesWindow sales;                            // as the lock read it
  // The windows of its types that have one, and its default type, as the lock read them.
  std::unordered_map<std::int64_t, SalesWindow> type_sales;
  std::optional<std::int64_t> default_type_id;
  // The stock of each of its types with a quota after the batch; none when a hold the batch decided was
  // not made (its key was taken meanwhile), so that no type is remembered shorter than it is.
  std::unordered_map<std::int64_t, std::int64_t> type_available;
};
struct EventWork {
  std::int64_t event_id;
  EventBatch batch;
};
// One transaction for the batches of several events (each event at most once): the event rows locked
// first (in id order, each once), then the holds they settle (in id order), one statement for the
// status changes, one for all the new holds and the changed event rows, one commit. Nothing is written
// (and nothing committed) when the batches change nothing. One result per batch, in order.
awaitable<std::vector<EventBatchResult>> run_event_batches(Pool* db, std::vector<EventWork> work);

// The events of the `holds` HELD holds longest past their time.
awaitable<std::vector<std::int64_t>> events_with_due_holds(Pool* db, int holds);

}  // namespace flashtix::inventory::store
