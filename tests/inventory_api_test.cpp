// Black-box tests of every inventory endpoint and every answer the contract lists for it, each checked
// against the database and followed by the ledger check.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "inventory_harness.hpp"
#include "support/clock.hpp"
#include "support/credentials.hpp"
#include "support/metrics.hpp"

namespace flashtix::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

using InventoryApi = LedgerCheckedTest;

std::string event_path(std::int64_t id) { return "/events/" + std::to_string(id); }
std::string reservation_path(std::int64_t id) { return "/inventory/reservations/" + std::to_string(id); }

HttpResponse reserve(std::int64_t event_id, std::int64_t quantity, std::optional<std::string> key = std::nullopt,
                     std::optional<std::int64_t> hold_seconds = std::nullopt) {
  json::object body{{"event_id", event_id}, {"quantity", quantity}};
  if (key) body["reservation_key"] = *key;
  if (hold_seconds) body["hold_seconds"] = *hold_seconds;
  return post("/inventory/reserve", body);
}

HttpResponse release_by_id(std::int64_t id) { return post("/inventory/release", json::object{{"reservation_id", id}}); }
HttpResponse release_by_key(const std::string& key) {
  return post("/inventory/release", json::object{{"reservation_key", key}});
}
HttpResponse confirm_by_id(std::int64_t id) { return post("/inventory/confirm", json::object{{"reservation_id", id}}); }
HttpResponse confirm_by_key(const std::string& key) {
  return post("/inventory/confirm", json::object{{"reservation_key", key}});
}

std::string status_of(std::int64_t reservation_id) {
  return string_field(get(reservation_path(reservation_id)).json(), "status");
}

// Checks the members every reservation answer carries.
void expect_reservation(const json::value& reservation, std::int64_t event_id, std::int64_t quantity,
                        std::string_view status) {
  EXPECT_GT(int_field(reservation, "reservation_id"), 0);
  EXPECT_FALSE(string_field(reservation, "reservation_key").empty());
  EXPECT_EQ(int_field(reservation, "event_id"), event_id);
  EXPECT_EQ(int_field(reservation, "quantity"), quantity);
  EXPECT_EQ(string_field(reservation, "status"), status);
  EXPECT_TRUE(parse_utc_timestamp(string_field(reservation, "expires_at")))
      << "expires_at must be RFC 3339 UTC: " << json::serialize(reservation);
  EXPECT_TRUE(parse_utc_timestamp(string_field(reservation, "created_at")))
      << "created_at must be RFC 3339 UTC: " << json::serialize(reservation);
}

// Seconds between created_at and expires_at of a reservation answer.
double hold_length_seconds(const json::value& reservation) {
  const auto created = parse_utc_timestamp(string_field(reservation, "created_at"));
  const auto expires = parse_utc_timestamp(string_field(reservation, "expires_at"));
  if (!created || !expires) throw std::runtime_error("bad timestamps in " + json::serialize(reservation));
  return *expires - *created;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string url_encode(std::string_view text) {
  static const char* const kHex = "0123456789ABCDEF";
  std::string encoded;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '-' || c == '_' || c == '.' || c == '~') {
      encoded += c;
    } else {
      encoded += '%';
      encoded += kHex[byte >> 4];
      encoded += kHex[byte & 0xF];
    }
  }
  return encoded;
}

std::vector<std::int64_t> ids_of(const json::value& page) {
  std::vector<std::int64_t> ids;
  for (const auto& item : page.at("items").as_array()) ids.push_back(int_field(item, "id"));
  return ids;
}

// ---- health ----

TEST_F(InventoryApi, HealthAnswersOk) {
  const HttpResponse health = get("/health");
  ASSERT_TRUE(is_json(health, 200));
  EXPECT_EQ(health.json(), json::parse(R"({"status":"ok"})"));
}

TEST_F(InventoryApi, ReadyWhileTheDatabaseAnswers) {
  const HttpResponse ready = get("/ready");
  ASSERT_TRUE(is_json(ready, 200));
  EXPECT_EQ(ready.json(), json::parse(R"({"status":"ready"})"));
}

TEST_F(InventoryApi, ServesItsOpenApiDocument) {
  EXPECT_TRUE(serves_its_openapi_document(inventory_port(), "inventory"));
}

TEST_F(InventoryApi, OneKeepAliveConnectionServesManyRequests) {
  HttpConnection connection(inventory_port());
  for (int i = 0; i < 5; ++i) {
    const HttpResponse health = connection.get("/health");
    ASSERT_EQ(health.status, 200) << health.describe();
    ASSERT_TRUE(connection.is_open()) << "the server closed a keep-alive connection after request " << i;
  }
  const std::int64_t event = create_event(3);
  const HttpResponse held = connection.post("/inventory/reserve", json::object{{"event_id", event}});
  ASSERT_TRUE(is_json(held, 200));
  const HttpResponse fetched = connection.get(reservation_path(int_field(held.json(), "reservation_id")));
  ASSERT_TRUE(is_json(fetched, 200));
  EXPECT_TRUE(connection.is_open());
}

// ---- events ----

TEST_F(InventoryApi, CreateEventAnswersTheNewEvent) {
  const std::string name = unique_name();
  const double before = now_seconds();
  const HttpResponse created = post("/events", json::object{{"name", name}, {"total_tickets", 250}});
  ASSERT_TRUE(is_json(created, 201));
  const json::value event = created.json();
  const std::int64_t id = int_field(event, "id");
  // The seed event holds id 1 and the seed moved the id sequence past it.
  EXPECT_GT(id, 1);
  EXPECT_EQ(string_field(event, "name"), name);
  EXPECT_EQ(int_field(event, "total_tickets"), 250);
  EXPECT_EQ(int_field(event, "available_tickets"), 250);
  EXPECT_EQ(int_field(event, "held_tickets"), 0);
  EXPECT_EQ(int_field(event, "sold_tickets"), 0);
  const auto created_at = parse_utc_timestamp(string_field(event, "created_at"));
  ASSERT_TRUE(created_at) << "created_at must be RFC 3339 UTC: " << created.body;
  EXPECT_NEAR(*created_at, before, 5.0);

  const HttpResponse fetched = get(event_path(id));
  ASSERT_TRUE(is_json(fetched, 200));
  EXPECT_EQ(fetched.json(), event);

  const Rows rows = pg().admin_query("SELECT name, total_tickets, available_tickets FROM inventory.events WHERE id = " +
                                     std::to_string(id));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{name, "250", "250"}));
}

TEST_F(InventoryApi, CreateEventAcceptsTheBoundaries) {
  const HttpResponse empty = post("/events", json::object{{"name", "x"}, {"total_tickets", 0}});
  ASSERT_TRUE(is_json(empty, 201));
  EXPECT_EQ(int_field(empty.json(), "available_tickets"), 0);

  const HttpResponse largest = post("/events", json::object{{"name", unique_name()}, {"total_tickets", 10000000}});
  ASSERT_TRUE(is_json(largest, 201));
  EXPECT_EQ(int_field(largest.json(), "available_tickets"), 10000000);

  const std::string longest(200, 'n');
  const HttpResponse long_name = post("/events", json::object{{"name", longest}, {"total_tickets", 1}});
  ASSERT_TRUE(is_json(long_name, 201));
  EXPECT_EQ(string_field(long_name.json(), "name"), longest);
}

// The contract bounds the name in characters, as the database's CHECK (length(name)) does, not in bytes.
TEST_F(InventoryApi, CreateEventCountsNameLengthInCharacters) {
  std::string longest;
  for (int i = 0; i < 200; ++i) longest += "\xC3\xA9";  // 200 x U+00E9, 400 bytes of UTF-8
  const HttpResponse created = post("/events", json::object{{"name", longest}, {"total_tickets", 1}});
  ASSERT_TRUE(is_json(created, 201));
  EXPECT_EQ(string_field(created.json(), "name"), longest);
}

TEST_F(InventoryApi, GetEventOfAnUnknownIdIs404AndOfANonIntegerIs400) {
  EXPECT_TRUE(is_problem(get("/events/987654321"), 404, "event_not_found"));
  EXPECT_TRUE(is_problem(get("/events/abc"), 400, "invalid_request"));
}

