// The inventory's SQL, each statement named and beside the function that runs it.
// Locking order, everywhere: a reservation row before its event row; a reserve locks only the event.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <variant>
#include <vector>

#include "core/pg.hpp"
#include "inventory/reservation.hpp"

namespace flashtix::inventory::store {

using boost::asio::awaitable;
using core::pg::Pool;

awaitable<Event> create_event(Pool* db, CreateEvent command);
awaitable<std::optional<Event>> find_event(Pool* db, std::int64_t id);
// Events with id > after_id, in id order; at most `limit`.
awaitable<std::vector<Event>> list_events(Pool* db, std::int64_t after_id, std::int64_t limit);

// The outcomes of a reserve.
struct Reserved {
  Reservation reservation;
  std::int64_t remaining_tickets;
  bool created;  // false: the key was seen before and this is that hold
};
struct SoldOut {
  std::int64_t available_tickets;
};
struct EventNotFound {};
struct KeyReused {  // the key belongs to a hold for another event or quantity
  Reservation existing;
};
using ReserveOutcome = std::variant<Reserved, SoldOut, EventNotFound, KeyReused>;

awaitable<ReserveOutcome> reserve(Pool* db, ReserveCommand command);

// Release and confirm report the hold as it stands afterwards; nothing when it does not exist.
// `changed` tells whether this call made the transition.
struct HoldAfter {
  Reservation reservation;
  bool changed;
};
awaitable<std::optional<HoldAfter>> release(Pool* db, HoldRef ref);
awaitable<std::optional<HoldAfter>> confirm(Pool* db, HoldRef ref);
awaitable<std::optional<Reservation>> find_reservation(Pool* db, std::int64_t id);

// Expires the holds past their time and returns their tickets; returns how many holds expired.
awaitable<std::int64_t> expire_due_holds(Pool* db, int batch_per_event);

}  // namespace flashtix::inventory::store
