// Per-event batching seen from outside: the storm at batch size 1 and at the largest batch, two
// instances on one database, the bounds that answer 503 overloaded, refusals that take no lock, and
// reads that do not grow with the holds.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <iostream>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "inventory_harness.hpp"
#include "inventory_storm.hpp"
#include "support/credentials.hpp"

namespace flashtix::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

using InventoryBatching = LedgerCheckedTest;

// Another inventory process on the environment's database, with `settings` on top.
std::unique_ptr<ServiceProcess> start_inventory(EnvVars settings) {
  return start_on_test_database("flashtix-inventory", std::move(settings));
}

void stop_cleanly(ServiceProcess& service) {
  EXPECT_EQ(service.stop(), 0) << "an inventory instance must exit 0 on SIGTERM; log tail:\n" << service.log_tail();
}

std::string lock_event_row(std::int64_t event_id) {
  return "BEGIN; SELECT 1 FROM inventory.events WHERE id = " + std::to_string(event_id) + " FOR UPDATE";
}

std::int64_t stored_holds(std::int64_t event_id) {
  return std::stoll(pg().admin_query("SELECT count(*) FROM inventory.reservations WHERE event_id = " +
                                     std::to_string(event_id))[0][0]);
}

double median_ms(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

// The median time of `count` GET /events/{id} on one kept-alive connection.
double median_read_ms(unsigned short port, std::int64_t event_id, int count) {
  HttpConnection connection(port);
  std::vector<double> samples;
  for (int i = 0; i < count; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const HttpResponse response = connection.request("GET", "/events/" + std::to_string(event_id), "");
    samples.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    EXPECT_EQ(response.status, 200) << response.describe();
  }
  return median_ms(samples);
}

TEST_F(InventoryBatching, TheStormHoldsAtBatchSizeOne) {
  auto one_at_a_time = start_inventory({{"FLASHTIX_MAX_BATCH_SIZE", "1"}});
  run_storm({one_at_a_time->port()});
  stop_cleanly(*one_at_a_time);
}

TEST_F(InventoryBatching, TheStormHoldsAtTheLargestBatch) {
  auto largest = start_inventory({{"FLASHTIX_MAX_BATCH_SIZE", "10000"}});
  run_storm({largest->port()});
  stop_cleanly(*largest);
}

// Each instance batches on its own; the event row lock puts their batches one after the other.
TEST_F(InventoryBatching, TwoInstancesSellOneEventExactly) {
  auto second = start_inventory({});
  const std::int64_t event = create_event(500);
  const std::vector<LoadRequest> requests(1000, LoadRequest{"POST", "/inventory/reserve", reserve_body(event, 1)});
  std::vector<LoadResult> first_results;
  std::vector<LoadResult> second_results;
  std::thread other([&] { second_results = run_load(second->port(), requests, 50); });
  first_results = run_load(inventory_port(), requests, 50);
  other.join();

  int created = 0;
  int sold_out = 0;
  std::set<std::int64_t> ids;
  for (const auto* results : {&first_results, &second_results}) {
    for (const LoadResult& result : *results) {
      const json::value body = parse_or_null(result.body);
      if (result.status == 200) {
        ++created;
        ids.insert(int_field(body, "reservation_id"));
      } else if (result.status == 409 && code_of(body) == "sold_out") {
        ++sold_out;
      } else {
        ADD_FAILURE() << "unexpected answer: " << describe(result);
      }
    }
  }
  EXPECT_EQ(created, 500);
  EXPECT_EQ(sold_out, 1500);
  EXPECT_EQ(ids.size(), 500u) << "a reservation id was handed out twice";
  EXPECT_EQ(api_counts(event), (EventCounts{500, 0, 500, 0}));
  EXPECT_EQ(db_counts(event), (EventCounts{500, 0, 500, 0}));
  stop_cleanly(*second);
}

// Buyers who send everything at once, to two instances, in batches of every size: none ends up with more
// than the event's limit, and what each was told it holds is what the database holds for it.
TEST_F(InventoryBatching, APerBuyerLimitHoldsWhenOneBuyerStormsTwoInstances) {
  constexpr std::int64_t kLimit = 5;
  auto second = start_inventory({});
  const HttpResponse created = post("/events", json::object{{"name", unique_name()},
                                                            {"total_tickets", 1000},
                                                            {"max_tickets_per_buyer", kLimit}});
  ASSERT_EQ(created.status, 201) << created.describe();
  const std::int64_t event = int_field(created.json(), "id");
  // Three buyers, each under several spellings of one address, mixed quantities, in a seeded order.
  const std::vector<std::vector<std::string>> spellings{
      {"ada@example.com", "ADA@example.com", " Ada@Example.COM"}, {"bob@example.com", "Bob@EXAMPLE.com"},
      {"cy@example.com"}};
  std::mt19937 random(test_seed());
  std::vector<LoadRequest> first_requests, second_requests;
  std::vector<std::size_t> first_buyers, second_buyers;
  for (int i = 0; i < 600; ++i) {
    const std::size_t buyer = random() % spellings.size();
    const std::string& address = spellings[buyer][random() % spellings[buyer].size()];
    const std::int64_t quantity = 1 + static_cast<std::int64_t>(random() % 3);
    const std::string body = json::serialize(json::object{{"event_id", event}, {"quantity", quantity}, {"buyer", address}});
    (i % 2 == 0 ? first_requests : second_requests).push_back(LoadRequest{"POST", "/inventory/reserve", body});
    (i % 2 == 0 ? first_buyers : second_buyers).push_back(buyer);
  }
  std::vector<LoadResult> first_results, second_results;
  std::thread other([&] { second_results = run_load(second->port(), second_requests, 40); });
  first_results = run_load(inventory_port(), first_requests, 40);
  other.join();

  std::vector<std::int64_t> told(spellings.size(), 0);
  const auto tally = [&](const std::vector<LoadResult>& results, const std::vector<std::size_t>& buyers) {
    for (std::size_t i = 0; i < results.size(); ++i) {
      const json::value body = parse_or_null(results[i].body);
      if (results[i].status == 200) {
        told[buyers[i]] += int_field(body, "quantity");
      } else if (results[i].status != 409 || code_of(body) != "buyer_limit_reached") {
        ADD_FAILURE() << "unexpected answer: " << describe(results[i]);
      }
    }
  };
  tally(first_results, first_buyers);
  tally(second_results, second_buyers);
  for (std::size_t buyer = 0; buyer < spellings.size(); ++buyer) {
    SCOPED_TRACE(spellings[buyer][0]);
    EXPECT_LE(told[buyer], kLimit);
    // With 1-ticket requests among hundreds, every buyer reaches the limit exactly.
    EXPECT_EQ(told[buyer], kLimit);
    const Rows held = pg().admin_query(
        "SELECT coalesce(sum(quantity), 0) FROM inventory.reservations WHERE event_id = " + std::to_string(event) +
        " AND status = 'HELD' AND buyer_digest = '" + sha256_hex(spellings[buyer][0]) + "'");
    EXPECT_EQ(std::stoll(held[0][0]), told[buyer]);
  }
  EXPECT_EQ(api_counts(event), (EventCounts{1000, 1000 - 3 * kLimit, 3 * kLimit, 0}));
  stop_cleanly(*second);
}

// A confirm that waits for its event's row past the hold's time does not sell it: the hold's time is
// judged when the row is had, not when the transaction began. (Another instance's batch may have counted
// the hold gone meanwhile, against a per-buyer limit, and sold the tickets again.)
TEST_F(InventoryBatching, AConfirmThatWaitsForItsRowPastTheHoldsTimeDoesNotSellIt) {
  const std::int64_t event = create_event(5);
  const HttpResponse held = post("/inventory/reserve", json::object{{"event_id", event}, {"quantity", 1}, {"hold_seconds", 1}});
  ASSERT_EQ(held.status, 200) << held.describe();
  const std::int64_t id = int_field(held.json(), "reservation_id");
  auto blocker = pg().session();
  blocker->exec(lock_event_row(event));
  HttpResponse confirmed;
  std::thread confirm([&] { confirmed = post("/inventory/confirm", json::object{{"reservation_id", id}}); });
  // Past the hold's time, and well inside the confirm's lock timeout (3 s).
  std::this_thread::sleep_for(1600ms);
  blocker->exec("COMMIT");
  confirm.join();
  EXPECT_TRUE(is_problem(confirmed, 409, "hold_expired"));
  EXPECT_TRUE(eventually(3s, [&] { return db_status(id) == "EXPIRED"; })) << db_status(id);
  EXPECT_EQ(db_counts(event), (EventCounts{5, 5, 0, 0}));
}

TEST_F(InventoryBatching, TwoInstancesWeatherTheStormTogether) {
  auto second = start_inventory({});
  run_storm({inventory_port(), second->port()});
  stop_cleanly(*second);
}

// One request in the transaction, one waiting: with the event row held elsewhere, everyone else is
// told at once to come back later, and nothing of theirs is stored.
TEST_F(InventoryBatching, PastItsBoundsAnEventQueueAnswers503Overloaded) {
  auto tight = start_inventory({{"FLASHTIX_MAX_BATCH_SIZE", "1"}, {"FLASHTIX_MAX_WAITING_PER_EVENT", "1"}});
  const std::int64_t event = create_event(1000);
  auto blocker = pg().session();
  blocker->exec(lock_event_row(event));
  const std::vector<LoadRequest> requests(20, LoadRequest{"POST", "/inventory/reserve", reserve_body(event, 1)});
  std::vector<LoadResult> results;
  std::thread load([&] { results = run_load(tight->port(), requests, 20); });
  std::this_thread::sleep_for(400ms);
  // The queue is full: the answer comes at once and says when to come back.
  const HttpResponse extra = http_request(tight->port(), "POST", "/inventory/reserve", reserve_body(event, 1));
  EXPECT_TRUE(is_problem(extra, 503, "overloaded"));
  EXPECT_EQ(extra.header("Retry-After"), "1");
  std::this_thread::sleep_for(300ms);
  blocker->exec("COMMIT");
  load.join();

  int created = 0;
  int overloaded = 0;
  for (const LoadResult& result : results) {
    const json::value body = parse_or_null(result.body);
    if (result.status == 200) {
      ++created;
    } else if (result.status == 503 && code_of(body) == "overloaded") {
      ++overloaded;
    } else {
      ADD_FAILURE() << "unexpected answer: " << describe(result);
    }
  }
  EXPECT_EQ(created + overloaded, 20);
  EXPECT_GE(overloaded, 15);
  EXPECT_EQ(stored_holds(event), created);
  stop_cleanly(*tight);
}

// A request no transaction took within its wait is answered 503 and never runs, even once the event
// is free again.
TEST_F(InventoryBatching, ARequestThatWaitedTooLongIsRefusedAndNeverRuns) {
  auto impatient = start_inventory({{"FLASHTIX_QUEUE_WAIT_MS", "300"}});
  const std::int64_t event = create_event(1000);
  auto blocker = pg().session();
  blocker->exec(lock_event_row(event));
  std::vector<LoadRequest> requests;
  for (int i = 0; i < 10; ++i) {
    requests.push_back(LoadRequest{"POST", "/inventory/reserve", reserve_body(event, 1, unique_name("late"))});
  }
  std::vector<LoadResult> results;
  std::thread load([&] { results = run_load(impatient->port(), requests, 10); });
  std::this_thread::sleep_for(1000ms);
  blocker->exec("COMMIT");
  load.join();

  int created = 0;
  int refused = 0;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const json::value body = parse_or_null(results[i].body);
    if (results[i].status == 200) {
      ++created;
    } else if (results[i].status == 503 && code_of(body) == "overloaded") {
      ++refused;
      EXPECT_FALSE(results[i].body.empty());
    } else {
      ADD_FAILURE() << "unexpected answer: " << describe(results[i]);
    }
  }
  EXPECT_EQ(created + refused, 10);
  EXPECT_GE(refused, 1) << "every request was taken before the row lock was let go";
  // Nothing turns up later for the refused ones.
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(stored_holds(event), created);
  stop_cleanly(*impatient);
}

