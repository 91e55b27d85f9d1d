// Inventory request parsing: defaults, bounds, and the id-or-key rule.
#include "inventory/reservation.hpp"

#include <gtest/gtest.h>

#include "core/buyer.hpp"
#include "core/events.hpp"
#include "core/uuid.hpp"
#include "inventory/inventory.hpp"

namespace flashtix::inventory {
namespace {

const Limits kLimits{};

TEST(ParseReserve, SeedBodyGetsDefaults) {
  auto parsed = parse_reserve(R"({"event_id": 1, "quantity": 1})", kLimits);
  ASSERT_TRUE(std::holds_alternative<ReserveCommand>(parsed));
  const auto& command = std::get<ReserveCommand>(parsed);
  EXPECT_EQ(command.event_id, 1);
  EXPECT_EQ(command.quantity, 1);
  EXPECT_EQ(command.hold_seconds, 600);
  EXPECT_TRUE(core::is_uuid(command.key));
}

TEST(ParseReserve, KeepsClientKeyAndHold) {
  auto parsed = parse_reserve(R"({"event_id": 7, "reservation_key": "order-1", "hold_seconds": 5})", kLimits);
  ASSERT_TRUE(std::holds_alternative<ReserveCommand>(parsed));
  EXPECT_EQ(std::get<ReserveCommand>(parsed).key, "order-1");
  EXPECT_EQ(std::get<ReserveCommand>(parsed).quantity, 1);
  EXPECT_EQ(std::get<ReserveCommand>(parsed).hold_seconds, 5);
}

TEST(ParseReserve, RefusesOutOfBounds) {
  for (const char* body : {R"({"event_id": 1, "quantity": 0})", R"({"event_id": 1, "quantity": 11})",
                           R"({"event_id": 0})", R"({"quantity": 1})", R"({"event_id": "1"})",
                           R"({"event_id": 1, "hold_seconds": 0})", R"({"event_id": 1, "hold_seconds": 3601})",
                           R"({"event_id": 1, "reservation_key": ""})", R"({"event_id": 1, "reservation_key": 5})"}) {
    auto parsed = parse_reserve(body, kLimits);
    ASSERT_TRUE(std::holds_alternative<core::Problem>(parsed)) << body;
    EXPECT_EQ(std::get<core::Problem>(parsed).code, "invalid_request") << body;
  }
  auto too_long = parse_reserve(R"({"event_id": 1, "reservation_key": ")" + std::string(129, 'k') + "\"}", kLimits);
  EXPECT_TRUE(std::holds_alternative<core::Problem>(too_long));
}

TEST(ParseReserve, MaxQuantityIsConfigurable) {
  Limits limits;
  limits.max_tickets_per_hold = 2;
  EXPECT_TRUE(std::holds_alternative<core::Problem>(parse_reserve(R"({"event_id": 1, "quantity": 3})", limits)));
  EXPECT_TRUE(std::holds_alternative<ReserveCommand>(parse_reserve(R"({"event_id": 1, "quantity": 2})", limits)));
}

TEST(ParseHoldRef, ExactlyOneOfIdOrKey) {
  EXPECT_TRUE(std::holds_alternative<HoldRef>(parse_hold_ref(R"({"reservation_id": 3})")));
  EXPECT_TRUE(std::holds_alternative<HoldRef>(parse_hold_ref(R"({"reservation_key": "k"})")));
  EXPECT_TRUE(std::holds_alternative<core::Problem>(parse_hold_ref(R"({})")));
  EXPECT_TRUE(std::holds_alternative<core::Problem>(parse_hold_ref(R"({"reservation_id": 3, "reservation_key": "k"})")));
  EXPECT_TRUE(std::holds_alternative<core::Problem>(parse_hold_ref(R"({"reservation_id": "3"})")));
}

TEST(ParseCreateEvent, NameAndStockBounds) {
  EXPECT_TRUE(std::holds_alternative<CreateEvent>(parse_create_event(R"({"name": "A", "total_tickets": 0})", kLimits)));
  EXPECT_TRUE(std::holds_alternative<core::Problem>(parse_create_event(R"({"name": "", "total_tickets": 1})", kLimits)));
  EXPECT_TRUE(std::holds_alternative<core::Problem>(parse_create_event(R"({"name": "A", "total_tickets": -1})", kLimits)));
  EXPECT_TRUE(
      std::holds_alternative<core::Problem>(parse_create_event(R"({"name": "A", "total_tickets": 10000001})", kLimits)));
}

TEST(ToJson, ReservationShape) {
  Reservation reservation{5, "k", 1, 2, std::string(kHeld), 0, 0, "not answered", {{3, 2, 4500}}, 9000, "EUR"};
  const auto object = to_json(reservation);
  EXPECT_EQ(object.at("reservation_id").as_int64(), 5);
  EXPECT_EQ(object.at("status").as_string(), "HELD");
  EXPECT_EQ(object.at("expires_at").as_string(), "1970-01-01T00:00:00.000Z");
  // The digest of the hold's secret is never part of an answer.
  EXPECT_FALSE(object.contains("secret_sha256"));
  EXPECT_EQ(core::json::serialize(object).find("not answered"), std::string::npos);
}

TEST(ParseReserve, TheBuyerIsKeptOnlyAsTheDigestOfItsAddress) {
  const auto parsed = parse_reserve(R"({"event_id": 1, "buyer": " Ada@Example.com"})", kLimits);
  ASSERT_TRUE(std::holds_alternative<ReserveCommand>(parsed));
  EXPECT_EQ(std::get<ReserveCommand>(parsed).buyer_digest, core::buyer_digest("ada@example.com"));
  EXPECT_TRUE(std::holds_alternative<core::Problem>(parse_reserve(R"({"event_id": 1, "buyer": "ada"})", kLimits)));
  EXPECT_TRUE(std::holds_alternative<core::Problem>(parse_reserve(R"({"event_id": 1, "buyer": 5})", kLimits)));
  EXPECT_FALSE(std::get<ReserveCommand>(parse_reserve(R"({"event_id": 1})", kLimits)).buyer_digest);
}

TEST(ParseCreateEvent, APerBuyerLimitIsPositive) {
  const auto limited = parse_create_event(R"({"name": "A", "total_tickets": 5, "max_tickets_per_buyer": 2})", kLimits);
  ASSERT_TRUE(std::holds_alternative<CreateEvent>(limited));
  EXPECT_EQ(std::get<CreateEvent>(limited).max_tickets_per_buyer, 2);
  EXPECT_TRUE(std::holds_alternative<core::Problem>(
      parse_create_event(R"({"name": "A", "total_tickets": 5, "max_tickets_per_buyer": 0})", kLimits)));
}

TEST(ParseCreateEvent, ASalesWindowIsTwoDateTimesInOrder) {
  const auto window = parse_create_event(
      R"({"name": "A", "total_tickets": 5, "sales_start": "2026-12-05T18:00:00+01:00", "sales_end": "2026-12-05T18:30:00Z"})",
      kLimits);
  ASSERT_TRUE(std::holds_alternative<CreateEvent>(window));
  EXPECT_EQ(std::get<CreateEvent>(window).sales, (SalesWindow{1796490000000, 1796495400000}));
  const auto open = parse_create_event(R"({"name": "A", "total_tickets": 5, "sales_start": null})", kLimits);
  ASSERT_TRUE(std::holds_alternative<CreateEvent>(open));
  EXPECT_EQ(std::get<CreateEvent>(open).sales, SalesWindow{});
  for (const char* bad : {R"({"name": "A", "total_tickets": 5, "sales_start": "tomorrow"})",
                          R"({"name": "A", "total_tickets": 5, "sales_end": 1796490000})",
                          R"({"name": "A", "total_tickets": 5, "sales_start": "2026-12-05T18:00:00Z", "sales_end": "2026-12-05T18:00:00Z"})",
                          R"({"name": "A", "total_tickets": 5, "sales_start": "2026-12-05T18:00:01Z", "sales_end": "2026-12-05T18:00:00Z"})"}) {
    EXPECT_TRUE(std::holds_alternative<core::Problem>(parse_create_event(bad, kLimits))) << bad;
  }
}

TEST(ParseChangeSalesWindow, AnInstantSetsANullClearsAnAbsentKeeps) {
  const auto both = parse_change_sales_window(R"({"sales_start": "2026-12-05T17:00:00Z", "sales_end": null})");
  ASSERT_TRUE(std::holds_alternative<ChangeSalesWindow>(both));
  EXPECT_EQ(std::get<ChangeSalesWindow>(both).start_ms, std::optional<std::optional<std::int64_t>>(1796490000000));
  ASSERT_TRUE(std::get<ChangeSalesWindow>(both).end_ms.has_value());  // given, as null: cleared
  EXPECT_FALSE(std::get<ChangeSalesWindow>(both).end_ms->has_value());
  const auto end_only = parse_change_sales_window(R"({"sales_end": "2026-12-05T17:00:00Z"})");
  ASSERT_TRUE(std::holds_alternative<ChangeSalesWindow>(end_only));
  EXPECT_FALSE(std::get<ChangeSalesWindow>(end_only).start_ms.has_value());
  for (const char* bad : {"{}", R"({"name": "B"})", R"({"sales_start": 5})", R"({"sales_start": "soon"})",
                          R"({"sales_start": "2026-12-05T17:00:00Z", "sales_end": "2026-12-05T16:00:00Z"})", "[]"}) {
    EXPECT_TRUE(std::holds_alternative<core::Problem>(parse_change_sales_window(bad))) << bad;
  }
}

// The reset's trigger writes hold.voided from SQL (db/inventory/003), the one event type not written by
// C++ with the contract's constant; an applied migration is never edited, so this holds them together.
TEST(ResetTrigger, AnnouncesVoidedHoldsUnderTheContractsName) {
  const std::string quoted = "'" + std::string(core::events::HoldVoided::kType) + "'";
  bool announced = false;
  for (const core::Migration& migration : migrations()) {
    announced = announced || migration.sql.find(quoted) != std::string_view::npos;
  }
  EXPECT_TRUE(announced) << "no migration writes " << quoted;
}

TEST(ParseTicketTypes, AnEventsTypesAndAChangeOfOne) {
  const Limits limits;
  const auto made = parse_create_event(
      R"({"name": "x", "total_tickets": 5, "currency": "JPY",
          "ticket_types": [{"name": "A", "price_minor": 100, "quota": 3, "max_per_order": 2}, {"name": "B", "price_minor": 0}]})",
      limits);
  ASSERT_TRUE(std::holds_alternative<CreateEvent>(made));
  const CreateEvent& event = std::get<CreateEvent>(made);
  EXPECT_EQ(event.currency, "JPY");
  ASSERT_EQ(event.ticket_types.size(), 2u);
  EXPECT_EQ(event.ticket_types[0].quota, 3);
  EXPECT_EQ(event.ticket_types[0].max_per_order, 2);
  EXPECT_FALSE(event.ticket_types[1].quota.has_value());
  const auto plain = parse_create_event(R"({"name": "x", "total_tickets": 5, "price_minor": 2500})", limits);
  ASSERT_TRUE(std::holds_alternative<CreateEvent>(plain));
  ASSERT_EQ(std::get<CreateEvent>(plain).ticket_types.size(), 1u);
  EXPECT_EQ(std::get<CreateEvent>(plain).ticket_types[0].price_minor, 2500);

  const auto change = parse_change_ticket_type(R"({"quota": null, "price_minor": 7})", limits);
  ASSERT_TRUE(std::holds_alternative<ChangeTicketType>(change));
  // Given as null: the quota is cleared, not kept.
  ASSERT_TRUE(std::get<ChangeTicketType>(change).quota.has_value());
  EXPECT_FALSE(std::get<ChangeTicketType>(change).quota->has_value());
  EXPECT_EQ(std::get<ChangeTicketType>(change).price_minor, 7);
  EXPECT_FALSE(std::get<ChangeTicketType>(change).max_per_order.has_value());
  for (const char* bad : {"{}", R"({"price_minor": -1})", R"({"name": ""})", R"({"quota": "x"})", R"({"sales_start": "soon"})",
                          R"({"min_per_order": 0})"}) {
    EXPECT_TRUE(std::holds_alternative<core::Problem>(parse_change_ticket_type(bad, limits))) << bad;
  }
}

