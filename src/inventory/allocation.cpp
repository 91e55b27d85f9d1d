// One event's batch, decided in memory under the event row lock; the store writes what these decide.
#include "inventory/allocation.hpp"

#include <algorithm>
#include <cassert>
#include <stdexcept>

#include "core/money.hpp"

namespace flashtix::inventory {

Settlement settle(const std::vector<SettleRequest>& requests, const std::vector<LockedHold>& holds,
                  const std::vector<DueHold>& due) {
  // The holds as they stand at each request's turn.
  std::unordered_map<std::int64_t, std::size_t> by_id;
  std::vector<Reservation> current;
  current.reserve(holds.size());
  for (const LockedHold& hold : holds) {
    by_id.emplace(hold.reservation.id, current.size());
    current.push_back(hold.reservation);
  }
  Settlement settlement;
  for (const SettleRequest& request : requests) {
    const auto found = by_id.find(request.reservation_id);
    if (found == by_id.end()) {
      throw std::logic_error("hold " + std::to_string(request.reservation_id) + " is not locked by its batch");
    }
    Reservation& hold = current[found->second];
    bool changed = false;
    if (hold.status == kHeld) {
      if (request.kind == SettleKind::release) {
        hold.status = std::string(kReleased);
        settlement.restocked_tickets += hold.quantity;
        for (const HoldItem& item : hold.items) settlement.types[item.ticket_type_id].restocked_tickets += item.quantity;
        changed = true;
      } else if (holds[found->second].live) {
        hold.status = std::string(kConfirmed);
        settlement.sold_tickets += hold.quantity;
        for (const HoldItem& item : hold.items) settlement.types[item.ticket_type_id].sold_tickets += item.quantity;
        changed = true;
      }
    }
    // Only a HELD hold moves, and only to where the request takes it.
    assert(!changed || hold.status == (request.kind == SettleKind::release ? kReleased : kConfirmed));
    if (changed) settlement.changes.push_back({hold.id, hold.status == kReleased ? kReleased : kConfirmed});
    settlement.answers.push_back(HoldAfter{hold, changed});
  }
  for (const DueHold& hold : due) {
    const auto found = by_id.find(hold.id);
    // Settled by a request of this batch, or not HELD any more: nothing left to expire.
    if (found != by_id.end() && current[found->second].status != kHeld) continue;
    if (found != by_id.end()) current[found->second].status = std::string(kExpired);
    settlement.changes.push_back({hold.id, kExpired});
    settlement.restocked_tickets += hold.quantity;
    for (const HoldItem& item : hold.items) settlement.types[item.ticket_type_id].restocked_tickets += item.quantity;
    ++settlement.expired_holds;
  }
  return settlement;
}

namespace {

// The same tickets of each type, in whatever order.
bool same_items(const std::vector<ItemRequest>& a, const std::vector<ItemRequest>& b) {
  return a.size() == b.size() && std::all_of(a.begin(), a.end(), [&](const ItemRequest& item) {
           return std::find(b.begin(), b.end(), item) != b.end();
         });
}

}  // namespace

bool asks_for(const ReserveCommand& request, const Reservation& hold, std::optional<std::int64_t> default_type) {
  if (hold.event_id != request.event_id || hold.quantity != request.quantity) return false;
  // A hold that never held (its key was released first) has no items: the event and the number decide.
  if (hold.items.empty()) return true;
  if (request.items.empty()) {
    return !default_type || (hold.items.size() == 1 && hold.items.front().ticket_type_id == *default_type);
  }
  if (request.items.size() != hold.items.size()) return false;
  return std::all_of(request.items.begin(), request.items.end(), [&](const ItemRequest& asked) {
    return std::any_of(hold.items.begin(), hold.items.end(), [&](const HoldItem& held) {
      return held.ticket_type_id == asked.ticket_type_id && held.quantity == asked.quantity;
    });
  });
}

ReserveOutcome answer_with(const Reservation& hold, const ReserveCommand& request, std::int64_t remaining) {
  if (asks_for(request, hold)) return Reserved{hold, remaining, false};
  return KeyReused{hold};
}

namespace {

// The items of a new hold, checked against the event's types: each type the event's, each quantity within
// its type's bounds, each type on sale. Fills `decision` and returns false at the first that is not.
bool resolve_items(const ReserveCommand& request, const EventTypes& types, Decision& decision) {
  std::vector<ItemRequest> asked = request.items;
  if (asked.empty()) asked.push_back({types.default_id.value_or(0), request.quantity});
  for (const ItemRequest& item : asked) {
    const auto found = types.by_id.find(item.ticket_type_id);
    decision.ticket_type_id = item.ticket_type_id;
    if (found == types.by_id.end()) {
      decision.verdict = Verdict::type_not_found;
      return false;
    }
    const TicketType& type = found->second;
    if (item.quantity < type.min_per_order || (type.max_per_order && item.quantity > *type.max_per_order)) {
      decision.verdict = Verdict::quantity_out_of_range;
      return false;
    }
    if (!type.sales.open_at(types.now_ms)) {
      decision.verdict = Verdict::not_on_sale;
      return false;
    }
    decision.items.push_back(HoldItem{type.id, item.quantity, type.price_minor});
    decision.amount_minor += item.quantity * type.price_minor;
  }
  decision.ticket_type_id.reset();
  // A hold payments could never charge: possible only with --max-quantity above 10 at the highest prices.
  // Bounded sums: at most 10 items of 1,000 tickets at kMaxPriceMinor each, far from overflowing.
  if (decision.amount_minor > core::kMaxAmountMinor) {
    decision.verdict = Verdict::amount_out_of_range;
    return false;
  }
  return true;
}

}  // namespace

Allocation allocate(std::int64_t event_id, std::int64_t available, const std::vector<ReserveCommand>& requests,
                    const std::unordered_map<std::string, Reservation>& existing, const BuyerLimit& buyers,
                    std::chrono::steady_clock::time_point now, bool on_sale, const EventTypes* types) {
  assert(available >= 0);
  [[maybe_unused]] const std::int64_t stock = available;
  Allocation allocation;
  allocation.decisions.reserve(requests.size());
  // Keys taken by a request of this batch, and which one.
  std::unordered_map<std::string_view, std::size_t> taken_by;
  // What each buyer holds at each request's turn: the stored holds, then this batch's.
  std::unordered_map<std::string_view, std::int64_t> buyer_tickets;
  const auto tickets_of = [&](const std::string& buyer) -> std::int64_t& {
    auto [entry, added] = buyer_tickets.try_emplace(buyer, 0);
    if (added) {
      const auto stored = buyers.tickets.find(buyer);
      entry->second = stored == buyers.tickets.end() ? 0 : stored->second;
    }
    return entry->second;
  };
  // The stock of each type with a quota, at each request's turn.
  std::unordered_map<std::int64_t, std::int64_t>& type_available = allocation.type_available_after;
  if (types) {
    for (const auto& [id, type] : types->by_id) {
      if (type.available_tickets) type_available.emplace(id, *type.available_tickets);
    }
  }
  // The type of `items` that has fewer tickets left than its item asks for, if any.
  const auto short_type = [&](const std::vector<HoldItem>& items) -> std::optional<std::int64_t> {
    for (const HoldItem& item : items) {
      const auto left = type_available.find(item.ticket_type_id);
      if (left != type_available.end() && left->second < item.quantity) return item.ticket_type_id;
    }
    return std::nullopt;
  };
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const ReserveCommand& request = requests[i];
    Decision decision{Verdict::sold_out, 0, std::nullopt, std::nullopt, 0, std::nullopt, {}, 0};
    if (const auto stored = existing.find(request.key); stored != existing.end()) {
      const Reservation& hold = stored->second;
      decision.verdict = asks_for(request, hold, types ? types->default_id : std::nullopt) ? Verdict::replay
                                                                                          : Verdict::key_reused;
      decision.existing = hold;
    } else if (const auto earlier = taken_by.find(request.key); earlier != taken_by.end()) {
      const ReserveCommand& first = requests[earlier->second];
      const bool same = first.event_id == request.event_id && first.quantity == request.quantity &&
                        same_items(first.items, request.items);
      decision.verdict = same ? Verdict::replay : Verdict::key_reused;
      decision.earlier = earlier->second;
    } else if (request.commit_by && *request.commit_by <= now) {
      decision.verdict = Verdict::too_late;
    } else if (!on_sale) {
      decision.verdict = Verdict::not_on_sale;
    } else if (types && request.event_id == event_id && !resolve_items(request, *types, decision)) {
      // The verdict is resolve_items'.
    } else if (buyers.max_tickets_per_buyer && !request.buyer_digest) {
      decision.verdict = Verdict::buyer_required;
    } else if (buyers.max_tickets_per_buyer &&
               tickets_of(*request.buyer_digest) + request.quantity > *buyers.max_tickets_per_buyer) {
      decision.verdict = Verdict::buyer_limit;
      decision.buyer_tickets = tickets_of(*request.buyer_digest);
    } else if (const auto short_of = short_type(decision.items); short_of) {
      decision.ticket_type_id = short_of;
      decision.available = type_available.at(*short_of);
    } else if (request.event_id == event_id && request.quantity <= available) {
      decision.verdict = Verdict::take;
      available -= request.quantity;
      allocation.taken_tickets += request.quantity;
      for (const HoldItem& item : decision.items) {
        if (const auto left = type_available.find(item.ticket_type_id); left != type_available.end()) {
          left->second -= item.quantity;
        }
      }
      taken_by.emplace(request.key, i);
      if (buyers.max_tickets_per_buyer) tickets_of(*request.buyer_digest) += request.quantity;
    } else {
      decision.available = available;
    }
    if (decision.verdict != Verdict::take) {
      decision.items.clear();
      if (decision.verdict != Verdict::amount_out_of_range) decision.amount_minor = 0;
    }
    allocation.decisions.push_back(std::move(decision));
  }
  // Tickets are taken from the stock and from nowhere else, and no quota is overdrawn.
  assert(available >= 0 && allocation.taken_tickets == stock - available);
  assert(std::all_of(type_available.begin(), type_available.end(), [](const auto& entry) { return entry.second >= 0; }));
  allocation.available_after = available;
  return allocation;
}

}  // namespace flashtix::inventory
