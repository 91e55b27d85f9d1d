// Ticket types: what an event sells, at what price, out of which quota. Types share the event's capacity;
// a hold over several types is all or nothing; a type's own window and bounds are kept; under a storm
// neither a type nor the event is oversold, and the books of both balance.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "inventory_harness.hpp"
#include "inventory_storm.hpp"
#include "support/clock.hpp"
#include "support/credentials.hpp"

namespace flashtix::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

using InventoryTypes = LedgerCheckedTest;

json::object type_of(const TypedEvent& event, std::int64_t type_id) {
  const json::value shown = get("/events/" + std::to_string(event.id)).json();
  for (const json::value& type : shown.at("ticket_types").as_array()) {
    if (int_field(type, "id") == type_id) return type.as_object();
  }
  throw std::runtime_error("no type " + std::to_string(type_id) + " in " + json::serialize(shown));
}

json::array items(std::initializer_list<std::pair<std::int64_t, std::int64_t>> wanted) {
  json::array array;
  for (const auto& [type, quantity] : wanted) array.push_back(json::object{{"ticket_type_id", type}, {"quantity", quantity}});
  return array;
}

HttpResponse reserve_items(std::int64_t event, json::array wanted, json::object more = {}) {
  json::object body{{"event_id", event}, {"items", std::move(wanted)}};
  for (const auto& member : more) body[member.key()] = member.value();
  return post("/inventory/reserve", body);
}

// 20 reserves of `wanted` while another session holds the event's row, which any batch would wait for:
// each is refused 409 `code` (and passes `check`), all within 400 ms, so from the desk's memory.
void refused_with_the_row_held(std::int64_t event_id, const json::array& wanted, std::string_view code,
                               const std::function<void(const json::value&)>& check) {
  auto blocker = pg().session();
  blocker->exec("BEGIN; SELECT 1 FROM inventory.events WHERE id = " + std::to_string(event_id) + " FOR UPDATE");
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    const HttpResponse refused = reserve_items(event_id, wanted);
    ASSERT_TRUE(is_problem(refused, 409, code)) << refused.describe();
    check(refused.json());
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, 400ms) << "the refusals waited for the event's row";
  blocker->exec("COMMIT");
}

json::array general_and_vip(std::int64_t vip_quota) {
  return json::array{json::object{{"name", "General"}, {"price_minor", 4500}},
                     json::object{{"name", "VIP"}, {"price_minor", 9000}, {"quota", vip_quota}, {"max_per_order", 2}}};
}

TEST_F(InventoryTypes, AnEventAnswersItsTypesWithPricesAndWhatEachCanStillSell) {
  const TypedEvent event = create_typed_event(10, general_and_vip(3), {{"currency", "CHF"}});
  const HttpResponse response = get("/events/" + std::to_string(event.id));
  ASSERT_TRUE(is_json(response, 200));
  const json::value body = response.json();
  EXPECT_EQ(string_field(body, "currency"), "CHF");
  const json::array& types = body.at("ticket_types").as_array();
  ASSERT_EQ(types.size(), 2u);
  EXPECT_EQ(string_field(types[0], "name"), "General");
  EXPECT_TRUE(types[0].at("default").as_bool());
  EXPECT_EQ(int_field(types[0], "price_minor"), 4500);
  EXPECT_EQ(int_field(types[0], "available_tickets"), 10);
  EXPECT_TRUE(is_null_field(types[0], "quota"));
  EXPECT_EQ(string_field(types[1], "currency"), "CHF");
  EXPECT_FALSE(types[1].at("default").as_bool());
  EXPECT_EQ(int_field(types[1], "quota"), 3);
  EXPECT_EQ(int_field(types[1], "available_tickets"), 3);
  EXPECT_EQ(int_field(types[1], "max_per_order"), 2);

  // An event made without types sells one free default type, as events always did.
  const HttpResponse free = post("/events", json::object{{"name", unique_name()}, {"total_tickets", 5}});
  ASSERT_TRUE(is_json(free, 201)) << free.describe();
  const json::value plain = get("/events/" + std::to_string(int_field(free.json(), "id"))).json();
  const json::array& only = plain.at("ticket_types").as_array();
  ASSERT_EQ(only.size(), 1u);
  EXPECT_TRUE(only[0].at("default").as_bool());
  EXPECT_EQ(int_field(only[0], "price_minor"), 0);
}

