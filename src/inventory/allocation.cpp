// One event's batch, decided in memory under the event row lock; the store writes what these decide.
#include "inventory/allocation.hpp"

#include <cassert>
#include <stdexcept>

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
        changed = true;
      } else if (holds[found->second].live) {
        hold.status = std::string(kConfirmed);
        settlement.sold_tickets += hold.quantity;
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
    ++settlement.expired_holds;
  }
  return settlement;
}

ReserveOutcome answer_with(const Reservation& hold, const ReserveCommand& request, std::int64_t remaining) {
  if (hold.event_id == request.event_id && hold.quantity == request.quantity) return Reserved{hold, remaining, false};
  return KeyReused{hold};
}

Allocation allocate(std::int64_t event_id, std::int64_t available, const std::vector<ReserveCommand>& requests,
                    const std::unordered_map<std::string, Reservation>& existing, const BuyerLimit& buyers,
                    std::chrono::steady_clock::time_point now, bool on_sale) {
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
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const ReserveCommand& request = requests[i];
    Decision decision{Verdict::sold_out, 0, std::nullopt, std::nullopt};
    if (const auto stored = existing.find(request.key); stored != existing.end()) {
      const Reservation& hold = stored->second;
      const bool same = hold.event_id == request.event_id && hold.quantity == request.quantity;
      decision.verdict = same ? Verdict::replay : Verdict::key_reused;
      decision.existing = hold;
    } else if (const auto earlier = taken_by.find(request.key); earlier != taken_by.end()) {
      const ReserveCommand& first = requests[earlier->second];
      const bool same = first.event_id == request.event_id && first.quantity == request.quantity;
      decision.verdict = same ? Verdict::replay : Verdict::key_reused;
      decision.earlier = earlier->second;
    } else if (request.commit_by && *request.commit_by <= now) {
      decision.verdict = Verdict::too_late;
    } else if (!on_sale) {
      decision.verdict = Verdict::not_on_sale;
    } else if (buyers.max_tickets_per_buyer && !request.buyer_digest) {
      decision.verdict = Verdict::buyer_required;
    } else if (buyers.max_tickets_per_buyer &&
               tickets_of(*request.buyer_digest) + request.quantity > *buyers.max_tickets_per_buyer) {
      decision.verdict = Verdict::buyer_limit;
      decision.buyer_tickets = tickets_of(*request.buyer_digest);
    } else if (request.event_id == event_id && request.quantity <= available) {
      decision.verdict = Verdict::take;
      available -= request.quantity;
      allocation.taken_tickets += request.quantity;
      taken_by.emplace(request.key, i);
      if (buyers.max_tickets_per_buyer) tickets_of(*request.buyer_digest) += request.quantity;
    } else {
      decision.available = available;
    }
    allocation.decisions.push_back(std::move(decision));
  }
  // Tickets are taken from the stock and from nowhere else.
  assert(available >= 0 && allocation.taken_tickets == stock - available);
  allocation.available_after = available;
  return allocation;
}

}  // namespace flashtix::inventory