TEST_F(InventoryApi, ListEventsPagesThroughEveryEventInIdOrder) {
  for (int i = 0; i < 55; ++i) create_event(i + 1);
  std::vector<std::int64_t> all_ids;
  for (const auto& row : pg().admin_query("SELECT id FROM inventory.events ORDER BY id")) {
    all_ids.push_back(std::stoll(row[0]));
  }
  ASSERT_GT(all_ids.size(), 55u);

  // The default page holds 50.
  const HttpResponse first = get("/events");
  ASSERT_TRUE(is_json(first, 200));
  const json::value first_page = first.json();
  EXPECT_EQ(ids_of(first_page), std::vector<std::int64_t>(all_ids.begin(), all_ids.begin() + 50));
  EXPECT_TRUE(first_page.at("next_cursor").is_string()) << first.body;
  for (const auto& item : first_page.at("items").as_array()) {
    for (const char* field : {"total_tickets", "available_tickets", "held_tickets", "sold_tickets"}) {
      EXPECT_GE(int_field(item, field), 0);
    }
    EXPECT_FALSE(string_field(item, "name").empty());
    EXPECT_TRUE(parse_utc_timestamp(string_field(item, "created_at"))) << json::serialize(item);
  }

  // Walking the cursor with a small limit meets every event once, in order, and ends on a null cursor.
  std::vector<std::int64_t> seen;
  std::string cursor;
  for (int pages = 0;; ++pages) {
    ASSERT_LT(pages, 100) << "the cursor walk does not end";
    const HttpResponse page = get("/events?limit=7" + (cursor.empty() ? "" : "&cursor=" + url_encode(cursor)));
    ASSERT_TRUE(is_json(page, 200));
    const json::value body = page.json();
    const auto ids = ids_of(body);
    ASSERT_LE(ids.size(), 7u);
    seen.insert(seen.end(), ids.begin(), ids.end());
    const json::value& next = body.at("next_cursor");
    if (next.is_null()) break;
    ASSERT_TRUE(next.is_string()) << page.body;
    ASSERT_EQ(ids.size(), 7u) << "a page with a next_cursor must be full: " << page.body;
    cursor = std::string(next.get_string());
  }
  EXPECT_EQ(seen, all_ids);

  const HttpResponse everything = get("/events?limit=500");
  ASSERT_TRUE(is_json(everything, 200));
  EXPECT_EQ(ids_of(everything.json()), all_ids);
  EXPECT_TRUE(is_null_field(everything.json(), "next_cursor")) << everything.body;

  const HttpResponse one = get("/events?limit=1");
  ASSERT_TRUE(is_json(one, 200));
  EXPECT_EQ(ids_of(one.json()), std::vector<std::int64_t>{all_ids.front()});
  EXPECT_TRUE(one.json().at("next_cursor").is_string()) << one.body;
}

TEST_F(InventoryApi, ListEventsRejectsABadLimitOrCursor) {
  for (const char* limit : {"0", "501", "-1", "abc", "1.5", "10x", "99999999999999999999"}) {
    EXPECT_TRUE(is_problem(get(std::string("/events?limit=") + limit), 400, "invalid_request")) << "limit=" << limit;
  }
  EXPECT_TRUE(is_problem(get("/events?cursor=%21%21%21"), 400, "invalid_request"));
  EXPECT_TRUE(is_problem(get("/events?limit=5&cursor=not%20a%20cursor"), 400, "invalid_request"));
}

// ---- reserve ----

TEST_F(InventoryApi, ReserveHoldsTicketsAndAnswersTheReservation) {
  const std::int64_t event = create_event(10);
  const double before = now_seconds();
  const HttpResponse held = reserve(event, 2);
  ASSERT_TRUE(is_json(held, 200));
  const json::value body = held.json();
  expect_reservation(body, event, 2, "HELD");
  EXPECT_EQ(int_field(body, "remaining_tickets"), 8);
  // Without a key the server makes a UUID.
  const std::string key = string_field(body, "reservation_key");
  EXPECT_TRUE(is_uuid(key)) << key;
  // The default hold is 600 seconds.
  EXPECT_NEAR(hold_length_seconds(body), 600.0, 1.0);
  EXPECT_NEAR(*parse_utc_timestamp(string_field(body, "created_at")), before, 5.0);

  EXPECT_EQ(api_counts(event), (EventCounts{10, 8, 2, 0}));
  EXPECT_EQ(db_counts(event), (EventCounts{10, 8, 2, 0}));
  const std::int64_t id = int_field(body, "reservation_id");
  EXPECT_EQ(db_status(id), "HELD");

  const HttpResponse fetched = get(reservation_path(id));
  ASSERT_TRUE(is_json(fetched, 200));
  const json::value reservation = fetched.json();
  EXPECT_EQ(int_field(reservation, "reservation_id"), id);
  for (const char* field : {"reservation_key", "status", "expires_at", "created_at"}) {
    EXPECT_EQ(string_field(reservation, field), string_field(body, field)) << field;
  }
  EXPECT_EQ(int_field(reservation, "event_id"), event);
  EXPECT_EQ(int_field(reservation, "quantity"), 2);
}

TEST_F(InventoryApi, ReserveDefaultsToQuantityOne) {
  const std::int64_t event = create_event(10);
  const HttpResponse held = post("/inventory/reserve", json::object{{"event_id", event}});
  ASSERT_TRUE(is_json(held, 200));
  expect_reservation(held.json(), event, 1, "HELD");
  EXPECT_EQ(int_field(held.json(), "remaining_tickets"), 9);
  EXPECT_EQ(api_counts(event), (EventCounts{10, 9, 1, 0}));
}

TEST_F(InventoryApi, ReserveKeepsTheClientKeyAndHoldSeconds) {
  const std::int64_t event = create_event(10);
  const std::string key = unique_name("order");
  const HttpResponse held = reserve(event, 10, key, 120);
  ASSERT_TRUE(is_json(held, 200));
  expect_reservation(held.json(), event, 10, "HELD");
  EXPECT_EQ(string_field(held.json(), "reservation_key"), key);
  EXPECT_EQ(int_field(held.json(), "remaining_tickets"), 0);
  EXPECT_NEAR(hold_length_seconds(held.json()), 120.0, 1.0);
  const Rows rows =
      pg().admin_query("SELECT reservation_key, quantity, status FROM inventory.reservations WHERE id = " +
                       std::to_string(int_field(held.json(), "reservation_id")));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{key, "10", "HELD"}));
}

TEST_F(InventoryApi, ReserveAnswersSoldOutWithTheTicketsLeft) {
  const std::int64_t event = create_event(3);
  // Reserves in turn, each held with the tickets that remain after it, or sold out with those still there.
  struct Reserve {
    std::int64_t quantity;
    bool held;
    std::int64_t tickets_left;
  };
  for (const Reserve& step : {Reserve{2, true, 1}, Reserve{2, false, 1}, Reserve{1, true, 0}, Reserve{1, false, 0}}) {
    const HttpResponse answer = reserve(event, step.quantity);
    if (step.held) {
      ASSERT_TRUE(is_json(answer, 200));
      EXPECT_EQ(int_field(answer.json(), "remaining_tickets"), step.tickets_left);
    } else {
      ASSERT_TRUE(is_problem(answer, 409, "sold_out"));
      EXPECT_EQ(int_field(answer.json(), "available_tickets"), step.tickets_left);
    }
  }
  EXPECT_EQ(api_counts(event), (EventCounts{3, 0, 3, 0}));
  EXPECT_EQ(db_counts(event), (EventCounts{3, 0, 3, 0}));

  const std::int64_t empty = create_event(0);
  const HttpResponse nothing = reserve(empty, 1);
  ASSERT_TRUE(is_problem(nothing, 409, "sold_out"));
  EXPECT_EQ(int_field(nothing.json(), "available_tickets"), 0);

  const std::int64_t five = create_event(5);
  const HttpResponse six = reserve(five, 6);
  ASSERT_TRUE(is_problem(six, 409, "sold_out"));
  EXPECT_EQ(int_field(six.json(), "available_tickets"), 5);
  EXPECT_EQ(api_counts(five), (EventCounts{5, 5, 0, 0}));
  EXPECT_EQ(pg().admin_query("SELECT count(*) FROM inventory.reservations WHERE event_id IN (" + std::to_string(empty) +
                             ", " + std::to_string(five) + ")")[0][0],
            "0");
}

TEST_F(InventoryApi, ReserveOnAnUnknownEventIs404) {
  EXPECT_TRUE(is_problem(reserve(987654321, 1), 404, "event_not_found"));
  EXPECT_EQ(pg().admin_query("SELECT count(*) FROM inventory.reservations WHERE event_id = 987654321")[0][0], "0");
}

// ---- idempotent reserve ----