// The first type given becomes the default the event was made with; a later one may take the default's old
// name (this was a 500: the other types were added before the default was renamed).
TEST_F(InventoryTypes, ALaterTypeMayTakeTheDefaultTypesFirstName) {
  const TypedEvent event = create_typed_event(
      10, json::array{json::object{{"name", "VIP"}, {"price_minor", 9000}},
                      json::object{{"name", "General admission"}, {"price_minor", 4500}}});
  EXPECT_EQ(event.type_ids.size(), 2u);
  const json::object vip = type_of(event, event.type_ids.at("VIP"));
  EXPECT_TRUE(vip.at("default").as_bool());
  EXPECT_FALSE(type_of(event, event.type_ids.at("General admission")).at("default").as_bool());
}

TEST_F(InventoryTypes, AHoldOverTwoTypesIsAllOrNothingAndPricedByItsItems) {
  const TypedEvent event = create_typed_event(10, general_and_vip(1));
  const std::int64_t general = event.type_ids.at("General");
  const std::int64_t vip = event.type_ids.at("VIP");

  const std::string before = db_snapshot();
  const HttpResponse refused = reserve_items(event.id, items({{general, 2}, {vip, 2}}));
  ASSERT_TRUE(is_problem(refused, 409, "sold_out")) << refused.describe();
  EXPECT_EQ(int_field(refused.json(), "ticket_type_id"), vip);
  EXPECT_EQ(int_field(refused.json(), "available_tickets"), 1);
  EXPECT_EQ(db_snapshot(), before) << "a refused hold took tickets of a type";

  const HttpResponse held = reserve_items(event.id, items({{general, 2}, {vip, 1}}));
  ASSERT_TRUE(is_json(held, 200)) << held.describe();
  const json::value hold = held.json();
  EXPECT_EQ(int_field(hold, "quantity"), 3);
  EXPECT_EQ(int_field(hold, "amount_minor"), 2 * 4500 + 9000);
  EXPECT_EQ(string_field(hold, "currency"), "EUR");
  const json::array& lines = hold.at("items").as_array();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(int_field(lines[0], "ticket_type_id"), general);
  EXPECT_EQ(int_field(lines[0], "unit_price_minor"), 4500);
  EXPECT_EQ(int_field(lines[1], "ticket_type_id"), vip);
  EXPECT_EQ(int_field(lines[1], "quantity"), 1);
  EXPECT_EQ(int_field(type_of(event, vip), "available_tickets"), 0);
  EXPECT_EQ(int_field(type_of(event, general), "available_tickets"), 7);
  EXPECT_EQ(api_counts(event.id), (EventCounts{10, 7, 3, 0}));

  // The original body takes the default type, at its price.
  const HttpResponse plain = post("/inventory/reserve", json::object{{"event_id", event.id}, {"quantity", 2}});
  ASSERT_TRUE(is_json(plain, 200)) << plain.describe();
  EXPECT_EQ(int_field(plain.json(), "amount_minor"), 9000);
  EXPECT_EQ(int_field(plain.json().at("items").as_array()[0], "ticket_type_id"), general);

  // Released, the hold gives each type back its tickets.
  const HttpResponse released =
      http_request(inventory_port(), "POST", "/inventory/release",
                   json::serialize(json::object{{"reservation_id", int_field(hold, "reservation_id")}}),
                   {{"Authorization", bearer(string_field(hold, "hold_secret"))}});
  ASSERT_TRUE(is_json(released, 200)) << released.describe();
  EXPECT_EQ(int_field(type_of(event, vip), "available_tickets"), 1);
  EXPECT_EQ(api_counts(event.id), (EventCounts{10, 8, 2, 0}));
}