// The caller says how long it waits; a reserve that gets the event's row only after that holds nothing,
// so a buyer told "unavailable" is not holding tickets for the whole hold time.
TEST_F(InventoryBatching, AReserveItsCallerStoppedWaitingForHoldsNothing) {
  const std::int64_t event = create_event(10);
  auto blocker = pg().session();
  blocker->exec(lock_event_row(event));
  HttpResponse alone;
  HttpResponse batch;
  std::thread load([&] {
    std::thread other([&] {
      batch = http_request(inventory_port(), "POST", "/inventory/reserve-batch",
                           R"({"reservations": [)" + reserve_body(event, 2) + "]}", {{"X-Request-Timeout-Ms", "300"}});
    });
    alone = http_request(inventory_port(), "POST", "/inventory/reserve", reserve_body(event, 2),
                         {{"X-Request-Timeout-Ms", "300"}});
    other.join();
  });
  std::this_thread::sleep_for(800ms);
  blocker->exec("COMMIT");
  load.join();
  EXPECT_TRUE(is_problem(alone, 503, "deadline_passed"));
  EXPECT_EQ(alone.header("Retry-After"), "1");
  ASSERT_TRUE(is_json(batch, 200));
  const json::value answers = batch.json();
  const json::value& item = answers.at("results").at(0);
  EXPECT_EQ(item.at("status").as_int64(), 503) << batch.describe();
  EXPECT_EQ(code_of(item.at("body")), "deadline_passed");
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(stored_holds(event), 0);
  EXPECT_EQ(api_counts(event), (EventCounts{10, 10, 0, 0}));
  // With time to wait, the same request holds.
  EXPECT_TRUE(is_json(http_request(inventory_port(), "POST", "/inventory/reserve", reserve_body(event, 2),
                                   {{"X-Request-Timeout-Ms", "5000"}}),
                      200));
  EXPECT_EQ(api_counts(event), (EventCounts{10, 8, 2, 0}));
}