TEST_F(InventoryApi, ReserveWithTheSameKeyAnswersTheSameReservation) {
  const std::int64_t event = create_event(10);
  const std::string key = unique_name("order");
  const HttpResponse first = reserve(event, 2, key);
  ASSERT_TRUE(is_json(first, 200));
  const std::int64_t id = int_field(first.json(), "reservation_id");
  EXPECT_EQ(first.header("Location"), reservation_path(id));
  EXPECT_FALSE(first.has_header("Idempotent-Replayed"));

  // 200 again, as the first time (the original service's clients count only 200), and told it is a replay.
  const HttpResponse again = reserve(event, 2, key);
  ASSERT_TRUE(is_json(again, 200));
  EXPECT_EQ(again.header("Idempotent-Replayed"), "true");
  EXPECT_EQ(again.header("Location"), reservation_path(id));
  EXPECT_EQ(int_field(again.json(), "reservation_id"), id);
  for (const char* field : {"reservation_key", "status", "expires_at", "created_at"}) {
    EXPECT_EQ(string_field(again.json(), field), string_field(first.json(), field)) << field;
  }
  EXPECT_EQ(int_field(again.json(), "quantity"), 2);
  EXPECT_EQ(api_counts(event), (EventCounts{10, 8, 2, 0}));
  EXPECT_EQ(pg().admin_query("SELECT count(*) FROM inventory.reservations WHERE reservation_key = '" + key + "'")[0][0],
            "1");

  // The key names the reservation whatever its status now.
  ASSERT_TRUE(is_json(release_by_id(id), 200));
  const HttpResponse after_release = reserve(event, 2, key);
  ASSERT_TRUE(is_json(after_release, 200));
  EXPECT_EQ(int_field(after_release.json(), "reservation_id"), id);
  EXPECT_EQ(string_field(after_release.json(), "status"), "RELEASED");
  EXPECT_EQ(api_counts(event), (EventCounts{10, 10, 0, 0}));

  // A retry on a sold-out event still finds its own hold instead of sold_out.
  const std::int64_t small = create_event(2);
  const std::string small_key = unique_name("order");
  const HttpResponse all = reserve(small, 2, small_key);
  ASSERT_TRUE(is_json(all, 200));
  const HttpResponse retry = reserve(small, 2, small_key);
  ASSERT_TRUE(is_json(retry, 200));
  EXPECT_EQ(int_field(retry.json(), "reservation_id"), int_field(all.json(), "reservation_id"));
  EXPECT_EQ(string_field(retry.json(), "status"), "HELD");
  EXPECT_EQ(api_counts(small), (EventCounts{2, 0, 2, 0}));

  // A missing quantity is quantity 1, so both spellings are the same request.
  const std::string default_key = unique_name("order");
  const HttpResponse implicit =
      post("/inventory/reserve", json::object{{"event_id", event}, {"reservation_key", default_key}});
  ASSERT_TRUE(is_json(implicit, 200));
  const HttpResponse explicit_one = reserve(event, 1, default_key);
  ASSERT_TRUE(is_json(explicit_one, 200));
  EXPECT_EQ(int_field(explicit_one.json(), "reservation_id"), int_field(implicit.json(), "reservation_id"));
  EXPECT_EQ(api_counts(event), (EventCounts{10, 9, 1, 0}));
}

TEST_F(InventoryApi, ReserveWithTheSameKeyButAnotherBodyIs422) {
  const std::int64_t event = create_event(10);
  const std::int64_t other = create_event(10);
  const std::string key = unique_name("order");
  ASSERT_TRUE(is_json(reserve(event, 2, key), 200));

  EXPECT_TRUE(is_problem(reserve(event, 3, key), 422, "idempotency_mismatch"));
  EXPECT_TRUE(is_problem(reserve(other, 2, key), 422, "idempotency_mismatch"));
  EXPECT_TRUE(is_problem(post("/inventory/reserve", json::object{{"event_id", event}, {"reservation_key", key}}), 422,
                         "idempotency_mismatch"));
  EXPECT_EQ(api_counts(event), (EventCounts{10, 8, 2, 0}));
  EXPECT_EQ(api_counts(other), (EventCounts{10, 10, 0, 0}));
  EXPECT_EQ(pg().admin_query("SELECT count(*) FROM inventory.reservations WHERE reservation_key = '" + key + "'")[0][0],
            "1");
}

// ---- release and confirm ----

// Release and confirm each settle a hold named by its id or by its key; what follows holds for both.
struct Settle {
  std::string_view name;
  HttpResponse (*by_id)(std::int64_t);
  HttpResponse (*by_key)(const std::string&);
};
const Settle kRelease{"release", release_by_id, release_by_key};
const Settle kConfirm{"confirm", confirm_by_id, confirm_by_key};

// Settling takes effect once, whether the hold is named by id or by key: again by id and by key gives
// the same answer and changes no count a second time.
struct SettledOnce {
  Settle settle;
  std::string_view status;
  EventCounts settled;
  // A second hold of this many, settled by its key alone, leaves `after_by_key`.
  std::int64_t by_key_quantity;
  EventCounts after_by_key;
};

TEST_F(InventoryApi, ReleaseAndConfirmSettleAHoldExactlyOnce) {
  const SettledOnce cases[] = {
      {kRelease, "RELEASED", EventCounts{10, 10, 0, 0}, 4, EventCounts{10, 10, 0, 0}},
      {kConfirm, "CONFIRMED", EventCounts{10, 7, 0, 3}, 1, EventCounts{10, 6, 0, 4}},
  };
  for (const SettledOnce& once : cases) {
    SCOPED_TRACE(once.settle.name);
    const std::int64_t event = create_event(10);
    const HttpResponse held = reserve(event, 3);
    ASSERT_TRUE(is_json(held, 200));
    const std::int64_t id = int_field(held.json(), "reservation_id");
    const std::string key = string_field(held.json(), "reservation_key");
    EXPECT_EQ(api_counts(event), (EventCounts{10, 7, 3, 0}));

    const HttpResponse settled = once.settle.by_id(id);
    ASSERT_TRUE(is_json(settled, 200));
    expect_reservation(settled.json(), event, 3, once.status);
    EXPECT_EQ(int_field(settled.json(), "reservation_id"), id);
    EXPECT_EQ(api_counts(event), once.settled);

    for (const HttpResponse& again : {once.settle.by_id(id), once.settle.by_key(key)}) {
      ASSERT_TRUE(is_json(again, 200));
      EXPECT_EQ(int_field(again.json(), "reservation_id"), id);
      EXPECT_EQ(string_field(again.json(), "status"), once.status);
    }
    EXPECT_EQ(api_counts(event), once.settled);
    EXPECT_EQ(db_counts(event), once.settled);
    EXPECT_EQ(status_of(id), once.status);
    EXPECT_EQ(db_status(id), once.status);

    const std::string other_key = unique_name("order");
    const HttpResponse by_key = reserve(event, once.by_key_quantity, other_key);
    ASSERT_TRUE(is_json(by_key, 200));
    const HttpResponse settled_by_key = once.settle.by_key(other_key);
    ASSERT_TRUE(is_json(settled_by_key, 200));
    EXPECT_EQ(int_field(settled_by_key.json(), "reservation_id"), int_field(by_key.json(), "reservation_id"));
    EXPECT_EQ(string_field(settled_by_key.json(), "status"), once.status);
    EXPECT_EQ(api_counts(event), once.after_by_key);
    EXPECT_EQ(db_counts(event), once.after_by_key);
  }
}

// A hold settled one way is not settled the other: a 409 that says why, by id and by key, and the hold
// and the counts stay as the first settle left them.
struct SettledTheOtherWay {
  Settle first;
  Settle then;
  std::string_view code;
  std::string_view status;
  EventCounts counts;
};

TEST_F(InventoryApi, AHoldSettledOneWayIs409TheOtherWay) {
  const SettledTheOtherWay cases[] = {
      {kConfirm, kRelease, "hold_confirmed", "CONFIRMED", EventCounts{10, 8, 0, 2}},
      {kRelease, kConfirm, "hold_expired", "RELEASED", EventCounts{10, 10, 0, 0}},
  };
  for (const SettledTheOtherWay& settled : cases) {
    SCOPED_TRACE(std::string(settled.then.name) + " after " + std::string(settled.first.name));
    const std::int64_t event = create_event(10);
    const HttpResponse held = reserve(event, 2);
    ASSERT_TRUE(is_json(held, 200));
    const std::int64_t id = int_field(held.json(), "reservation_id");
    ASSERT_TRUE(is_json(settled.first.by_id(id), 200));

    EXPECT_TRUE(is_problem(settled.then.by_id(id), 409, settled.code));
    EXPECT_TRUE(is_problem(settled.then.by_key(string_field(held.json(), "reservation_key")), 409, settled.code));
    EXPECT_EQ(status_of(id), settled.status);
    EXPECT_EQ(api_counts(event), settled.counts);
  }
}

TEST_F(InventoryApi, ReleaseOrConfirmOfAnUnknownReservationIs404) {
  for (const Settle& settle : {kRelease, kConfirm}) {
    SCOPED_TRACE(settle.name);
    EXPECT_TRUE(is_problem(settle.by_id(987654321), 404, "reservation_not_found"));
    EXPECT_TRUE(is_problem(settle.by_key(unique_name("no-such-key")), 404, "reservation_not_found"));
  }
}

// ---- release ----

