// The ledger's vocabulary: events, holds and their states, the commands that change them, and how
// a request body becomes a command (pure functions, unit-tested).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/http.hpp"
#include "inventory/limits.hpp"

namespace flashtix::inventory {

// HELD -> CONFIRMED | RELEASED | EXPIRED; VOIDED when the event is reset by hand.
inline constexpr std::string_view kHeld = "HELD";
inline constexpr std::string_view kConfirmed = "CONFIRMED";
inline constexpr std::string_view kReleased = "RELEASED";
inline constexpr std::string_view kExpired = "EXPIRED";
inline constexpr std::string_view kVoided = "VOIDED";

// When an event sells: from `start` (inclusive) until `end` (exclusive), Unix milliseconds; nothing for
// no bound on that side.
struct SalesWindow {
  std::optional<std::int64_t> start_ms;
  std::optional<std::int64_t> end_ms;
  bool open_at(std::int64_t unix_ms) const {
    return (!start_ms || *start_ms <= unix_ms) && (!end_ms || unix_ms < *end_ms);
  }
  // The end after the start, where both are bounded (the events table's CHECK says the same).
  bool in_order() const { return !start_ms || !end_ms || *start_ms < *end_ms; }
  bool operator==(const SalesWindow&) const = default;
};

// One kind of ticket an event sells. Its tickets come out of the event's capacity, which every type
// shares; a type with a quota also sells no more than that (pretix's quotas).
struct TicketType {
  std::int64_t id = 0;
  std::int64_t event_id = 0;
  std::string name;
  bool is_default = false;  // what a reserve or order that names no type takes
  std::int64_t price_minor = 0;  // per ticket, in the event's currency
  std::int64_t min_per_order = 1;
  std::optional<std::int64_t> max_per_order;  // nothing: only the service's per-hold bound
  std::optional<std::int64_t> quota;          // nothing: only the event's capacity
  // Counted only with a quota.
  std::optional<std::int64_t> available_tickets;
  std::optional<std::int64_t> sold_tickets;
  SalesWindow sales;
};

// What a type can still sell while its event has `event_available` tickets: the lesser of its quota's tickets
// left and the event's.
inline std::int64_t available_of(const TicketType& type, std::int64_t event_available) {
  return type.available_tickets && *type.available_tickets < event_available ? *type.available_tickets
                                                                             : event_available;
}

// A type's part of a hold: its tickets, at the price the type had when the hold was made.
struct HoldItem {
  std::int64_t ticket_type_id = 0;
  std::int64_t quantity = 0;
  std::int64_t unit_price_minor = 0;
  bool operator==(const HoldItem&) const = default;
};

struct Event {
  std::int64_t id = 0;
  std::string name;
  std::int64_t total_tickets = 0;
  std::int64_t available_tickets = 0;
  std::int64_t held_tickets = 0;
  std::int64_t sold_tickets = 0;
  std::int64_t created_at_ms = 0;
  // Tickets one buyer may hold and buy of this event at most; nothing: no limit.
  std::optional<std::int64_t> max_tickets_per_buyer;
  SalesWindow sales;
  std::string currency;                   // ISO 4217, of every price of the event
  std::vector<TicketType> ticket_types;   // in id order, the default among them
};

struct Reservation {
  std::int64_t id = 0;
  std::string key;
  std::int64_t event_id = 0;
  std::int64_t quantity = 0;
  std::string status;
  std::int64_t expires_at_ms = 0;
  std::int64_t created_at_ms = 0;
  // The SHA-256 (hex) of the secret that lets the hold's maker release it; empty for holds of the order
  // service, which releases them with its role. Never part of an answer.
  std::string secret_sha256;
  // What it holds, by type (none for a tombstone), and what that costs in `currency`.
  std::vector<HoldItem> items;
  std::int64_t amount_minor = 0;
  std::string currency;
};

// A ticket type as POST /events or POST /events/{id}/ticket_types gives it.
struct NewTicketType {
  std::string name;
  std::int64_t price_minor = 0;
  std::int64_t min_per_order = 1;
  std::optional<std::int64_t> max_per_order;
  std::optional<std::int64_t> quota;
  SalesWindow sales;
};

// PATCH /events/{id}/ticket_types/{type_id}: each field given changes; null clears max_per_order, quota
// or a bound of the window; absent keeps it. A new quota counts the type's held and sold tickets again.
struct ChangeTicketType {
  std::optional<std::string> name;
  std::optional<std::int64_t> price_minor;
  std::optional<std::int64_t> min_per_order;
  std::optional<std::optional<std::int64_t>> max_per_order;
  std::optional<std::optional<std::int64_t>> quota;
  std::optional<std::optional<std::int64_t>> start_ms;
  std::optional<std::optional<std::int64_t>> end_ms;
};

struct CreateEvent {
  std::string name;
  std::int64_t total_tickets = 0;
  std::optional<std::int64_t> max_tickets_per_buyer;
  SalesWindow sales;
  std::string currency = "EUR";
  // 1 to kMaxTicketTypes, the first the default; POST /events without ticket_types gives one free
  // 'General admission' (or priced by its price_minor).
  std::vector<NewTicketType> ticket_types;
};

// PATCH /events/{id}: a new bound of the sales window for each instant given; null clears it, absent
// keeps it.
struct ChangeSalesWindow {
  std::optional<std::optional<std::int64_t>> start_ms;
  std::optional<std::optional<std::int64_t>> end_ms;
};

// Tickets of one type a reserve asks for.
struct ItemRequest {
  std::int64_t ticket_type_id = 0;
  std::int64_t quantity = 0;
  bool operator==(const ItemRequest&) const = default;
};

struct ReserveCommand {
  std::int64_t event_id = 0;
  std::int64_t quantity = 1;  // all its items together
  std::string key;  // the client's, or a fresh UUID
  std::int64_t hold_seconds = 0;
  // A key the client chose may name a hold made before (a retry); a fresh one never does.
  bool key_from_client = false;
  // When the caller stops waiting (kRequestTimeoutHeader): no new hold is made for it after that, so a
  // buyer told the request failed holds nothing.
  std::optional<std::chrono::steady_clock::time_point> commit_by;
  // Who holds, for events with a per-buyer limit: core::buyer_digest of the buyer's e-mail address.
  std::optional<std::string> buyer_digest;
  // The digest of the secret a new hold answers its maker (POST /inventory/reserve).
  std::optional<std::string> secret_sha256;
  // By type, each type once, in the order given; none: `quantity` tickets of the event's default type.
  std::vector<ItemRequest> items;
};

// A hold named by id or by its client key (exactly one).
struct HoldRef {
  std::optional<std::int64_t> id;
  std::optional<std::string> key;
};

// POST /inventory/release: the hold, and, for a hold named by key, what its reserve asked for. A release
// by key that finds no hold then leaves a tombstone (a RELEASED hold of no tickets taken), so that the
// reserve, if it is still on its way, finds its key released and holds nothing.
struct ReleaseCommand {
  HoldRef hold;
  std::optional<std::int64_t> event_id;  // both or neither
  std::optional<std::int64_t> quantity;
};

// The outcomes of a reserve.
struct Reserved {
  Reservation reservation;
  std::int64_t remaining_tickets;
  bool created;  // false: the key was seen before and this is that hold
};
struct SoldOut {
  std::int64_t available_tickets;  // of the event, or of `ticket_type_id` when that type ran short
  std::optional<std::int64_t> ticket_type_id;
};
// An item names a type this event does not have.
struct TicketTypeNotFound {
  std::int64_t ticket_type_id;
};
// An item asks for fewer or more tickets of its type than one order may take.
struct QuantityOutOfRange {
  TicketType type;
  std::int64_t quantity;
};
// The hold would cost more than one order may be charged (core::kMaxAmountMinor).
struct AmountOutOfRange {
  std::int64_t amount_minor;
};
struct EventNotFound {};
struct KeyReused {  // the key belongs to a hold for another event or quantity
  Reservation existing;
};
// The caller stopped waiting before the event's stock could be had: nothing was held.
struct TooLate {};
// The event limits tickets per buyer and the request names no buyer.
struct BuyerRequired {
  std::int64_t max_tickets_per_buyer;
};
// The buyer's live and sold holds of the event and this request together would pass its limit.
struct BuyerLimitReached {
  std::int64_t max_tickets_per_buyer;
  std::int64_t buyer_tickets;  // held or bought already
};
// The event, or the type `ticket_type_id`, does not sell now: before its window opens, or after it closed.
// Nothing was held.
struct NotOnSale {
  SalesWindow sales;
  std::optional<std::int64_t> ticket_type_id;
};
using ReserveOutcome = std::variant<Reserved, SoldOut, EventNotFound, KeyReused, TooLate, BuyerRequired,
                                    BuyerLimitReached, NotOnSale, TicketTypeNotFound, QuantityOutOfRange,
                                    AmountOutOfRange>;

// Release and confirm report the hold as it stands afterwards; `changed` tells whether this call made
// the transition.
struct HoldAfter {
  Reservation reservation;
  bool changed;
};

core::Result<CreateEvent> parse_create_event(std::string_view body, const Limits& limits);
// POST /events/{id}/ticket_types: one type.
core::Result<NewTicketType> parse_new_ticket_type(std::string_view body, const Limits& limits);
core::Result<ChangeTicketType> parse_change_ticket_type(std::string_view body, const Limits& limits);
core::Result<ChangeSalesWindow> parse_change_sales_window(std::string_view body);
// The 400 for a window that would end before it starts.
core::Problem sales_window_out_of_order();
core::Result<ReserveCommand> parse_reserve(std::string_view body, const Limits& limits);
// {"reservations": [<reserve request>, ...]}: 1 to kMaxReserveBatch requests, each read as parse_reserve
// reads one; the first bad one is the problem, naming its index.
core::Result<std::vector<ReserveCommand>> parse_reserve_batch(std::string_view body, const Limits& limits);
core::Result<ReserveCommand> reserve_from(const core::json::object& fields, const Limits& limits);
core::Result<HoldRef> parse_hold_ref(std::string_view body);
core::Result<ReleaseCommand> parse_release(std::string_view body, const Limits& limits);

core::json::object to_json(const Event& event);
// {"sales_start": ..., "sales_end": ...}, each RFC 3339 or null.
core::json::object to_json(const SalesWindow& sales);
core::json::object to_json(const Reservation& reservation);
// A type as the API shows it: `available_tickets` is what it can still sell, its quota's and the
// event's (`event_available`) at once.
core::json::object to_json(const TicketType& type, std::int64_t event_available, std::string_view currency);

}  // namespace flashtix::inventory