TEST_F(InventoryTypes, TypesShareTheEventsCapacity) {
  // VIP's quota is 5, but the event has 3 tickets: selling VIP lowers what General has left, and back.
  const TypedEvent event = create_typed_event(3, general_and_vip(5));
  const std::int64_t general = event.type_ids.at("General");
  const std::int64_t vip = event.type_ids.at("VIP");
  ASSERT_TRUE(is_json(reserve_items(event.id, items({{vip, 2}})), 200));
  EXPECT_EQ(int_field(type_of(event, general), "available_tickets"), 1);
  EXPECT_EQ(int_field(type_of(event, vip), "available_tickets"), 1);
  const HttpResponse refused = reserve_items(event.id, items({{general, 2}}));
  ASSERT_TRUE(is_problem(refused, 409, "sold_out")) << refused.describe();
  EXPECT_FALSE(refused.json().as_object().contains("ticket_type_id")) << "the event ran short, not the type";
  ASSERT_TRUE(is_json(reserve_items(event.id, items({{general, 1}})), 200));
  EXPECT_TRUE(is_problem(reserve_items(event.id, items({{vip, 1}})), 409, "sold_out"));
}

TEST_F(InventoryTypes, ATypeSellsOnlyInsideItsOwnWindow) {
  const std::string opening = utc_in(2500ms);
  const TypedEvent event = create_typed_event(
      10, json::array{json::object{{"name", "General"}, {"price_minor", 100}},
                      json::object{{"name", "Late"}, {"price_minor", 200}, {"sales_start", opening}}});
  const std::int64_t late = event.type_ids.at("Late");
  const HttpResponse early = reserve_items(event.id, items({{late, 1}}));
  ASSERT_TRUE(is_problem(early, 409, "not_on_sale")) << early.describe();
  EXPECT_EQ(int_field(early.json(), "ticket_type_id"), late);
  EXPECT_FALSE(is_null_field(early.json(), "sales_start"));
  // The event itself sells meanwhile.
  EXPECT_TRUE(is_json(reserve_items(event.id, items({{event.type_ids.at("General"), 1}})), 200));
  sleep_until_utc(opening);
  EXPECT_TRUE(is_json(reserve_items(event.id, items({{late, 1}})), 200));
}

// Before a type opens, its crowd is refused from memory once a batch has read its window: no lock, no
// queue. Shown with the event's row held by another session, which any batch would wait for.
TEST_F(InventoryTypes, ACrowdBeforeATypeOpensIsRefusedWithoutTheRowLock) {
  const TypedEvent event = create_typed_event(
      10, json::array{json::object{{"name", "General"}, {"price_minor", 100}},
                      json::object{{"name", "Late"}, {"price_minor", 200}, {"sales_start", utc_in(1h)}}});
  const std::int64_t late = event.type_ids.at("Late");
  ASSERT_TRUE(is_problem(reserve_items(event.id, items({{late, 1}})), 409, "not_on_sale"));
  refused_with_the_row_held(event.id, items({{late, 1}}), "not_on_sale",
                            [&](const json::value& refused) { EXPECT_EQ(int_field(refused, "ticket_type_id"), late); });
}