// A release by key that names what its reserve asked for and finds no hold leaves a tombstone: the
// reserve, arriving after it, finds its key released and holds nothing.
TEST_F(InventoryApi, AReleaseBeforeItsReserveMakesThatReserveHoldNothing) {
  const std::int64_t event = create_event(10);
  const std::string key = unique_name("released-first");
  const HttpResponse released =
      post("/inventory/release", json::object{{"reservation_key", key}, {"event_id", event}, {"quantity", 2}});
  ASSERT_TRUE(is_json(released, 200));
  EXPECT_EQ(string_field(released.json(), "status"), "RELEASED");
  EXPECT_EQ(api_counts(event), (EventCounts{10, 10, 0, 0}));
  const HttpResponse late = reserve(event, 2, key);
  ASSERT_TRUE(is_json(late, 200));
  EXPECT_EQ(string_field(late.json(), "status"), "RELEASED");
  EXPECT_EQ(late.header("Idempotent-Replayed"), "true");
  EXPECT_TRUE(is_problem(reserve(event, 3, key), 422, "idempotency_mismatch"));
  // Releasing again changes nothing; a hold that exists is released as before.
  EXPECT_TRUE(is_json(post("/inventory/release", json::object{{"reservation_key", key}, {"event_id", event}, {"quantity", 2}}),
                      200));
  const std::string held_key = unique_name("held");
  ASSERT_TRUE(is_json(reserve(event, 1, held_key), 200));
  EXPECT_TRUE(is_json(post("/inventory/release", json::object{{"reservation_key", held_key}, {"event_id", event}, {"quantity", 1}}),
                      200));
  EXPECT_EQ(api_counts(event), (EventCounts{10, 10, 0, 0}));
  EXPECT_EQ(db_counts(event), (EventCounts{10, 10, 0, 0}));
  // No event, no tombstone: nothing to release.
  EXPECT_TRUE(is_problem(post("/inventory/release", json::object{{"reservation_key", unique_name("nowhere")},
                                                                 {"event_id", 987654321}, {"quantity", 1}}),
                         404, "reservation_not_found"));
}

// ---- get reservation ----

TEST_F(InventoryApi, GetReservationOfAnUnknownIdIs404AndOfANonIntegerIs400) {
  EXPECT_TRUE(is_problem(get(reservation_path(987654321)), 404, "reservation_not_found"));
  EXPECT_TRUE(is_problem(get("/inventory/reservations/abc"), 400, "invalid_request"));
}

// ---- expiry ----

TEST_F(InventoryApi, AnExpiredHoldReturnsItsStock) {
  const std::int64_t event = create_event(5);
  const std::string key = unique_name("order");
  const auto start = std::chrono::steady_clock::now();
  const HttpResponse held = reserve(event, 2, key, 1);
  ASSERT_TRUE(is_json(held, 200));
  EXPECT_EQ(int_field(held.json(), "remaining_tickets"), 3);
  EXPECT_NEAR(hold_length_seconds(held.json()), 1.0, 0.5);
  const std::int64_t id = int_field(held.json(), "reservation_id");

  // The contract: expired and back in stock within about a second of expires_at.
  const auto budget = 3s - (std::chrono::steady_clock::now() - start);
  EXPECT_TRUE(eventually(std::chrono::duration_cast<std::chrono::milliseconds>(budget),
                         [&] { return status_of(id) == "EXPIRED"; }))
      << "a 1 s hold is still " << status_of(id) << " 3 s after it was made";
  EXPECT_EQ(api_counts(event), (EventCounts{5, 5, 0, 0}));
  EXPECT_EQ(db_status(id), "EXPIRED");

  EXPECT_TRUE(is_problem(confirm_by_id(id), 409, "hold_expired"));
  EXPECT_TRUE(is_problem(confirm_by_key(key), 409, "hold_expired"));
  const HttpResponse released = release_by_id(id);
  ASSERT_TRUE(is_json(released, 200));
  EXPECT_EQ(string_field(released.json(), "status"), "EXPIRED");
  const HttpResponse retried = reserve(event, 2, key, 1);
  ASSERT_TRUE(is_json(retried, 200));
  EXPECT_EQ(int_field(retried.json(), "reservation_id"), id);
  EXPECT_EQ(string_field(retried.json(), "status"), "EXPIRED");
  EXPECT_EQ(api_counts(event), (EventCounts{5, 5, 0, 0}));
}

// Past expires_at a hold cannot be confirmed, whether or not the sweeper has visited it yet.
TEST_F(InventoryApi, ConfirmPastExpiresAtIs409HoldExpired) {
  const std::int64_t event = create_event(5);
  const HttpResponse held = reserve(event, 1, std::nullopt, 1);
  ASSERT_TRUE(is_json(held, 200));
  const std::int64_t id = int_field(held.json(), "reservation_id");
  std::this_thread::sleep_for(1200ms);
  EXPECT_TRUE(is_problem(confirm_by_id(id), 409, "hold_expired"));
  EXPECT_TRUE(eventually(3s, [&] { return status_of(id) == "EXPIRED"; })) << status_of(id);
  EXPECT_EQ(api_counts(event), (EventCounts{5, 5, 0, 0}));
}

// ---- the seed and the documented reset ----

TEST_F(InventoryApi, TheSeedEventTakesTheSeedBodyAndTheDocumentedReset) {
  const HttpResponse seed = get("/events/1");
  ASSERT_TRUE(is_json(seed, 200));
  EXPECT_EQ(string_field(seed.json(), "name"), "FlashTix Launch");
  EXPECT_EQ(api_counts(1), (EventCounts{100, 100, 0, 0}));

  const HttpResponse first = post_text("/inventory/reserve", R"({"event_id":1,"quantity":1})");
  ASSERT_TRUE(is_json(first, 200));
  expect_reservation(first.json(), 1, 1, "HELD");
  EXPECT_EQ(int_field(first.json(), "remaining_tickets"), 99);
  const HttpResponse second = reserve(1, 2);
  ASSERT_TRUE(is_json(second, 200));
  ASSERT_TRUE(is_json(confirm_by_id(int_field(second.json(), "reservation_id")), 200));
  EXPECT_EQ(api_counts(1), (EventCounts{100, 97, 1, 2}));

  // The reset exactly as documented: flashuser, unqualified table name.
  pg().query("UPDATE events SET available_tickets = 100, total_tickets = 100 WHERE id = 1;");
  EXPECT_TRUE(ledger_balanced());
  EXPECT_EQ(api_counts(1), (EventCounts{100, 100, 0, 0}));
  EXPECT_EQ(db_counts(1), (EventCounts{100, 100, 0, 0}));
  const std::int64_t first_id = int_field(first.json(), "reservation_id");
  EXPECT_EQ(status_of(first_id), "VOIDED");
  EXPECT_EQ(status_of(int_field(second.json(), "reservation_id")), "VOIDED");

  // Releasing a voided hold changes nothing.
  const HttpResponse released = release_by_id(first_id);
  ASSERT_TRUE(is_json(released, 200));
  EXPECT_EQ(string_field(released.json(), "status"), "VOIDED");
  EXPECT_EQ(api_counts(1), (EventCounts{100, 100, 0, 0}));

  // The event sells again.
  const HttpResponse again = post_text("/inventory/reserve", R"({"event_id":1,"quantity":1})");
  ASSERT_TRUE(is_json(again, 200));
  EXPECT_EQ(int_field(again.json(), "remaining_tickets"), 99);
}

TEST_F(InventoryApi, TheResetCommandOnAnyEventKeepsTheLedgerBalanced) {
  const std::int64_t event = create_event(50);
  std::vector<std::int64_t> ids;
  for (int quantity : {3, 4, 5, 2}) {
    const HttpResponse held = reserve(event, quantity);
    ASSERT_TRUE(is_json(held, 200));
    ids.push_back(int_field(held.json(), "reservation_id"));
  }
  ASSERT_TRUE(is_json(confirm_by_id(ids[0]), 200));
  ASSERT_TRUE(is_json(confirm_by_id(ids[1]), 200));
  ASSERT_TRUE(is_json(release_by_id(ids[2]), 200));
  EXPECT_EQ(api_counts(event), (EventCounts{50, 41, 2, 7}));

  pg().query("UPDATE events SET available_tickets = 100, total_tickets = 100 WHERE id = " + std::to_string(event));
  EXPECT_TRUE(ledger_balanced());
  EXPECT_EQ(api_counts(event), (EventCounts{100, 100, 0, 0}));
  EXPECT_EQ(db_counts(event), (EventCounts{100, 100, 0, 0}));
  EXPECT_EQ(status_of(ids[0]), "VOIDED");
  EXPECT_EQ(status_of(ids[1]), "VOIDED");
  EXPECT_EQ(status_of(ids[2]), "RELEASED");
  EXPECT_EQ(status_of(ids[3]), "VOIDED");

  const HttpResponse held = reserve(event, 1);
  ASSERT_TRUE(is_json(held, 200));
  EXPECT_EQ(int_field(held.json(), "remaining_tickets"), 99);
}