TEST(ParseReserve, ItemsByTypeInsteadOfAQuantity) {
  const Limits limits;
  const auto parsed = parse_reserve(R"({"event_id": 1, "items": [{"ticket_type_id": 4, "quantity": 2}, {"ticket_type_id": 5, "quantity": 1}]})", limits);
  ASSERT_TRUE(std::holds_alternative<ReserveCommand>(parsed));
  EXPECT_EQ(std::get<ReserveCommand>(parsed).quantity, 3);
  EXPECT_EQ(std::get<ReserveCommand>(parsed).items, (std::vector<ItemRequest>{{4, 2}, {5, 1}}));
  for (const char* bad : {R"({"event_id": 1, "items": []})", R"({"event_id": 1, "quantity": 1, "items": [{"ticket_type_id": 4, "quantity": 1}]})",
                          R"({"event_id": 1, "items": [{"ticket_type_id": 4, "quantity": 9}, {"ticket_type_id": 5, "quantity": 9}]})",
                          R"({"event_id": 1, "items": [{"ticket_type_id": 4, "quantity": 1}, {"ticket_type_id": 4, "quantity": 1}]})"}) {
    EXPECT_TRUE(std::holds_alternative<core::Problem>(parse_reserve(bad, limits))) << bad;
  }
}

}  // namespace
}  // namespace flashtix::inventory
