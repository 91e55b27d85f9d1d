// The batch arithmetic: a batch must mean its requests one after the other, in arrival order.
#include "inventory/allocation.hpp"

#include <gtest/gtest.h>

#include "core/money.hpp"

namespace flashtix::inventory {
namespace {

constexpr std::int64_t kEvent = 7;
const auto kNow = std::chrono::steady_clock::now();

ReserveCommand wants(std::string key, std::int64_t quantity, std::int64_t event_id = kEvent) {
  return ReserveCommand{event_id, quantity, std::move(key), 600, false, std::nullopt, std::nullopt, std::nullopt, {}};
}

Reservation stored(std::int64_t id, std::string key, std::int64_t quantity, std::string_view status = kHeld,
                   std::int64_t event_id = kEvent) {
  return Reservation{id, std::move(key), event_id, quantity, std::string(status), 0, 0, {}, {}, 0, {}};
}

std::vector<Verdict> verdicts(const Allocation& allocation) {
  std::vector<Verdict> out;
  for (const Decision& decision : allocation.decisions) out.push_back(decision.verdict);
  return out;
}

TEST(Allocate, GrantsInArrivalOrderUntilTheStockRunsOut) {
  const Allocation allocation = allocate(kEvent, 3, {wants("a", 1), wants("b", 1), wants("c", 1), wants("d", 1)}, {}, {}, kNow);
  EXPECT_EQ(verdicts(allocation), (std::vector{Verdict::take, Verdict::take, Verdict::take, Verdict::sold_out}));
  EXPECT_EQ(allocation.decisions[3].available, 0);
  EXPECT_EQ(allocation.taken_tickets, 3);
  EXPECT_EQ(allocation.available_after, 0);
}

TEST(Allocate, OutsideItsSalesWindowAnEventMakesNoHoldButAnswersTheHoldsItMade) {
  const std::unordered_map<std::string, Reservation> existing{{"made", stored(1, "made", 2)}};
  const Allocation allocation =
      allocate(kEvent, 5, {wants("a", 1), wants("made", 2), wants("made", 3)}, existing, {}, kNow, false);
  EXPECT_EQ(verdicts(allocation), (std::vector{Verdict::not_on_sale, Verdict::replay, Verdict::key_reused}));
  EXPECT_EQ(allocation.taken_tickets, 0);
  EXPECT_EQ(allocation.available_after, 5);
}

TEST(SalesWindow, OpensAtItsStartAndClosesAtItsEnd) {
  EXPECT_TRUE(SalesWindow{}.open_at(0));
  const SalesWindow window{1000, 2000};
  EXPECT_FALSE(window.open_at(999));
  EXPECT_TRUE(window.open_at(1000));
  EXPECT_TRUE(window.open_at(1999));
  EXPECT_FALSE(window.open_at(2000));
  EXPECT_TRUE((SalesWindow{std::nullopt, 2000}.open_at(-5)));
  EXPECT_TRUE((SalesWindow{1000, std::nullopt}.open_at(1'000'000'000'000)));
}

TEST(Allocate, EachRequestIsAllOrNothingAndASmallerOneMayStillFit) {
  // 5 left: 3 fits, 4 does not (2 left at its turn) and takes nothing, 2 then fits exactly.
  const Allocation allocation = allocate(kEvent, 5, {wants("a", 3), wants("b", 4), wants("c", 2), wants("d", 1)}, {}, {}, kNow);
  EXPECT_EQ(verdicts(allocation), (std::vector{Verdict::take, Verdict::sold_out, Verdict::take, Verdict::sold_out}));
  EXPECT_EQ(allocation.decisions[1].available, 2);
  EXPECT_EQ(allocation.decisions[3].available, 0);
  EXPECT_EQ(allocation.taken_tickets, 5);
  EXPECT_EQ(allocation.available_after, 0);
}

TEST(Allocate, ExactStockIsSoldAndNothingMore) {
  std::vector<ReserveCommand> requests;
  for (int i = 0; i < 10; ++i) requests.push_back(wants("k" + std::to_string(i), 10));
  const Allocation allocation = allocate(kEvent, 100, requests, {}, {}, kNow);
  for (const Decision& decision : allocation.decisions) EXPECT_EQ(decision.verdict, Verdict::take);
  EXPECT_EQ(allocation.available_after, 0);
  const Allocation none = allocate(kEvent, 0, {wants("x", 1)}, {}, {}, kNow);
  EXPECT_EQ(verdicts(none), (std::vector{Verdict::sold_out}));
  EXPECT_EQ(none.taken_tickets, 0);
}

TEST(Allocate, ADuplicateKeyInOneBatchGetsTheFirstHoldNotASecond) {
  const Allocation allocation = allocate(kEvent, 10, {wants("k", 2), wants("k", 2), wants("k", 3)}, {}, {}, kNow);
  EXPECT_EQ(verdicts(allocation), (std::vector{Verdict::take, Verdict::replay, Verdict::key_reused}));
  EXPECT_EQ(allocation.decisions[1].earlier, 0u);
  EXPECT_EQ(allocation.decisions[2].earlier, 0u);
  EXPECT_EQ(allocation.taken_tickets, 2);
}

TEST(Allocate, ADuplicateOfARefusedRequestIsAskedAgainAtItsOwnTurn) {
  // The first "k" is refused and takes nothing, so its key stays free for the later, smaller "k".
  const Allocation allocation = allocate(kEvent, 1, {wants("k", 2), wants("k", 1)}, {}, {}, kNow);
  EXPECT_EQ(verdicts(allocation), (std::vector{Verdict::sold_out, Verdict::take}));
}

TEST(Allocate, AKeyAlreadyStoredIsAnsweredWithItsHold) {
  const std::unordered_map<std::string, Reservation> existing{
      {"same", stored(1, "same", 2)},
      {"other-quantity", stored(2, "other-quantity", 1)},
      {"other-event", stored(3, "other-event", 2, kHeld, kEvent + 1)},
      {"released", stored(4, "released", 2, kReleased)},
  };
  const Allocation allocation =
      allocate(kEvent, 0, {wants("same", 2), wants("other-quantity", 2), wants("other-event", 2), wants("released", 2)},
               existing, {}, kNow);
  EXPECT_EQ(verdicts(allocation),
            (std::vector{Verdict::replay, Verdict::key_reused, Verdict::key_reused, Verdict::replay}));
  EXPECT_EQ(allocation.decisions[0].existing->id, 1);
  EXPECT_EQ(allocation.decisions[3].existing->status, kReleased);
  EXPECT_EQ(allocation.taken_tickets, 0);
}

TEST(Allocate, ANewHoldItsCallerNoLongerWaitsForTakesNothing) {
  using std::chrono::milliseconds;
  ReserveCommand gave_up = wants("gave-up", 1);
  gave_up.commit_by = kNow - milliseconds(1);
  ReserveCommand at_the_second = wants("at-the-second", 1);
  at_the_second.commit_by = kNow;
  ReserveCommand waiting = wants("waiting", 1);
  waiting.commit_by = kNow + milliseconds(500);
  ReserveCommand replayed = wants("replayed", 2);
  replayed.commit_by = kNow - milliseconds(1);
  const std::unordered_map<std::string, Reservation> existing{{"replayed", stored(9, "replayed", 2)}};
  const Allocation allocation =
      allocate(kEvent, 2, {gave_up, at_the_second, waiting, wants("no-deadline", 1), replayed}, existing, {}, kNow);
  // Its tickets go to the requests after it; a hold made before is answered, as it takes nothing.
  EXPECT_EQ(verdicts(allocation), (std::vector{Verdict::too_late, Verdict::too_late, Verdict::take, Verdict::take,
                                               Verdict::replay}));
  EXPECT_EQ(allocation.taken_tickets, 2);
  EXPECT_EQ(allocation.available_after, 0);
}

ReserveCommand buyer_wants(std::string key, std::int64_t quantity, std::string buyer) {
  ReserveCommand command = wants(std::move(key), quantity);
  command.buyer_digest = std::move(buyer);
  return command;
}

TEST(Allocate, ABuyerGetsUpToTheLimitAcrossStoredHoldsAndTheBatch) {
  // ada holds 1 already; limit 4. Each request is all or nothing against what she holds at its turn.
  const BuyerLimit buyers{4, {{"ada", 1}}};
  const Allocation allocation = allocate(
      kEvent, 100,
      {buyer_wants("a1", 2, "ada"), buyer_wants("b1", 3, "bob"), buyer_wants("a2", 2, "ada"), buyer_wants("a3", 1, "ada"),
       buyer_wants("b2", 2, "bob"), buyer_wants("a1", 2, "ada")},
      {}, buyers, kNow);
  EXPECT_EQ(verdicts(allocation), (std::vector{Verdict::take, Verdict::take, Verdict::buyer_limit, Verdict::take,
                                               Verdict::buyer_limit, Verdict::replay}));
  EXPECT_EQ(allocation.decisions[2].buyer_tickets, 3);
  EXPECT_EQ(allocation.decisions[4].buyer_tickets, 3);
  EXPECT_EQ(allocation.taken_tickets, 6);
}

TEST(Allocate, AnEventWithALimitNeedsABuyerAndOneWithoutIgnoresIt) {
  const Allocation limited = allocate(kEvent, 10, {wants("anonymous", 1), buyer_wants("named", 1, "ada")}, {},
                                      BuyerLimit{2, {}}, kNow);
  EXPECT_EQ(verdicts(limited), (std::vector{Verdict::buyer_required, Verdict::take}));
  const Allocation open = allocate(kEvent, 10, {buyer_wants("x", 5, "ada"), buyer_wants("y", 5, "ada")}, {}, {}, kNow);
  EXPECT_EQ(verdicts(open), (std::vector{Verdict::take, Verdict::take}));
}

TEST(Allocate, ABuyerRefusedForStockIsNotChargedForIt) {
  const Allocation allocation =
      allocate(kEvent, 1, {buyer_wants("big", 2, "ada"), buyer_wants("small", 1, "ada"), buyer_wants("more", 1, "ada")},
               {}, BuyerLimit{2, {}}, kNow);
  EXPECT_EQ(verdicts(allocation), (std::vector{Verdict::sold_out, Verdict::take, Verdict::sold_out}));
}

LockedHold locked(std::int64_t id, std::int64_t quantity, std::string_view status = kHeld, bool live = true) {
  return LockedHold{stored(id, "key" + std::to_string(id), quantity, status), live};
}

TEST(Settle, ReleaseRestocksAndConfirmSellsOnceEach) {
  const Settlement settlement = settle({{SettleKind::release, 1}, {SettleKind::confirm, 2}, {SettleKind::release, 1}},
                                       {locked(1, 2), locked(2, 3)}, {});
  ASSERT_EQ(settlement.answers.size(), 3u);
  EXPECT_EQ(settlement.answers[0].reservation.status, kReleased);
  EXPECT_TRUE(settlement.answers[0].changed);
  EXPECT_EQ(settlement.answers[1].reservation.status, kConfirmed);
  EXPECT_TRUE(settlement.answers[1].changed);
  // The second release of hold 1 finds it released: the same answer, no second restock.
  EXPECT_EQ(settlement.answers[2].reservation.status, kReleased);
  EXPECT_FALSE(settlement.answers[2].changed);
  EXPECT_EQ(settlement.restocked_tickets, 2);
  EXPECT_EQ(settlement.sold_tickets, 3);
  EXPECT_EQ(settlement.changes.size(), 2u);
}

TEST(Settle, TheFirstOfAConfirmAndAReleaseWins) {
  const Settlement confirm_first = settle({{SettleKind::confirm, 1}, {SettleKind::release, 1}}, {locked(1, 2)}, {});
  EXPECT_EQ(confirm_first.answers[1].reservation.status, kConfirmed);
  EXPECT_FALSE(confirm_first.answers[1].changed);
  EXPECT_EQ(confirm_first.sold_tickets, 2);
  EXPECT_EQ(confirm_first.restocked_tickets, 0);

  const Settlement release_first = settle({{SettleKind::release, 1}, {SettleKind::confirm, 1}}, {locked(1, 2)}, {});
  EXPECT_EQ(release_first.answers[1].reservation.status, kReleased);
  EXPECT_EQ(release_first.sold_tickets, 0);
  EXPECT_EQ(release_first.restocked_tickets, 2);
}

TEST(Settle, ALapsedHoldCannotBeConfirmedButCanBeReleased) {
  const Settlement settlement = settle({{SettleKind::confirm, 1}, {SettleKind::release, 2}},
                                       {locked(1, 2, kHeld, false), locked(2, 1, kHeld, false)}, {});
  EXPECT_EQ(settlement.answers[0].reservation.status, kHeld);
  EXPECT_FALSE(settlement.answers[0].changed);
  EXPECT_EQ(settlement.answers[1].reservation.status, kReleased);
  EXPECT_EQ(settlement.sold_tickets, 0);
  EXPECT_EQ(settlement.restocked_tickets, 1);
}

TEST(Settle, HoldsThatAreNotHeldStayAsTheyAre) {
  const Settlement settlement = settle({{SettleKind::release, 1}, {SettleKind::confirm, 2}},
                                       {locked(1, 2, kConfirmed), locked(2, 2, kExpired)}, {});
  EXPECT_EQ(settlement.answers[0].reservation.status, kConfirmed);
  EXPECT_EQ(settlement.answers[1].reservation.status, kExpired);
  EXPECT_TRUE(settlement.changes.empty());
  EXPECT_EQ(settlement.restocked_tickets, 0);
}

TEST(Settle, DueHoldsExpireUnlessThisBatchSettledThem) {
  // Hold 1 is released by a request first; hold 3 was due but is confirmed... it cannot be, it lapsed,
  // so it expires after the refused confirm; hold 4 simply expires.
  const Settlement settlement =
      settle({{SettleKind::release, 1}, {SettleKind::confirm, 3}},
             {locked(1, 2, kHeld, false), locked(3, 1, kHeld, false)}, {{1, 2, {}}, {3, 1, {}}, {4, 5, {}}});
  EXPECT_EQ(settlement.answers[0].reservation.status, kReleased);
  EXPECT_EQ(settlement.answers[1].reservation.status, kHeld);
  EXPECT_EQ(settlement.expired_holds, 2);
  EXPECT_EQ(settlement.restocked_tickets, 2 + 1 + 5);
  ASSERT_EQ(settlement.changes.size(), 3u);
  EXPECT_EQ(settlement.changes[0].status, kReleased);
  EXPECT_EQ(settlement.changes[1].reservation_id, 3);
  EXPECT_EQ(settlement.changes[1].status, kExpired);
  EXPECT_EQ(settlement.changes[2].reservation_id, 4);
}

TEST(Settle, AHoldTheBatchDidNotLockIsABug) {
  EXPECT_THROW(settle({{SettleKind::release, 9}}, {locked(1, 1)}, {}), std::logic_error);
}

// --- Ticket types ---

constexpr std::int64_t kGeneral = 11;  // the default: 4,500 each, no quota
constexpr std::int64_t kVip = 12;      // 9,000 each, quota 3, 1 to 2 an order
constexpr std::int64_t kLate = 13;     // on sale only from 5,000 ms

EventTypes event_types(std::int64_t vip_left = 3) {
  EventTypes types;
  types.by_id[kGeneral] = TicketType{kGeneral, kEvent, "General", true, 4500, 1, std::nullopt, std::nullopt,
                                     std::nullopt, std::nullopt, {}};
  types.by_id[kVip] = TicketType{kVip, kEvent, "VIP", false, 9000, 1, 2, 3, vip_left, 3 - vip_left, {}};
  types.by_id[kLate] =
      TicketType{kLate, kEvent, "Late", false, 100, 1, std::nullopt, std::nullopt, std::nullopt, std::nullopt, {5000, {}}};
  types.default_id = kGeneral;
  types.now_ms = 1000;
  return types;
}

ReserveCommand wants_items(std::string key, std::vector<ItemRequest> items) {
  ReserveCommand command = wants(std::move(key), 0);
  for (const ItemRequest& item : items) command.quantity += item.quantity;
  command.items = std::move(items);
  return command;
}

TEST(AllocateTypes, ARequestWithoutItemsTakesTheDefaultTypeAtItsPrice) {
  const EventTypes types = event_types();
  const Allocation allocation = allocate(kEvent, 10, {wants("a", 2)}, {}, {}, kNow, true, &types);
  EXPECT_EQ(verdicts(allocation), (std::vector{Verdict::take}));
  EXPECT_EQ(allocation.decisions[0].items, (std::vector<HoldItem>{{kGeneral, 2, 4500}}));
  EXPECT_EQ(allocation.decisions[0].amount_minor, 9000);
}

TEST(AllocateTypes, AnOrderOverTwoTypesIsAllOrNothing) {
  const EventTypes types = event_types(1);
  // VIP has 1 left: 2 General + 2 VIP takes nothing at all; 2 General + 1 VIP takes both, priced.
  const Allocation allocation = allocate(
      kEvent, 10,
      {wants_items("a", {{kGeneral, 2}, {kVip, 2}}), wants_items("b", {{kGeneral, 2}, {kVip, 1}}),
       wants_items("c", {{kVip, 1}})},
      {}, {}, kNow, true, &types);
  EXPECT_EQ(verdicts(allocation), (std::vector{Verdict::sold_out, Verdict::take, Verdict::sold_out}));
  EXPECT_EQ(allocation.decisions[0].ticket_type_id, kVip);
  EXPECT_EQ(allocation.decisions[0].available, 1);
  EXPECT_TRUE(allocation.decisions[0].items.empty());
  EXPECT_EQ(allocation.decisions[1].amount_minor, 2 * 4500 + 9000);
  EXPECT_EQ(allocation.decisions[2].available, 0);
  EXPECT_EQ(allocation.taken_tickets, 3);
  EXPECT_EQ(allocation.available_after, 7);
  EXPECT_EQ(allocation.type_available_after.at(kVip), 0);
}

TEST(AllocateTypes, TypesShareTheEventsCapacity) {
  // The event has 2 left although VIP's quota has 3: VIP sells 2, then General nothing.
  const EventTypes types = event_types();
  const Allocation allocation =
      allocate(kEvent, 2, {wants_items("a", {{kVip, 2}}), wants("b", 1)}, {}, {}, kNow, true, &types);
  EXPECT_EQ(verdicts(allocation), (std::vector{Verdict::take, Verdict::sold_out}));
  EXPECT_FALSE(allocation.decisions[1].ticket_type_id.has_value());
  EXPECT_EQ(allocation.decisions[1].available, 0);
  EXPECT_EQ(allocation.type_available_after.at(kVip), 1);
}

TEST(AllocateTypes, AHoldDearerThanAnOrderMayBeChargedIsRefusedAndTakesNothing) {
  EventTypes types = event_types();
  types.by_id[kGeneral].price_minor = core::kMaxAmountMinor / 10;
  const Allocation allocation =
      allocate(kEvent, 30, {wants("a", 11), wants("b", 10)}, {}, {}, kNow, true, &types);
  EXPECT_EQ(verdicts(allocation), (std::vector{Verdict::amount_out_of_range, Verdict::take}));
  EXPECT_EQ(allocation.decisions[0].amount_minor, core::kMaxAmountMinor / 10 * 11);
  EXPECT_TRUE(allocation.decisions[0].items.empty());
  EXPECT_EQ(allocation.decisions[1].amount_minor, core::kMaxAmountMinor);
  EXPECT_EQ(allocation.taken_tickets, 10);
}

TEST(AllocateTypes, ABadItemIsRefusedAndTakesNothing) {
  const EventTypes types = event_types();
  const Allocation allocation = allocate(kEvent, 10,
                                         {wants_items("a", {{kGeneral, 1}, {99, 1}}), wants_items("b", {{kVip, 3}}),
                                          wants_items("c", {{kLate, 1}}), wants("d", 1)},
                                         {}, {}, kNow, true, &types);
  EXPECT_EQ(verdicts(allocation), (std::vector{Verdict::type_not_found, Verdict::quantity_out_of_range,
                                               Verdict::not_on_sale, Verdict::take}));
  EXPECT_EQ(allocation.decisions[0].ticket_type_id, 99);
  EXPECT_EQ(allocation.decisions[1].ticket_type_id, kVip);
  EXPECT_EQ(allocation.decisions[2].ticket_type_id, kLate);
  EXPECT_EQ(allocation.taken_tickets, 1);
}

TEST(AllocateTypes, AReplayMustAskForTheSameItems) {
  const EventTypes types = event_types();
  Reservation held = stored(1, "k", 3);
  held.items = {{kGeneral, 1, 4500}, {kVip, 2, 9000}};
  const std::unordered_map<std::string, Reservation> existing{{"k", held}};
  const Allocation allocation = allocate(
      kEvent, 10,
      {wants_items("k", {{kVip, 2}, {kGeneral, 1}}), wants_items("k", {{kVip, 1}, {kGeneral, 2}}), wants("k", 3)},
      existing, {}, kNow, true, &types);
  // Three of the default type are not this hold's tickets.
  EXPECT_EQ(verdicts(allocation), (std::vector{Verdict::replay, Verdict::key_reused, Verdict::key_reused}));
}

TEST(AllocateTypes, AReplayIsJudgedByTheItemsNotTheirOrder) {
  const EventTypes types = event_types();
  Reservation vip_hold = stored(1, "vip", 2);
  vip_hold.items = {{kVip, 2, 9000}};
  Reservation tombstone = stored(2, "gone", 2, kReleased);  // released before its reserve: no items
  const std::unordered_map<std::string, Reservation> existing{{"vip", vip_hold}, {"gone", tombstone}};
  const Allocation allocation = allocate(kEvent, 10,
                                         {wants("vip", 2), wants_items("gone", {{kVip, 2}}),
                                          wants_items("new", {{kGeneral, 1}, {kVip, 1}}),
                                          wants_items("new", {{kVip, 1}, {kGeneral, 1}})},
                                         existing, {}, kNow, true, &types);
  // Two of the default type are not the hold's two VIP tickets; the tombstone answers whatever its items.
  EXPECT_EQ(verdicts(allocation), (std::vector{Verdict::key_reused, Verdict::replay, Verdict::take, Verdict::replay}));
}

TEST(SettleTypes, ReleaseExpiryAndConfirmAreCountedByType) {
  LockedHold released = locked(1, 3, kHeld, true);
  released.reservation.items = {{kGeneral, 1, 0}, {kVip, 2, 0}};
  LockedHold confirmed = locked(2, 1, kHeld, true);
  confirmed.reservation.items = {{kVip, 1, 0}};
  const Settlement settlement = settle({{SettleKind::release, 1}, {SettleKind::confirm, 2}}, {released, confirmed},
                                       {{3, 2, {{kVip, 2, 0}}}});
  EXPECT_EQ(settlement.restocked_tickets, 5);
  EXPECT_EQ(settlement.sold_tickets, 1);
  EXPECT_EQ(settlement.types.at(kVip).restocked_tickets, 4);
  EXPECT_EQ(settlement.types.at(kVip).sold_tickets, 1);
  EXPECT_EQ(settlement.types.at(kGeneral).restocked_tickets, 1);
}

}  // namespace
}  // namespace flashtix::inventory