// POST /inventory/reserve-batch answers each request as POST /inventory/reserve would, in order.
TEST_F(InventoryApi, ABatchOfReservesAnswersEachAsAloneInOrder) {
  const std::int64_t small = create_event(3);
  const std::int64_t large = create_event(100);
  const std::string key = unique_name("batched");
  json::array items;
  items.push_back(json::object{{"event_id", small}, {"quantity", 2}, {"reservation_key", key}});
  items.push_back(json::object{{"event_id", small}, {"quantity", 2}});  // only 1 left
  items.push_back(json::object{{"event_id", large}, {"quantity", 5}, {"hold_seconds", 120}});
  items.push_back(json::object{{"event_id", small}, {"quantity", 2}, {"reservation_key", key}});  // the same again
  items.push_back(json::object{{"event_id", 987654321}, {"quantity", 1}});
  items.push_back(json::object{{"event_id", small}, {"quantity", 1}, {"reservation_key", key}});  // another body
  const HttpResponse answer = post("/inventory/reserve-batch", json::object{{"reservations", items}});
  ASSERT_TRUE(is_json(answer, 200));
  const json::value parsed = answer.json();
  const json::array& results = parsed.at("results").as_array();
  ASSERT_EQ(results.size(), 6u);
  const auto status_at = [&](std::size_t i) { return int_field(results[i], "status"); };
  const auto body_at = [&](std::size_t i) { return results[i].at("body"); };
  EXPECT_EQ(status_at(0), 200);
  expect_reservation(body_at(0), small, 2, "HELD");
  EXPECT_EQ(status_at(1), 409);
  EXPECT_EQ(string_field(body_at(1), "code"), "sold_out");
  EXPECT_EQ(int_field(body_at(1), "available_tickets"), 1);
  EXPECT_EQ(status_at(2), 200);
  expect_reservation(body_at(2), large, 5, "HELD");
  EXPECT_EQ(status_at(3), 200);
  EXPECT_EQ(int_field(body_at(3), "reservation_id"), int_field(body_at(0), "reservation_id"));
  EXPECT_EQ(status_at(4), 404);
  EXPECT_EQ(string_field(body_at(4), "code"), "event_not_found");
  EXPECT_EQ(status_at(5), 422);
  EXPECT_EQ(string_field(body_at(5), "code"), "idempotency_mismatch");
  EXPECT_EQ(api_counts(small), (EventCounts{3, 1, 2, 0}));
  EXPECT_EQ(api_counts(large), (EventCounts{100, 95, 5, 0}));
}

// A batch with one bad request is refused whole, naming the request, and reserves nothing.
TEST_F(InventoryApi, ABatchWithABadRequestReservesNothing) {
  const std::int64_t event = create_event(10);
  const std::string before = db_snapshot();
  json::array items;
  items.push_back(json::object{{"event_id", event}, {"quantity", 1}});
  items.push_back(json::object{{"event_id", event}, {"quantity", 0}});
  const HttpResponse refused = post("/inventory/reserve-batch", json::object{{"reservations", items}});
  EXPECT_TRUE(is_problem(refused, 400, "invalid_request"));
  EXPECT_NE(string_field(refused.json(), "detail").find("reservations[1]"), std::string::npos) << refused.describe();
  json::array too_many;
  for (int i = 0; i < 257; ++i) too_many.push_back(json::object{{"event_id", event}, {"quantity", 1}});
  EXPECT_TRUE(is_problem(post("/inventory/reserve-batch", json::object{{"reservations", too_many}}), 400,
                         "invalid_request"));
  EXPECT_TRUE(is_problem(post("/inventory/reserve-batch", json::object{{"reservations", json::array{}}}), 400,
                         "invalid_request"));
  EXPECT_TRUE(is_problem(post("/inventory/reserve-batch", json::object{{"reservations", 1}}), 400, "invalid_request"));
  EXPECT_TRUE(is_problem(post("/inventory/reserve-batch", json::object{{"reservations", json::array{1}}}), 400,
                         "invalid_request"));
  EXPECT_TRUE(is_problem(post_text("/inventory/reserve-batch", "[1,"), 400, "malformed_json"));
  EXPECT_EQ(db_snapshot(), before);
}

// ---- who may call what (README "Security") ----

const Headers kNoCredential{{"Authorization", ""}};

HttpResponse post_as(std::string_view target, const json::value& body, const Headers& credential) {
  return http_request(inventory().port(), "POST", target, json::serialize(body), credential);
}

Headers as(std::string_view token) { return {{"Authorization", bearer(token)}}; }

// Creating an event needs the admin token: none, an unknown one, a malformed header or the service
// token are refused with a problem, and no event is made.
TEST_F(InventoryApi, OnlyTheAdminCreatesEvents) {
  const json::object body{{"name", unique_name()}, {"total_tickets", 5}};
  const std::string before = db_snapshot();
  const HttpResponse anonymous = post_as("/events", body, kNoCredential);
  EXPECT_TRUE(is_problem(anonymous, 401, "unauthenticated"));
  EXPECT_EQ(anonymous.header("WWW-Authenticate"), "Bearer");
  EXPECT_TRUE(is_problem(post_as("/events", body, as("not-a-token")), 401, "unauthenticated"));
  EXPECT_TRUE(is_problem(post_as("/events", body, {{"Authorization", "Basic " + test_tokens().admin}}), 401,
                         "unauthenticated"));
  // The admin token with one character changed is an unknown token.
  std::string almost = test_tokens().admin;
  almost.back() = almost.back() == '0' ? '1' : '0';
  EXPECT_TRUE(is_problem(post_as("/events", body, as(almost)), 401, "unauthenticated"));
  EXPECT_TRUE(is_problem(post_as("/events", body, as(test_tokens().service)), 403, "forbidden"));
  EXPECT_EQ(db_snapshot(), before);

  EXPECT_TRUE(is_json(post_as("/events", body, as(test_tokens().admin)), 201));
  // The scheme is case-insensitive.
  EXPECT_TRUE(is_json(post_as("/events", body, {{"Authorization", "bearer " + test_tokens().admin}}), 201));
}

// Anyone may hold tickets and read events (the original service's manual reserve works without a
// credential), but only the service role (or admin) sells, releases, reads a hold by id or reserves in
// batches: an anonymous caller can never sell a hold, nor release another buyer's by guessing its id.
TEST_F(InventoryApi, AnyoneHoldsButOnlyTheServiceSellsOrReleases) {
  const std::int64_t event = create_event(10);
  const HttpResponse held = post_as("/inventory/reserve", json::object{{"event_id", event}, {"quantity", 1}}, kNoCredential);
  ASSERT_TRUE(is_json(held, 200)) << held.describe();
  const std::int64_t id = int_field(held.json(), "reservation_id");
  const std::string key = string_field(held.json(), "reservation_key");
  EXPECT_TRUE(is_json(http_request(inventory().port(), "GET", "/events/" + std::to_string(event), "", kNoCredential), 200));

  const std::string before = db_snapshot();
  const json::object by_id{{"reservation_id", id}};
  const json::object by_key{{"reservation_key", key}};
  const json::object batch{{"reserves", json::array{json::object{{"event_id", event}, {"quantity", 1}}}}};
  for (const Headers& credential : {kNoCredential, as("not-a-token")}) {
    EXPECT_TRUE(is_problem(post_as("/inventory/confirm", by_id, credential), 401, "unauthenticated"));
    EXPECT_TRUE(is_problem(post_as("/inventory/confirm", by_key, credential), 401, "unauthenticated"));
    EXPECT_TRUE(is_problem(post_as("/inventory/release", by_id, credential), 401, "unauthenticated"));
    EXPECT_TRUE(is_problem(post_as("/inventory/release", by_key, credential), 401, "unauthenticated"));
    EXPECT_TRUE(is_problem(post_as("/inventory/reserve-batch", batch, credential), 401, "unauthenticated"));
    EXPECT_TRUE(is_problem(http_request(inventory().port(), "GET", "/inventory/reservations/" + std::to_string(id), "",
                                        credential),
                           401, "unauthenticated"));
  }
  EXPECT_EQ(db_snapshot(), before);
  EXPECT_EQ(api_counts(event), (EventCounts{10, 9, 1, 0}));

  EXPECT_TRUE(is_json(http_request(inventory().port(), "GET", "/inventory/reservations/" + std::to_string(id), "",
                                   as(test_tokens().service)),
                      200));
  EXPECT_TRUE(is_json(post_as("/inventory/confirm", by_id, as(test_tokens().service)), 200));
  EXPECT_EQ(api_counts(event), (EventCounts{10, 9, 0, 1}));
  // admin may do all that the service role may.
  const HttpResponse other = post_as("/inventory/reserve", json::object{{"event_id", event}, {"quantity", 2}}, kNoCredential);
  ASSERT_TRUE(is_json(other, 200));
  EXPECT_TRUE(is_json(post_as("/inventory/release", json::object{{"reservation_id", int_field(other.json(), "reservation_id")}},
                              as(test_tokens().admin)),
                      200));
  EXPECT_EQ(api_counts(event), (EventCounts{10, 9, 0, 1}));
}

