// The arithmetic of one event's batch, as pure functions: which holds a batch settles (release, confirm,
// expiry) and which reserves it grants. A batch means the same as its requests one after the other in
// arrival order, settlements first: every reserve is all or nothing, a later smaller one may still fit
// after a larger one was refused, and a key seen before (in the database or earlier in the batch) gets
// that hold back instead of a second one.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "inventory/reservation.hpp"

namespace flashtix::inventory {

// --- Settling holds: release, confirm, expiry ---

enum class SettleKind { release, confirm };
struct SettleRequest {
  SettleKind kind;
  std::int64_t reservation_id;
};
// A hold as this batch's transaction locked it; `live` is expires_at > now() at the transaction's start.
struct LockedHold {
  Reservation reservation;
  bool live;
};
struct DueHold {
  std::int64_t id;
  std::int64_t quantity;
  std::vector<HoldItem> items;
};
struct StatusChange {
  std::int64_t reservation_id;
  std::string_view status;
};
// What a batch's settlements did to one ticket type's tickets.
struct TypeChange {
  std::int64_t restocked_tickets = 0;
  std::int64_t sold_tickets = 0;
};
struct Settlement {
  std::vector<HoldAfter> answers;      // one per request, in order
  std::vector<StatusChange> changes;   // at most one per hold
  std::int64_t restocked_tickets = 0;  // back to available: released and expired holds
  std::int64_t sold_tickets = 0;       // from held to sold: confirmed holds
  std::int64_t expired_holds = 0;
  std::unordered_map<std::int64_t, TypeChange> types;  // the same, by the holds' items' types
};

// `holds` are the holds the requests name (each must be among them); `due` are HELD holds past their
// time, which expire unless a request of this batch settled them first. Throws std::logic_error for a
// request whose hold is not in `holds`.
Settlement settle(const std::vector<SettleRequest>& requests, const std::vector<LockedHold>& holds,
                  const std::vector<DueHold>& due);

// --- Granting reserves ---

enum class Verdict {
  take,        // a new hold of `quantity` tickets
  replay,      // the key's hold already exists with this event and quantity: answer it, unchanged
  key_reused,  // the key's hold exists for another event or quantity
  sold_out,    // fewer than `quantity` tickets were left at its turn (`available`)
  too_late,    // a new hold its caller no longer waits for (past its commit_by): nothing is taken
  buyer_required,  // the event limits tickets per buyer and the request names none
  buyer_limit,     // the buyer's tickets and these together would pass the event's limit (`buyer_tickets`)
  not_on_sale,     // a new hold while the event, or one of its types (`ticket_type_id`), does not sell
  type_not_found,  // an item names a type the event does not have (`ticket_type_id`)
  quantity_out_of_range,  // an item asks for fewer or more than one order may take of its type
  amount_out_of_range,    // the hold would cost more than one order may be charged (`amount_minor`)
};
struct Decision {
  Verdict verdict;
  std::int64_t available = 0;           // sold_out: what was left at its turn
  std::optional<Reservation> existing;  // replay, key_reused: the hold found in the database
  std::optional<std::size_t> earlier;   // replay, key_reused: the request of this batch that takes the key
  std::int64_t buyer_tickets = 0;       // buyer_limit: what the buyer held or had bought at its turn
  // sold_out (when a type ran short), not_on_sale (a type's window), type_not_found, quantity_out_of_range.
  std::optional<std::int64_t> ticket_type_id;
  std::vector<HoldItem> items;  // take: what the new hold holds, at the types' prices
  std::int64_t amount_minor = 0;  // take: what it costs; amount_out_of_range: what it would have cost
};
// An event's types as its batch's lock found them, each quota's stock after the batch's settlements; and
// the database's clock then, which judges their sales windows.
struct EventTypes {
  std::unordered_map<std::int64_t, TicketType> by_id;
  std::optional<std::int64_t> default_id;
  std::int64_t now_ms = 0;
};
// An event's per-buyer limit, and what each buyer of the batch holds or bought of it under the lock.
struct BuyerLimit {
  std::optional<std::int64_t> max_tickets_per_buyer;
  std::unordered_map<std::string, std::int64_t> tickets;  // by buyer digest; absent: none
};
struct Allocation {
  std::vector<Decision> decisions;  // one per request, in order
  std::int64_t taken_tickets = 0;
  std::int64_t available_after = 0;
  std::unordered_map<std::int64_t, std::int64_t> type_available_after;  // of each type with a quota
};

// Whether a reserve asks for what `hold` holds: the same event and number of tickets, and the same tickets
// of each type (a reserve naming no items asks for the event's `default_type`; nothing: not judged).
bool asks_for(const ReserveCommand& request, const Reservation& hold,
              std::optional<std::int64_t> default_type = std::nullopt);

// The answer to a reserve whose key already names `hold`: that hold again (with `remaining` tickets
// left), or a key reused with another event or quantity.
ReserveOutcome answer_with(const Reservation& hold, const ReserveCommand& request, std::int64_t remaining);

// `available` is the event's stock under the lock, after this batch's settlements; `existing` the holds
// already stored under the requests' keys; `buyers` the event's per-buyer limit and what its buyers hold;
// `now` the time the lock was had; `on_sale` whether the event sold then (a key's hold made earlier is
// still answered when it does not); `types` its ticket types (none: every request takes untyped tickets at
// no price, as before types existed; the store always gives them).
Allocation allocate(std::int64_t event_id, std::int64_t available, const std::vector<ReserveCommand>& requests,
                    const std::unordered_map<std::string, Reservation>& existing, const BuyerLimit& buyers,
                    std::chrono::steady_clock::time_point now, bool on_sale = true, const EventTypes* types = nullptr);

}  // namespace flashtix::inventory