// The release of a reserve still waiting for the event's row (as another instance's batch holds it)
// leaves a tombstone at once; the reserve then finds its key released and holds nothing.
TEST_F(InventoryBatching, AReleaseOvertakingItsReserveLeavesNothingHeld) {
  const std::int64_t event = create_event(10);
  const std::string key = unique_name("overtaken");
  auto blocker = pg().session();
  blocker->exec("BEGIN; SELECT 1 FROM inventory.events WHERE id = " + std::to_string(event) + " FOR NO KEY UPDATE");
  HttpResponse late;
  std::thread reserving([&] { late = http_request(inventory_port(), "POST", "/inventory/reserve", reserve_body(event, 2, key)); });
  std::this_thread::sleep_for(300ms);
  const HttpResponse released = http_request(inventory_port(), "POST", "/inventory/release",
                                             json::serialize(json::object{{"reservation_key", key},
                                                                          {"event_id", event},
                                                                          {"quantity", 2}}));
  EXPECT_TRUE(is_json(released, 200));
  blocker->exec("COMMIT");
  reserving.join();
  ASSERT_TRUE(is_json(late, 200));
  EXPECT_EQ(string_field(late.json(), "status"), "RELEASED");
  EXPECT_EQ(api_counts(event), (EventCounts{10, 10, 0, 0}));
  EXPECT_EQ(db_counts(event), (EventCounts{10, 10, 0, 0}));
}