// The maker of an anonymous hold gets its secret, once, and may give the hold back with it; nobody else
// may, with another hold's secret or none, and the secret sells nothing.
TEST_F(InventoryApi, AHoldsMakerReleasesItWithItsSecretAndNobodyElseCan) {
  const std::int64_t event = create_event(10);
  const json::object mine_body{{"event_id", event}, {"quantity", 2}, {"reservation_key", "maker-" + unique_name()}};
  const HttpResponse mine = post_as("/inventory/reserve", mine_body, kNoCredential);
  const HttpResponse theirs = post_as("/inventory/reserve", json::object{{"event_id", event}}, kNoCredential);
  ASSERT_TRUE(is_json(mine, 200));
  ASSERT_TRUE(is_json(theirs, 200));
  const std::string secret = string_field(mine.json(), "hold_secret");
  EXPECT_EQ(secret.size(), 64u);
  EXPECT_NE(secret, string_field(theirs.json(), "hold_secret"));
  const std::int64_t id = int_field(mine.json(), "reservation_id");
  // A replay does not answer the secret again, and no read shows it or its digest.
  const HttpResponse replay = post_as("/inventory/reserve", mine_body, kNoCredential);
  ASSERT_TRUE(is_json(replay, 200));
  EXPECT_FALSE(replay.json().as_object().contains("hold_secret"));
  const HttpResponse read = get(reservation_path(id));
  EXPECT_EQ(read.body.find(sha256_hex(secret)), std::string::npos);
  EXPECT_FALSE(read.json().as_object().contains("hold_secret"));

  const std::string before = db_snapshot();
  const json::object by_id{{"reservation_id", id}};
  for (const Headers& wrong : {kNoCredential, as(string_field(theirs.json(), "hold_secret")), as("x")}) {
    EXPECT_TRUE(is_problem(post_as("/inventory/release", by_id, wrong), 401, "unauthenticated"));
  }
  // The secret releases, it does not sell; nor does it give back a reserve ahead of time by key.
  EXPECT_TRUE(is_problem(post_as("/inventory/confirm", by_id, as(secret)), 401, "unauthenticated"));
  EXPECT_TRUE(is_problem(post_as("/inventory/release",
                                 json::object{{"reservation_key", "not-yet-" + unique_name()}, {"event_id", event},
                                              {"quantity", 1}},
                                 as(secret)),
                         401, "unauthenticated"));
  EXPECT_EQ(db_snapshot(), before);

  const HttpResponse released = post_as("/inventory/release", by_id, as(secret));
  ASSERT_TRUE(is_json(released, 200));
  EXPECT_EQ(string_field(released.json(), "status"), "RELEASED");
  EXPECT_EQ(api_counts(event), (EventCounts{10, 9, 1, 0}));
  // By key too, and again (unchanged).
  EXPECT_TRUE(is_json(post_as("/inventory/release", json::object{{"reservation_key", mine_body.at("reservation_key")}},
                              as(secret)),
                      200));
  EXPECT_EQ(api_counts(event), (EventCounts{10, 9, 1, 0}));
}

// ---- metrics ----

// What `flashtix-inventory --version` prints after the program's name.
std::string build_version_of_binary() {
  const std::string dir = make_temp_dir("flashtix-version-");
  SpawnOptions options;
  options.argv = {service_bin_dir() + "/flashtix-inventory", "--version"};
  options.drop_env_prefixes = {"FLASHTIX_"};
  options.log_path = dir + "/version.txt";
  EXPECT_EQ(run_to_completion(options, 10s), 0);
  std::string printed = file_tail(options.log_path);
  remove_tree(dir);
  EXPECT_EQ(printed.rfind("flashtix-inventory ", 0), 0u) << printed;
  printed = printed.substr(printed.find(' ') + 1);
  while (!printed.empty() && printed.back() == '\n') printed.pop_back();
  EXPECT_NE(printed.find('+'), std::string::npos) << "a version is <project>+<commit>: " << printed;
  return printed;
}

// /metrics is the Prometheus text format, and its counters follow what a sale does.
TEST_F(InventoryApi, MetricsParseAndMoveWithTheSale) {
  const std::int64_t event = create_event(3);
  const Samples before = scrape_metrics(inventory_port());
  const std::string reserve_route = R"({method="POST",route="/inventory/reserve",status="2xx"})";
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 3; ++i) {
    const HttpResponse held = reserve(event, 1);
    ASSERT_TRUE(is_json(held, 200));
    ids.push_back(int_field(held.json(), "reservation_id"));
  }
  ASSERT_TRUE(is_problem(reserve(event, 1), 409, "sold_out"));
  ASSERT_TRUE(is_json(confirm_by_id(ids[0]), 200));
  ASSERT_TRUE(is_json(release_by_id(ids[1]), 200));
  const Samples after = scrape_metrics(inventory_port());

  const auto moved = [&](const std::string& key) { return sample(after, key) - sample(before, key); };
  EXPECT_EQ(moved(R"(flashtix_holds_total{transition="made"})"), 3);
  EXPECT_EQ(moved(R"(flashtix_holds_total{transition="sold"})"), 1);
  EXPECT_EQ(moved(R"(flashtix_holds_total{transition="released"})"), 1);
  EXPECT_EQ(moved(R"(flashtix_reserves_refused_total{reason="sold_out"})"), 1);
  EXPECT_EQ(moved("flashtix_http_requests_total" + reserve_route), 3);
  EXPECT_EQ(moved(R"(flashtix_http_requests_total{method="POST",route="/inventory/reserve",status="4xx"})"), 1);
  EXPECT_EQ(moved(R"(flashtix_http_request_duration_seconds_count{method="POST",route="/inventory/reserve"})"), 4);
  EXPECT_GE(moved(R"(flashtix_inventory_transaction_requests_count{})"), 1);
  EXPECT_EQ(sample(after, "flashtix_build_info{service=\"inventory\",version=\"" + build_version_of_binary() + "\"}"), 1);
  EXPECT_GT(sample(after, "process_start_time_seconds{}"), 1.7e9);
  EXPECT_GE(sample(after, "flashtix_db_connections_open{}"), 1);
  // The probes are open and never rate limited, like /health.
  EXPECT_EQ(http_request(inventory_port(), "GET", "/metrics", "", {{"Authorization", ""}}).status, 200);
}

// pg_stat_activity tells the service's sessions from any other.
TEST_F(InventoryApi, ItsDatabaseSessionsCarryItsName) {
  ASSERT_TRUE(is_json(get("/ready"), 200));
  const Rows named = pg().admin_query(
      "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'flashtix-inventory'");
  EXPECT_GE(std::stoll(named[0][0]), 1);
}

// ---- the live sale ----

// A stream's first update, and one that says `available` tickets are left; "" when none came in time.
std::string stock_update(RawConnection& stream, std::int64_t available, std::chrono::milliseconds timeout) {
  const std::string wanted = "\"available_tickets\":" + std::to_string(available) + ",";
  return stream.read_until(wanted, timeout).data;
}

// The raw request of `event`'s live stream.
std::string stream_request(std::int64_t event) {
  return "GET /events/" + std::to_string(event) + "/stream HTTP/1.1\r\nHost: x\r\n\r\n";
}

TEST_F(InventoryApi, AStreamSendsTheCountsAndEveryChangeWithinASecond) {
  const std::int64_t event = create_event(10);
  RawConnection stream(inventory_port());
  ASSERT_TRUE(stream.send(stream_request(event)));
  const std::string opening = stock_update(stream, 10, 5s);
  ASSERT_NE(opening.find("HTTP/1.1 200"), std::string::npos) << opening;
  EXPECT_NE(opening.find("Content-Type: text/event-stream"), std::string::npos) << opening;
  EXPECT_NE(opening.find("event: stock\ndata: {\"id\":" + std::to_string(event)), std::string::npos) << opening;

  ASSERT_TRUE(is_json(reserve(event, 3), 200));
  const auto reserved_at = std::chrono::steady_clock::now();
  const std::string update = stock_update(stream, 7, 3s);
  EXPECT_LT(std::chrono::steady_clock::now() - reserved_at, 1s) << "the change took longer than a second: " << update;
  EXPECT_NE(update.find("\"held_tickets\":3,"), std::string::npos) << update;

  EXPECT_TRUE(is_problem(get("/events/999999999/stream"), 404, "event_not_found"));
  EXPECT_TRUE(is_problem(get("/events/x/stream"), 400, "invalid_request"));
}