// A type sold out while its event still sells: its crowd is refused from memory too (no lock, no queue),
// the other type still sells, and a ticket the type gets back through this instance is sold again at once.
TEST_F(InventoryTypes, ASoldOutTypeIsRefusedWithoutTheRowLockWhileItsEventSells) {
  const TypedEvent event = create_typed_event(10, general_and_vip(2));
  const std::int64_t general = event.type_ids.at("General");
  const std::int64_t vip = event.type_ids.at("VIP");
  const HttpResponse held = reserve_items(event.id, items({{vip, 2}}));
  ASSERT_TRUE(is_json(held, 200)) << held.describe();
  refused_with_the_row_held(event.id, items({{vip, 1}}), "sold_out", [&](const json::value& refused) {
    EXPECT_EQ(int_field(refused, "ticket_type_id"), vip);
    EXPECT_EQ(int_field(refused, "available_tickets"), 0);
  });

  ASSERT_TRUE(is_json(reserve_items(event.id, items({{general, 1}})), 200));
  const HttpResponse released =
      http_request(inventory_port(), "POST", "/inventory/release",
                   json::serialize(json::object{{"reservation_id", int_field(held.json(), "reservation_id")}}),
                   {{"Authorization", bearer(string_field(held.json(), "hold_secret"))}});
  ASSERT_TRUE(is_json(released, 200)) << released.describe();
  const HttpResponse again = reserve_items(event.id, items({{vip, 2}}));
  EXPECT_TRUE(is_json(again, 200)) << again.describe();
}