// Once this instance saw the event sell out, refusals need neither the event row nor a commit: they
// are answered while another client holds the row. Tickets given back through it are sold again at once.
TEST_F(InventoryBatching, ASoldOutEventRefusesWithoutWaitingForItsRow) {
  auto remembering = start_inventory({{"FLASHTIX_SOLD_OUT_RECHECK_MS", "60000"}});
  HttpConnection client(remembering->port());
  const std::int64_t event = create_event(3);
  const std::string kept_key = unique_name("kept");
  std::int64_t kept_id = 0;
  for (int i = 0; i < 3; ++i) {
    const HttpResponse held =
        client.request("POST", "/inventory/reserve", reserve_body(event, 1, i == 0 ? kept_key : unique_name("h")));
    ASSERT_TRUE(is_json(held, 200));
    if (i == 0) kept_id = int_field(held.json(), "reservation_id");
  }

  auto blocker = pg().session();
  blocker->exec(lock_event_row(event));
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 50; ++i) {
    const HttpResponse refused = client.request("POST", "/inventory/reserve", reserve_body(event, 1));
    ASSERT_TRUE(is_problem(refused, 409, "sold_out"));
    EXPECT_EQ(int_field(refused.json(), "available_tickets"), 0);
  }
  // A retry with the key of a hold still finds that hold; a new client key is refused too.
  const HttpResponse retried = client.request("POST", "/inventory/reserve", reserve_body(event, 1, kept_key));
  EXPECT_TRUE(is_json(retried, 200));
  EXPECT_EQ(int_field(retried.json(), "reservation_id"), kept_id);
  EXPECT_TRUE(is_problem(client.request("POST", "/inventory/reserve", reserve_body(event, 1, unique_name("new"))), 409,
                         "sold_out"));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  blocker->exec("ROLLBACK");
  std::cout << "[refusals] 52 answers in " << seconds << " s with the event row held elsewhere" << std::endl;
  // Waiting for the row would have meant waiting for the ROLLBACK above.
  EXPECT_LT(seconds, 2.0);

  const HttpResponse released =
      client.request("POST", "/inventory/release", json::serialize(json::object{{"reservation_id", kept_id}}));
  ASSERT_TRUE(is_json(released, 200));
  EXPECT_TRUE(is_json(client.request("POST", "/inventory/reserve", reserve_body(event, 1)), 200));
  EXPECT_EQ(api_counts(event), (EventCounts{3, 0, 3, 0}));
  stop_cleanly(*remembering);
}