// Opens `count` more live streams of `event` (an event of 5 tickets, none sold) on the inventory at `port`,
// each up to its first stock update, into `open`.
void open_streams(unsigned short port, std::int64_t event, int count,
                  std::vector<std::unique_ptr<RawConnection>>& open) {
  for (int i = 0; i < count; ++i) {
    open.push_back(std::make_unique<RawConnection>(port));
    ASSERT_TRUE(open.back()->send(stream_request(event)));
    ASSERT_NE(stock_update(*open.back(), 5, 5s).find("event: stock"), std::string::npos);
  }
}

TEST_F(InventoryApi, StreamsPastTheirBoundAreRefusedAndTheirPlacesComeBack) {
  auto bounded = start_on_test_database("flashtix-inventory", {{"FLASHTIX_MAX_STREAM_SUBSCRIBERS", "2"}});
  const std::int64_t event = create_event(5);
  const std::string request = stream_request(event);
  std::vector<std::unique_ptr<RawConnection>> open;
  ASSERT_NO_FATAL_FAILURE(open_streams(bounded->port(), event, 2, open));
  const HttpResponse refused = http_request(bounded->port(), "GET", "/events/" + std::to_string(event) + "/stream");
  EXPECT_TRUE(is_problem(refused, 503, "too_many_subscribers"));
  EXPECT_TRUE(refused.has_header("Retry-After"));
  // A client that goes away gives its place back within a tick or so.
  open.back()->close();
  open.pop_back();
  EXPECT_TRUE(eventually(5s, [&] {
    RawConnection again(bounded->port());
    again.send(request);
    return again.read_until("event: stock", 2s).data.find("HTTP/1.1 200") != std::string::npos;
  }));
  // Streams end with the process: SIGTERM does not wait for them.
  const auto stopping = std::chrono::steady_clock::now();
  EXPECT_EQ(bounded->stop(), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - stopping, 5s);
}

TEST_F(InventoryApi, OneClientCannotTakeEveryStream) {
  auto bounded = start_on_test_database("flashtix-inventory", {{"FLASHTIX_MAX_STREAMS_PER_CLIENT", "2"}});
  const std::int64_t event = create_event(5);
  std::vector<std::unique_ptr<RawConnection>> open;
  ASSERT_NO_FATAL_FAILURE(open_streams(bounded->port(), event, 2, open));
  EXPECT_TRUE(is_problem(http_request(bounded->port(), "GET", "/events/" + std::to_string(event) + "/stream", "",
                                      {{"Authorization", ""}}),
                         503, "too_many_subscribers"));
  EXPECT_EQ(bounded->stop(), 0);
}

TEST_F(InventoryApi, TheSalePageIsServedAtTheRoot) {
  const HttpResponse page = http_request(inventory_port(), "GET", "/", "", {{"Authorization", ""}});
  ASSERT_EQ(page.status, 200) << page.describe();
  EXPECT_EQ(page.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("new EventSource(\"/events/\" + event.id + \"/stream\")"), std::string::npos);
}

// ---- per-buyer limits ----

std::int64_t create_limited_event(std::int64_t total_tickets, std::int64_t max_per_buyer) {
  const HttpResponse created = post("/events", json::object{{"name", unique_name()},
                                                            {"total_tickets", total_tickets},
                                                            {"max_tickets_per_buyer", max_per_buyer}});
  if (created.status != 201) throw std::runtime_error("creating a limited event: " + created.describe());
  return int_field(created.json(), "id");
}

HttpResponse reserve_for(std::int64_t event_id, std::int64_t quantity, std::string_view buyer,
                         std::optional<std::int64_t> hold_seconds = std::nullopt) {
  json::object body{{"event_id", event_id}, {"quantity", quantity}, {"buyer", buyer}};
  if (hold_seconds) body["hold_seconds"] = *hold_seconds;
  return post("/inventory/reserve", body);
}

TEST_F(InventoryApi, AnEventMayLimitTicketsPerBuyer) {
  const std::int64_t open = create_event(10);
  EXPECT_TRUE(is_null_field(get(event_path(open)).json(), "max_tickets_per_buyer"));
  const std::int64_t event = create_limited_event(10, 4);
  EXPECT_EQ(int_field(get(event_path(event)).json(), "max_tickets_per_buyer"), 4);
  for (const json::value& bad : {json::value(0), json::value(-1), json::value("4"), json::value(1.5)}) {
    const std::string before = db_snapshot();
    EXPECT_TRUE(is_problem(post("/events", json::object{{"name", unique_name()}, {"total_tickets", 5},
                                                        {"max_tickets_per_buyer", bad}}),
                           400, "invalid_request"))
        << bad;
    EXPECT_EQ(db_snapshot(), before);
  }
}

TEST_F(InventoryApi, ABuyerHoldsAndBuysUpToTheLimitWhateverTheSpellingOfTheAddress) {
  const std::int64_t event = create_limited_event(100, 4);
  const HttpResponse first = reserve_for(event, 3, "Ada@Example.com");
  ASSERT_TRUE(is_json(first, 200));
  // Nothing of the address is answered or stored in inventory: only its digest, for counting.
  EXPECT_EQ(first.body.find("xample"), std::string::npos) << first.body;
  const Rows stored = pg().admin_query("SELECT buyer_digest FROM inventory.reservations WHERE id = " +
                                       std::to_string(int_field(first.json(), "reservation_id")));
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0][0], sha256_hex("ada@example.com"));

  const HttpResponse over = reserve_for(event, 2, " ada@EXAMPLE.com ");
  ASSERT_TRUE(is_problem(over, 409, "buyer_limit_reached"));
  EXPECT_EQ(int_field(over.json(), "max_tickets_per_buyer"), 4);
  EXPECT_EQ(int_field(over.json(), "buyer_tickets"), 3);
  EXPECT_EQ(db_counts(event), (EventCounts{100, 97, 3, 0}));
  // Another buyer is not counted against her, and a smaller request of hers still fits.
  EXPECT_TRUE(is_json(reserve_for(event, 4, "bob@example.com"), 200));
  ASSERT_TRUE(is_json(reserve_for(event, 1, "ada@example.com"), 200));
  EXPECT_TRUE(is_problem(reserve_for(event, 1, "ada@example.com"), 409, "buyer_limit_reached"));

  // A sold hold still counts; a released one and one past its time no more.
  EXPECT_TRUE(is_json(confirm_by_id(int_field(first.json(), "reservation_id")), 200));
  EXPECT_TRUE(is_problem(reserve_for(event, 1, "ada@example.com"), 409, "buyer_limit_reached"));
  const std::int64_t carol = create_limited_event(100, 2);
  const HttpResponse short_hold = reserve_for(carol, 2, "carol@example.com", 1);
  ASSERT_TRUE(is_json(short_hold, 200));
  EXPECT_TRUE(is_problem(reserve_for(carol, 1, "carol@example.com"), 409, "buyer_limit_reached"));
  EXPECT_TRUE(eventually(5s, [&] { return reserve_for(carol, 2, "carol@example.com").status == 200; }));
  const HttpResponse dave = reserve_for(carol, 2, "dave@example.com");
  ASSERT_TRUE(is_json(dave, 200));
  EXPECT_TRUE(is_json(release_by_id(int_field(dave.json(), "reservation_id")), 200));
  EXPECT_TRUE(is_json(reserve_for(carol, 2, "dave@example.com"), 200));
}

TEST_F(InventoryApi, ALimitedEventNeedsTheBuyerAndABuyerMustBeAnAddress) {
  const std::int64_t event = create_limited_event(10, 2);
  const HttpResponse anonymous = reserve(event, 1);
  ASSERT_TRUE(is_problem(anonymous, 400, "buyer_required"));
  EXPECT_EQ(int_field(anonymous.json(), "max_tickets_per_buyer"), 2);
  for (const char* bad : {"", "ada", "ada@", "a@b@c", "ada @example.com"}) {
    EXPECT_TRUE(is_problem(reserve_for(event, 1, bad), 400, "invalid_request")) << bad;
  }
  EXPECT_EQ(db_counts(event), (EventCounts{10, 10, 0, 0}));
  EXPECT_EQ(pg().admin_query("SELECT count(*) FROM inventory.reservations WHERE event_id = " + std::to_string(event))[0][0],
            "0");
  // An event without a limit takes a buyer and does not count it.
  const std::int64_t open = create_event(10);
  EXPECT_TRUE(is_json(reserve_for(open, 5, "ada@example.com"), 200));
  EXPECT_TRUE(is_json(reserve_for(open, 5, "ada@example.com"), 200));
}

// ---- sales windows ----