// No hold may cost more than one order is charged at most (10^12 minor units, what payments accepts): with
// --max-quantity above 10 the dearest tickets could pass it, and the hold would stand unpayable. Refused at
// the reserve, taking nothing; the bound itself still sells.
TEST_F(InventoryTypes, AHoldDearerThanAnOrderMayBeChargedIsRefusedAndTakesNothing) {
  auto generous = start_on_test_database("flashtix-inventory", {{"FLASHTIX_MAX_QUANTITY", "11"}});
  const TypedEvent event =
      create_typed_event(20, json::array{json::object{{"name", "Crown"}, {"price_minor", 100'000'000'000}}});
  const std::int64_t crown = event.type_ids.at("Crown");
  const auto reserve = [&](std::int64_t quantity) {
    return http_request(generous->port(), "POST", "/inventory/reserve",
                        json::serialize(json::object{{"event_id", event.id}, {"items", items({{crown, quantity}})}}));
  };
  const HttpResponse refused = reserve(11);
  ASSERT_TRUE(is_problem(refused, 400, "amount_out_of_range")) << refused.describe();
  EXPECT_EQ(int_field(refused.json(), "amount_minor"), 1'100'000'000'000);
  EXPECT_EQ(int_field(refused.json(), "max_amount_minor"), 1'000'000'000'000);
  EXPECT_EQ(api_counts(event.id), (EventCounts{20, 20, 0, 0}));
  const HttpResponse bound = reserve(10);
  ASSERT_TRUE(is_json(bound, 200)) << bound.describe();
  EXPECT_EQ(int_field(bound.json(), "amount_minor"), 1'000'000'000'000);
  EXPECT_EQ(generous->stop(), 0) << generous->log_tail();
}

// A hold of the default type alone, while that type has no quota, stores no items (NULL arrays: less to
// write a hold), yet every answer names its item as before: the new hold, its replay, and a read by id. A
// hold of another type, or of a default type with a quota, stores its items.
TEST_F(InventoryTypes, ADefaultTypeHoldStoresNoItemsButAnswersThem) {
  const TypedEvent event = create_typed_event(10, general_and_vip(3));
  const std::int64_t general = event.type_ids.at("General");
  const std::int64_t vip = event.type_ids.at("VIP");
  const json::array general_item{json::object{{"ticket_type_id", general}, {"quantity", 2}, {"unit_price_minor", 4500}}};
  const auto stored_items = [](const json::value& hold) {
    return pg().admin_query("SELECT coalesce(item_type_ids::text, 'none') FROM inventory.reservations WHERE id = " +
                            std::to_string(int_field(hold, "reservation_id")))[0][0];
  };
  const json::object plain{{"event_id", event.id}, {"quantity", 2}, {"reservation_key", "default-" + std::to_string(event.id)}};
  const HttpResponse made = post("/inventory/reserve", plain);
  ASSERT_TRUE(is_json(made, 200)) << made.describe();
  EXPECT_EQ(made.json().at("items"), general_item);
  EXPECT_EQ(int_field(made.json(), "amount_minor"), 9000);
  EXPECT_EQ(stored_items(made.json()), "none");
  const HttpResponse replayed = post("/inventory/reserve", plain);
  ASSERT_TRUE(is_json(replayed, 200)) << replayed.describe();
  EXPECT_EQ(replayed.json().at("items"), general_item);
  EXPECT_EQ(int_field(replayed.json(), "reservation_id"), int_field(made.json(), "reservation_id"));
  const HttpResponse read = get("/inventory/reservations/" + std::to_string(int_field(made.json(), "reservation_id")));
  ASSERT_TRUE(is_json(read, 200)) << read.describe();
  EXPECT_EQ(read.json().at("items"), general_item);
  // The same order named by its item is the same request.
  json::object named = plain;
  named.erase("quantity");
  named["items"] = items({{general, 2}});
  EXPECT_TRUE(is_json(post("/inventory/reserve", named), 200));

  const HttpResponse dear = reserve_items(event.id, items({{vip, 1}}));
  ASSERT_TRUE(is_json(dear, 200)) << dear.describe();
  EXPECT_EQ(stored_items(dear.json()), "{" + std::to_string(vip) + "}");
  const TypedEvent counted = create_typed_event(
      10, json::array{json::object{{"name", "Seat"}, {"price_minor", 100}, {"quota", 5}}});
  const HttpResponse quota = post("/inventory/reserve", json::object{{"event_id", counted.id}, {"quantity", 1}});
  ASSERT_TRUE(is_json(quota, 200)) << quota.describe();
  EXPECT_EQ(stored_items(quota.json()), "{" + std::to_string(counted.type_ids.at("Seat")) + "}");
  EXPECT_EQ(int_field(type_of(counted, counted.type_ids.at("Seat")), "available_tickets"), 4);
}

TEST_F(InventoryTypes, BadItemsAndBadTypesAreRefusedAndChangeNothing) {
  const TypedEvent event = create_typed_event(10, general_and_vip(3));
  const std::int64_t vip = event.type_ids.at("VIP");
  const TypedEvent other = create_typed_event(10, general_and_vip(3));
  const std::string before = db_snapshot();
  EXPECT_TRUE(is_problem(reserve_items(event.id, items({{other.type_ids.at("VIP"), 1}})), 404, "ticket_type_not_found"));
  EXPECT_TRUE(is_problem(reserve_items(event.id, items({{999999999, 1}})), 404, "ticket_type_not_found"));
  const HttpResponse too_many = reserve_items(event.id, items({{vip, 3}}));
  EXPECT_TRUE(is_problem(too_many, 400, "quantity_out_of_range")) << too_many.describe();
  EXPECT_TRUE(is_problem(reserve_items(event.id, items({{vip, 1}, {vip, 1}})), 400, "invalid_request"));
  EXPECT_TRUE(is_problem(reserve_items(event.id, items({{vip, 1}}), {{"quantity", 1}}), 400, "invalid_request"));
  EXPECT_TRUE(is_problem(reserve_items(event.id, json::array{}), 400, "invalid_request"));
  EXPECT_TRUE(is_problem(reserve_items(event.id, json::array{json::object{{"ticket_type_id", vip}}}), 400,
                         "invalid_request"));
  EXPECT_TRUE(is_problem(post("/inventory/reserve", json::object{{"event_id", event.id}, {"items", "VIP"}}), 400,
                         "invalid_request"));
  const auto made = [](json::object body) { return post("/events", body); };
  const json::object bad_types[] = {
      {{"name", "x"}, {"total_tickets", 1}, {"currency", "XYZ"}},
      {{"name", "x"}, {"total_tickets", 1}, {"currency", "eur"}},
      {{"name", "x"}, {"total_tickets", 1}, {"ticket_types", json::array{}}},
      {{"name", "x"}, {"total_tickets", 1}, {"ticket_types", general_and_vip(1)}, {"price_minor", 5}},
      {{"name", "x"},
       {"total_tickets", 1},
       {"ticket_types", json::array{json::object{{"name", "A"}, {"price_minor", 1}},
                                    json::object{{"name", "A"}, {"price_minor", 2}}}}},
      {{"name", "x"}, {"total_tickets", 1}, {"ticket_types", json::array{json::object{{"name", "A"}, {"price_minor", -1}}}}},
      {{"name", "x"}, {"total_tickets", 1}, {"ticket_types", json::array{json::object{{"name", "A"}}}}},
      {{"name", "x"},
       {"total_tickets", 1},
       {"ticket_types", json::array{json::object{{"name", "A"}, {"price_minor", 1}, {"min_per_order", 3}, {"max_per_order", 2}}}}},
  };
  for (const json::object& body : bad_types) EXPECT_TRUE(is_problem(made(body), 400, "invalid_request")) << json::serialize(body);
  EXPECT_EQ(db_snapshot(), before);
}

TEST_F(InventoryTypes, OnlyTheAdminAddsATypeAndTheNewTypeSells) {
  const TypedEvent event = create_typed_event(10, general_and_vip(3));
  const std::string target = "/events/" + std::to_string(event.id) + "/ticket_types";
  const json::object body{{"name", "Balcony"}, {"price_minor", 3000}, {"quota", 2}};
  const std::string before = db_snapshot();
  EXPECT_TRUE(is_problem(http_request(inventory_port(), "POST", target, json::serialize(body), {{"Authorization", ""}}),
                         401, "unauthenticated"));
  EXPECT_TRUE(is_problem(http_request(inventory_port(), "POST", target, json::serialize(body),
                                      {{"Authorization", bearer(test_tokens().service)}}),
                         403, "forbidden"));
  EXPECT_EQ(db_snapshot(), before);

  const HttpResponse added = post(target, body);
  ASSERT_TRUE(is_json(added, 201)) << added.describe();
  const std::int64_t balcony = int_field(added.json(), "id");
  EXPECT_EQ(int_field(added.json(), "available_tickets"), 2);
  EXPECT_TRUE(is_problem(post(target, body), 409, "ticket_type_not_added"));
  EXPECT_TRUE(is_problem(post("/events/999999999/ticket_types", body), 404, "event_not_found"));
  const HttpResponse held = reserve_items(event.id, items({{balcony, 2}}));
  ASSERT_TRUE(is_json(held, 200)) << held.describe();
  EXPECT_EQ(int_field(held.json(), "amount_minor"), 6000);
  EXPECT_TRUE(is_problem(reserve_items(event.id, items({{balcony, 1}})), 409, "sold_out"));
}

TEST_F(InventoryTypes, ExpiryGivesATypeItsTicketsBack) {
  const TypedEvent event = create_typed_event(10, general_and_vip(2));
  const std::int64_t vip = event.type_ids.at("VIP");
  ASSERT_TRUE(is_json(reserve_items(event.id, items({{vip, 2}}), {{"hold_seconds", 1}}), 200));
  EXPECT_EQ(int_field(type_of(event, vip), "available_tickets"), 0);
  EXPECT_TRUE(eventually(10s, [&] { return int_field(type_of(event, vip), "available_tickets") == 2; }));
  EXPECT_EQ(api_counts(event.id), (EventCounts{10, 10, 0, 0}));
}

TEST_F(InventoryTypes, TheDocumentedResetMakesEveryQuotaWholeAgain) {
  const TypedEvent event = create_typed_event(10, general_and_vip(3));
  const std::int64_t vip = event.type_ids.at("VIP");
  ASSERT_TRUE(is_json(reserve_items(event.id, items({{vip, 2}})), 200));
  pg().admin_query("UPDATE inventory.events SET available_tickets = 10, total_tickets = 10 WHERE id = " +
                   std::to_string(event.id));
  EXPECT_EQ(int_field(type_of(event, vip), "available_tickets"), 3);
}

// A storm of holds over two types that share a small event: every answer is all or nothing, no type sells
// past its quota, the event not past its capacity, and what the answers granted is what left each stock.
TEST_F(InventoryTypes, AStormOverASharedCapacityOversellsNeitherATypeNorTheEvent) {
  const std::uint32_t seed = test_seed();
  std::mt19937 random(seed);
  const TypedEvent event = create_typed_event(
      50, json::array{json::object{{"name", "A"}, {"price_minor", 100}, {"quota", 30}, {"max_per_order", 3}},
                      json::object{{"name", "B"}, {"price_minor", 200}, {"quota", 30}, {"max_per_order", 3}}});
  const std::int64_t a = event.type_ids.at("A");
  const std::int64_t b = event.type_ids.at("B");
  std::vector<LoadRequest> requests;
  for (int i = 0; i < 400; ++i) {
    std::uniform_int_distribution<int> quantity(1, 3);
    json::array wanted;
    const int shape = static_cast<int>(random() % 3);
    if (shape != 1) wanted.push_back(json::object{{"ticket_type_id", a}, {"quantity", quantity(random)}});
    if (shape != 0) wanted.push_back(json::object{{"ticket_type_id", b}, {"quantity", quantity(random)}});
    requests.push_back(LoadRequest{"POST", "/inventory/reserve",
                                   json::serialize(json::object{{"event_id", event.id}, {"items", wanted}})});
  }
  const std::vector<LoadResult> results = run_load(inventory_port(), requests, 64);
  std::map<std::int64_t, std::int64_t> granted;
  std::int64_t granted_total = 0;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const json::value body = parse_or_null(results[i].body);
    if (results[i].status == 200) {
      std::int64_t sum = 0;
      for (const json::value& line : body.at("items").as_array()) {
        granted[int_field(line, "ticket_type_id")] += int_field(line, "quantity");
        sum += int_field(line, "quantity");
      }
      EXPECT_EQ(sum, int_field(body, "quantity")) << "seed " << seed;
      EXPECT_EQ(body.at("items").as_array().size(), parse_or_null(requests[i].body).at("items").as_array().size())
          << "a hold took part of its items";
      granted_total += sum;
    } else {
      EXPECT_TRUE(results[i].status == 409 && code_of(body) == "sold_out") << describe(results[i]) << " seed " << seed;
    }
  }
  EXPECT_LE(granted[a], 30) << "seed " << seed;
  EXPECT_LE(granted[b], 30) << "seed " << seed;
  EXPECT_LE(granted_total, 50) << "seed " << seed;
  const Rows counted = pg().admin_query("SELECT id, available_tickets FROM inventory.ticket_types WHERE id IN (" +
                                        std::to_string(a) + "," + std::to_string(b) + ") ORDER BY id");
  EXPECT_EQ(std::stoll(counted[0][1]), 30 - granted[a]) << "seed " << seed;
  EXPECT_EQ(std::stoll(counted[1][1]), 30 - granted[b]) << "seed " << seed;
  EXPECT_EQ(api_counts(event.id), (EventCounts{50, 50 - granted_total, granted_total, 0})) << "seed " << seed;
  // 400 requests of up to 6 tickets for 50: the event sells out, or nearly (a last request may not fit).
  EXPECT_GE(granted_total, 44) << "seed " << seed;
}

HttpResponse patch_type(std::int64_t event, std::int64_t type, const json::object& change,
                        const Headers& credential = {}) {
  return http_request(inventory_port(), "PATCH",
                      "/events/" + std::to_string(event) + "/ticket_types/" + std::to_string(type),
                      json::serialize(change), credential);
}

TEST_F(InventoryTypes, TheAdminChangesATypesPriceAndQuotaAndHoldsKeepTheirPrices) {
  const TypedEvent event = create_typed_event(20, general_and_vip(3));
  const std::int64_t vip = event.type_ids.at("VIP");
  const HttpResponse first = reserve_items(event.id, items({{vip, 2}}));
  ASSERT_TRUE(is_json(first, 200)) << first.describe();

  const std::string before = db_snapshot();
  EXPECT_TRUE(is_problem(patch_type(event.id, vip, {{"price_minor", 1}}, {{"Authorization", ""}}), 401, "unauthenticated"));
  EXPECT_TRUE(is_problem(patch_type(event.id, vip, {{"price_minor", 1}}, {{"Authorization", bearer(test_tokens().service)}}),
                         403, "forbidden"));
  // Below the two held: refused whole, the price with it.
  EXPECT_TRUE(is_problem(patch_type(event.id, vip, {{"quota", 1}, {"price_minor", 1}}), 409, "quota_below_taken"));
  EXPECT_TRUE(is_problem(patch_type(event.id, vip, {{"name", "General"}}), 409, "ticket_type_name_taken"));
  EXPECT_TRUE(is_problem(patch_type(event.id, vip, {{"min_per_order", 3}}), 400, "invalid_request"));
  EXPECT_TRUE(is_problem(patch_type(event.id, vip, json::object{}), 400, "invalid_request"));
  EXPECT_TRUE(is_problem(patch_type(event.id, 999999999, {{"price_minor", 1}}), 404, "ticket_type_not_found"));
  EXPECT_TRUE(is_problem(patch_type(999999999, vip, {{"price_minor", 1}}), 404, "event_not_found"));
  EXPECT_EQ(db_snapshot(), before);

  const HttpResponse changed = patch_type(event.id, vip, {{"quota", 5}, {"price_minor", 9900}});
  ASSERT_TRUE(is_json(changed, 200)) << changed.describe();
  EXPECT_EQ(int_field(changed.json(), "quota"), 5);
  EXPECT_EQ(int_field(changed.json(), "available_tickets"), 3);
  const HttpResponse second = reserve_items(event.id, items({{vip, 1}}));
  ASSERT_TRUE(is_json(second, 200)) << second.describe();
  EXPECT_EQ(int_field(second.json(), "amount_minor"), 9900);
  const HttpResponse first_again = get("/inventory/reservations/" + std::to_string(int_field(first.json(), "reservation_id")));
  // The first hold kept the price it was made at.
  ASSERT_TRUE(is_json(first_again, 200)) << first_again.describe();
  EXPECT_EQ(int_field(first_again.json(), "amount_minor"), 2 * 9000);

  // No quota any more: the event's capacity only.
  const HttpResponse unbounded = patch_type(event.id, vip, json::object{{"quota", nullptr}});
  ASSERT_TRUE(is_json(unbounded, 200)) << unbounded.describe();
  EXPECT_TRUE(is_null_field(unbounded.json(), "quota"));
  EXPECT_EQ(int_field(unbounded.json(), "available_tickets"), 17);
  // A quota again only before the sale: its held tickets are counted nowhere now.
  EXPECT_TRUE(is_problem(patch_type(event.id, vip, {{"quota", 4}}), 409, "quota_not_settable"));
  const TypedEvent unsold = create_typed_event(20, general_and_vip(3));
  const std::int64_t general = unsold.type_ids.at("General");
  const HttpResponse bounded = patch_type(unsold.id, general, {{"quota", 4}});
  ASSERT_TRUE(is_json(bounded, 200)) << bounded.describe();
  EXPECT_EQ(int_field(bounded.json(), "available_tickets"), 4);
  ASSERT_TRUE(is_json(reserve_items(unsold.id, items({{general, 3}})), 200));
  EXPECT_TRUE(is_problem(reserve_items(unsold.id, items({{general, 2}})), 409, "sold_out"));
  // A quota moves by the difference, and not below what is taken.
  EXPECT_TRUE(is_problem(patch_type(unsold.id, general, {{"quota", 2}}), 409, "quota_below_taken"));
  const HttpResponse raised = patch_type(unsold.id, general, {{"quota", 6}});
  ASSERT_TRUE(is_json(raised, 200)) << raised.describe();
  EXPECT_EQ(int_field(raised.json(), "available_tickets"), 3);
}

}  // namespace
}  // namespace flashtix::test