// The next transaction takes what every event's queue gathered while the last one ran, the events that
// were in it too: a sale spread over many events commits as seldom as one hot event. (Holds made by one
// transaction share its id, xmin.)
TEST_F(InventoryBatching, WhatArrivesDuringATransactionGoesInTheNextOneTogether) {
  auto desk = start_inventory({});
  const std::int64_t first = create_event(10);
  const std::int64_t second = create_event(10);
  auto blocker = pg().session();
  blocker->exec(lock_event_row(first));
  HttpResponse waiting_for_the_row;
  std::thread in_flight([&] {
    waiting_for_the_row = http_request(desk->port(), "POST", "/inventory/reserve", reserve_body(first, 1));
  });
  std::this_thread::sleep_for(300ms);
  // While that transaction waits for the row: one more reserve of the same event, one of another.
  const std::vector<LoadRequest> requests{{"POST", "/inventory/reserve", reserve_body(first, 1)},
                                          {"POST", "/inventory/reserve", reserve_body(second, 1)}};
  std::vector<LoadResult> results;
  std::thread during([&] { results = run_load(desk->port(), requests, 2); });
  std::this_thread::sleep_for(300ms);
  blocker->exec("COMMIT");
  in_flight.join();
  during.join();
  EXPECT_TRUE(is_json(waiting_for_the_row, 200)) << waiting_for_the_row.describe();
  ASSERT_EQ(results.size(), 2u);
  for (const LoadResult& result : results) EXPECT_EQ(result.status, 200) << describe(result);

  const auto holds = pg().admin_query("SELECT event_id, xmin::text FROM inventory.reservations WHERE event_id IN (" +
                                      std::to_string(first) + ", " + std::to_string(second) + ") ORDER BY id");
  ASSERT_EQ(holds.size(), 3u);
  EXPECT_EQ(holds[0][0], std::to_string(first));
  EXPECT_NE(holds[1][1], holds[0][1]) << "the hold made while the row was held shares its transaction";
  EXPECT_EQ(holds[2][1], holds[1][1]) << "the two reserves that arrived meanwhile went in different transactions";
  stop_cleanly(*desk);
}

// The event row carries its counts: half a million holds read as fast as three.
TEST_F(InventoryBatching, AnEventWithManyHoldsReadsAsFastAsOneWithFew) {
  constexpr std::int64_t kHolds = 500'000;
  const std::int64_t many = create_event(kHolds + 10);
  const std::int64_t few = create_event(10);
  const std::string id = std::to_string(many);
  // Sold holds written straight into the tables, with the counts the inventory keeps, as its batches would.
  pg().admin_query(
      "INSERT INTO inventory.reservations (reservation_key, event_id, quantity, status, expires_at) "
      "SELECT 'bulk-" +
      id + "-' || g, " + id +
      ", 1, 'CONFIRMED', now() + interval '1 hour' "
      "FROM generate_series(1, " +
      std::to_string(kHolds) + ") g");
  pg().admin_query("UPDATE inventory.events SET available_tickets = available_tickets - " + std::to_string(kHolds) +
                   ", sold_tickets = sold_tickets + " + std::to_string(kHolds) + " WHERE id = " + id);
  pg().admin_query("ANALYZE inventory.reservations");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(is_json(post_text("/inventory/reserve", reserve_body(few, 1)), 200));
  EXPECT_EQ(api_counts(many), (EventCounts{kHolds + 10, 10, 0, kHolds}));

  const double few_ms = median_read_ms(inventory_port(), few, 31);
  const double many_ms = median_read_ms(inventory_port(), many, 31);
  std::cout << "[reads] GET /events/{id}: median " << few_ms << " ms with 3 holds, " << many_ms << " ms with " << kHolds
            << std::endl;
  // Summing half a million holds takes tens of milliseconds; reading one row takes well under one.
  EXPECT_LT(many_ms, std::max(5.0, 4 * few_ms));
}

}  // namespace
}  // namespace flashtix::test