std::int64_t create_event_selling(std::optional<std::string> start, std::optional<std::string> end) {
  json::object body{{"name", "windowed"}, {"total_tickets", 10}};
  body["sales_start"] = start ? json::value(*start) : json::value(nullptr);
  body["sales_end"] = end ? json::value(*end) : json::value(nullptr);
  const HttpResponse created = post("/events", body);
  if (created.status != 201) throw std::runtime_error("POST /events answered " + created.describe());
  return int_field(created.json(), "id");
}

TEST_F(InventoryApi, AReserveBeforeTheSaleOpensIsRefusedAndOneAtTheOpeningHolds) {
  const std::string opens = utc_in(2500ms);
  const std::int64_t event = create_event_selling(opens, std::nullopt);
  const HttpResponse shown = get("/events/" + std::to_string(event));
  ASSERT_TRUE(is_json(shown, 200));
  EXPECT_EQ(string_field(shown.json(), "sales_start"), opens);
  EXPECT_TRUE(shown.json().as_object().at("sales_end").is_null());

  // Seconds before it opens: refused, saying when it opens, and nothing held.
  for (int i = 0; i < 3; ++i) {
    const HttpResponse early = reserve(event, 1);
    ASSERT_TRUE(is_problem(early, 409, "not_on_sale")) << early.describe();
    EXPECT_EQ(string_field(early.json(), "sales_start"), opens);
    EXPECT_TRUE(early.json().as_object().at("sales_end").is_null());
  }
  EXPECT_EQ(db_counts(event), (EventCounts{10, 10, 0, 0}));
  EXPECT_EQ(pg().admin_query("SELECT count(*) FROM inventory.reservations WHERE event_id = " + std::to_string(event))[0][0],
            "0");

  // At the opening (and not a moment after it by much): the first reserve holds.
  sleep_until_utc(opens);
  const HttpResponse opened = reserve(event, 2);
  ASSERT_TRUE(is_json(opened, 200)) << opened.describe();
  EXPECT_EQ(int_field(opened.json(), "remaining_tickets"), 8);
}

TEST_F(InventoryApi, AtTheEndOfItsWindowAnEventStopsSellingButItsHoldsLiveOn) {
  const std::string closes = utc_in(1500ms);
  const std::int64_t event = create_event_selling(utc_in(-60s), closes);
  const HttpResponse held = reserve(event, 3);
  ASSERT_TRUE(is_json(held, 200));
  sleep_until_utc(closes);
  const HttpResponse late = reserve(event, 1);
  ASSERT_TRUE(is_problem(late, 409, "not_on_sale")) << late.describe();
  EXPECT_EQ(string_field(late.json(), "sales_end"), closes);
  EXPECT_EQ(db_counts(event), (EventCounts{10, 7, 3, 0}));
  // The hold made inside the window is still the buyer's to release (or to buy).
  EXPECT_TRUE(is_json(release_by_id(int_field(held.json(), "reservation_id")), 200));
  EXPECT_EQ(db_counts(event), (EventCounts{10, 10, 0, 0}));
}

HttpResponse patch_event(std::int64_t event, const json::object& change,
                         std::vector<std::pair<std::string, std::string>> headers = {}) {
  return http_request(inventory_port(), "PATCH", "/events/" + std::to_string(event), json::serialize(change), headers);
}

TEST_F(InventoryApi, TheAdminMovesTheOpeningAndReservesSeeItWithinTheRecheck) {
  const std::string later = utc_in(1h);
  const std::int64_t event = create_event_selling(later, std::nullopt);
  ASSERT_TRUE(is_problem(reserve(event, 1), 409, "not_on_sale"));

  // Only the admin moves it.
  EXPECT_EQ(patch_event(event, {{"sales_start", nullptr}}, {{"Authorization", ""}}).status, 401);
  EXPECT_EQ(patch_event(event, {{"sales_start", nullptr}}, {{"Authorization", "Bearer " + test_tokens().service}}).status,
            403);
  EXPECT_TRUE(is_problem(reserve(event, 1), 409, "not_on_sale"));

  // Bad changes change nothing: nothing to change, a bad instant, an end before the start it keeps.
  EXPECT_TRUE(is_problem(patch_event(event, {}), 400, "invalid_request"));
  EXPECT_TRUE(is_problem(patch_event(event, {{"sales_end", "soon"}}), 400, "invalid_request"));
  EXPECT_TRUE(is_problem(patch_event(event, {{"sales_end", utc_in(1min)}}), 400, "invalid_request"));
  EXPECT_TRUE(is_problem(patch_event(999'999'999, {{"sales_start", nullptr}}), 404, "event_not_found"));
  EXPECT_EQ(string_field(get("/events/" + std::to_string(event)).json(), "sales_start"), later);

  // Opened now: the reserves see it within the recheck of the refusals from memory.
  const HttpResponse opened = patch_event(event, {{"sales_start", nullptr}});
  ASSERT_TRUE(is_json(opened, 200)) << opened.describe();
  EXPECT_TRUE(opened.json().as_object().at("sales_start").is_null());
  EXPECT_TRUE(eventually(3s, [&] { return reserve(event, 1).status == 200; }));
  // And closed again with an end: the end is kept, the start stays cleared.
  const std::string closes = utc_in(500ms);
  ASSERT_TRUE(is_json(patch_event(event, {{"sales_end", closes}}), 200));
  sleep_until_utc(closes);
  EXPECT_TRUE(eventually(3s, [&] { return is_problem(reserve(event, 1), 409, "not_on_sale"); }));
  EXPECT_EQ(db_counts(event), (EventCounts{10, 9, 1, 0}));
}

TEST_F(InventoryApi, ASalesWindowMustBeTwoDateTimesInOrder) {
  const std::string start = utc_in(60s);
  for (const auto& [field, value] : std::vector<std::pair<std::string, json::value>>{
           {"sales_start", "next friday"}, {"sales_start", 1796490000}, {"sales_end", "2026-02-30T10:00:00Z"}}) {
    json::object body{{"name", "windowed"}, {"total_tickets", 10}};
    body[field] = value;
    EXPECT_TRUE(is_problem(post("/events", body), 400, "invalid_request")) << field << " " << json::serialize(value);
  }
  json::object backwards{{"name", "windowed"}, {"total_tickets", 10}, {"sales_start", start}, {"sales_end", start}};
  EXPECT_TRUE(is_problem(post("/events", backwards), 400, "invalid_request"));
}

// A session the server ended while it sat idle in a pool (an administrator's kill, a restart) is
// found out before it is lent, not by the request that gets it.
TEST_F(InventoryApi, ASessionTheServerEndedIsNotLentToARequest) {
  const std::int64_t event = create_event(100);
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(is_json(reserve(event, 1), 200));
  const Rows ended = pg().admin_query(
      "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity "
      "WHERE application_name = 'flashtix-inventory' AND pid <> pg_backend_pid()");
  ASSERT_FALSE(ended.empty());
  std::string pids;
  for (const auto& row : ended) pids += (pids.empty() ? "" : ",") + row[0];
  // Gone, each of them; the service's loops may have opened new sessions meanwhile, which are not these.
  ASSERT_TRUE(eventually(10s, [&] {
    return pg().admin_query("SELECT count(*) FROM pg_stat_activity WHERE pid IN (" + pids + ")")[0][0] == "0";
  }));
  for (int i = 0; i < 8; ++i) EXPECT_TRUE(is_json(reserve(event, 1), 200)) << "reserve " << i;
  EXPECT_EQ(db_counts(event).available, 84);
}

// ---- the database going away (last in this file: it restarts PostgreSQL, and a
// connection of another thread may still be finding that out when the next test runs) ----

TEST_F(InventoryApi, ZDatabaseOutageAnswers503AndTheServiceRecovers) {
  const std::int64_t event = create_event(10);
  pg().stop_server();

  // /health does not need the database; /ready and the API do.
  EXPECT_TRUE(is_json(get("/health"), 200));
  const HttpResponse ready = http_request(inventory_port(), "GET", "/ready", "", {}, 15s);
  EXPECT_EQ(ready.status, 503) << ready.describe();
  const HttpResponse down = http_request(inventory_port(), "POST", "/inventory/reserve",
                                         json::serialize(json::object{{"event_id", event}}), {}, 15s);
  EXPECT_TRUE(is_problem(down, 503, "database_unavailable"));
  EXPECT_FALSE(down.header("Retry-After").empty()) << down.describe();

  pg().start_server();
  EXPECT_TRUE(eventually(30s, [] { return get("/ready").status == 200; }))
      << "/ready is not 200 within 30 s of the database coming back";
  const HttpResponse held = reserve(event, 1);
  ASSERT_TRUE(is_json(held, 200));
  EXPECT_EQ(int_field(held.json(), "remaining_tickets"), 9);
}

}  // namespace
}  // namespace flashtix::test
