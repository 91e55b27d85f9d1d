// Seeded concurrency tests: many buyers hammer one event at once, then the answers they got are checked
// against each other, against GET /events/{id} and against the database's ledger.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "inventory_harness.hpp"
#include "inventory_storm.hpp"

namespace flashtix::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

using InventoryConcurrency = LedgerCheckedTest;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// (a) The classic flash sale: ten buyers for every ticket, all at once.
TEST_F(InventoryConcurrency, AThousandBuyersForAHundredTicketsGetExactlyAHundred) {
  const std::int64_t event = create_event(100);
  const std::vector<LoadRequest> requests(1000, LoadRequest{"POST", "/inventory/reserve", reserve_body(event, 1)});
  const auto start = std::chrono::steady_clock::now();
  const std::vector<LoadResult> results = run_load(inventory_port(), requests, 100);
  std::cout << "[load] 1000 reserves over 100 connections in " << seconds_since(start) << " s" << std::endl;

  int created = 0;
  int sold_out = 0;
  std::set<std::int64_t> ids;
  std::vector<std::string> unexpected;
  for (const LoadResult& result : results) {
    const json::value body = parse_or_null(result.body);
    if (result.status == 200) {
      ++created;
      ids.insert(int_field(body, "reservation_id"));
      EXPECT_EQ(int_field(body, "quantity"), 1);
      EXPECT_EQ(int_field(body, "event_id"), event);
      EXPECT_EQ(string_field(body, "status"), "HELD");
      const std::int64_t remaining = int_field(body, "remaining_tickets");
      EXPECT_GE(remaining, 0);
      EXPECT_LT(remaining, 100);
    } else if (result.status == 409 && code_of(body) == "sold_out") {
      ++sold_out;
      EXPECT_EQ(int_field(body, "available_tickets"), 0) << result.body;
    } else {
      unexpected.push_back(describe(result));
    }
  }
  EXPECT_EQ(created, 100);
  EXPECT_EQ(sold_out, 900);
  EXPECT_TRUE(unexpected.empty()) << unexpected.size() << " unexpected answers, the first: " << unexpected.front();
  EXPECT_EQ(ids.size(), 100u) << "a reservation id was handed out twice";
  EXPECT_EQ(api_counts(event), (EventCounts{100, 0, 100, 0}));
  EXPECT_EQ(db_counts(event), (EventCounts{100, 0, 100, 0}));
  const Rows rows = pg().admin_query(
      "SELECT count(*), count(*) FILTER (WHERE status = 'HELD'), coalesce(sum(quantity), 0)"
      "  FROM inventory.reservations WHERE event_id = " +
      std::to_string(event));
  EXPECT_EQ(rows[0], (std::vector<std::string>{"100", "100", "100"}));
}

// (b) Mixed quantities: what was granted is exactly what left the stock, never more than there was.
TEST_F(InventoryConcurrency, MixedQuantitiesNeverOversell) {
  const std::uint32_t seed = test_seed();
  std::mt19937 random(seed);
  std::uniform_int_distribution<int> quantity_of(1, 3);
  const std::int64_t event = create_event(100);
  std::vector<LoadRequest> requests;
  std::vector<int> quantities;
  for (int i = 0; i < 1000; ++i) {
    quantities.push_back(quantity_of(random));
    requests.push_back(LoadRequest{"POST", "/inventory/reserve", reserve_body(event, quantities.back())});
  }
  const std::vector<LoadResult> results = run_load(inventory_port(), requests, 100);

  std::int64_t granted = 0;
  int created = 0;
  std::vector<std::string> unexpected;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const json::value body = parse_or_null(results[i].body);
    if (results[i].status == 200) {
      ++created;
      granted += quantities[i];
      EXPECT_EQ(int_field(body, "quantity"), quantities[i]);
    } else if (results[i].status == 409 && code_of(body) == "sold_out") {
      // Sold out means fewer left than this buyer asked for.
      EXPECT_LT(int_field(body, "available_tickets"), quantities[i]) << results[i].body;
    } else {
      unexpected.push_back(describe(results[i]));
    }
  }
  EXPECT_TRUE(unexpected.empty()) << unexpected.size() << " unexpected answers, the first: " << unexpected.front();
  EXPECT_LE(granted, 100);
  const EventCounts counts = api_counts(event);
  EXPECT_EQ(granted, counts.total - counts.available) << counts;
  EXPECT_EQ(counts, (EventCounts{100, 100 - granted, granted, 0}));
  EXPECT_EQ(db_counts(event), counts);
  EXPECT_EQ(
      pg().admin_query("SELECT count(*) FROM inventory.reservations WHERE event_id = " + std::to_string(event))[0][0],
      std::to_string(created));
}

// Many concurrent retries of one request make one hold: one made it, the rest are told it is theirs
// again (Idempotent-Replayed), all with the same reservation.
TEST_F(InventoryConcurrency, ConcurrentRetriesOfOneKeyMakeOneHold) {
  const std::int64_t event = create_event(10);
  const std::string key = unique_name("order");
  const std::vector<LoadRequest> requests(50, LoadRequest{"POST", "/inventory/reserve", reserve_body(event, 2, key)});
  const std::vector<LoadResult> results = run_load(inventory_port(), requests, 50);

  int created = 0;
  int repeated = 0;
  std::set<std::int64_t> ids;
  for (const LoadResult& result : results) {
    if (result.status == 200 && !result.replayed) ++created;
    if (result.status == 200 && result.replayed) ++repeated;
    if (result.status == 200) {
      ids.insert(int_field(parse_or_null(result.body), "reservation_id"));
    } else {
      ADD_FAILURE() << "unexpected answer to a retried reserve: " << describe(result);
    }
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(repeated, 49);
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(api_counts(event), (EventCounts{10, 8, 2, 0}));
  EXPECT_EQ(
      pg().admin_query("SELECT count(*) FROM inventory.reservations WHERE event_id = " + std::to_string(event))[0][0],
      "1");
}

// Confirm and release racing on the same holds: each hold ends one way, and every answer agrees with it.
TEST_F(InventoryConcurrency, ConfirmAndReleaseRacingOnOneHoldHaveOneWinner) {
  const std::uint32_t seed = test_seed();
  const std::int64_t event = create_event(100);
  constexpr int kHolds = 40;
  std::vector<std::int64_t> holds;
  for (int i = 0; i < kHolds; ++i) {
    const HttpResponse held = post_text("/inventory/reserve", reserve_body(event, 1));
    ASSERT_TRUE(is_json(held, 200));
    holds.push_back(int_field(held.json(), "reservation_id"));
  }
  std::vector<LoadRequest> requests;
  std::vector<std::pair<std::size_t, bool>> meaning;  // (hold index, is a confirm)
  for (std::size_t i = 0; i < holds.size(); ++i) {
    const std::string body = json::serialize(json::object{{"reservation_id", holds[i]}});
    for (int copy = 0; copy < 3; ++copy) {
      requests.push_back(LoadRequest{"POST", "/inventory/confirm", body});
      meaning.emplace_back(i, true);
      requests.push_back(LoadRequest{"POST", "/inventory/release", body});
      meaning.emplace_back(i, false);
    }
  }
  std::mt19937 random(seed);
  std::vector<std::size_t> order(requests.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), random);
  std::vector<LoadRequest> shuffled;
  std::vector<std::pair<std::size_t, bool>> shuffled_meaning;
  for (const std::size_t i : order) {
    shuffled.push_back(requests[i]);
    shuffled_meaning.push_back(meaning[i]);
  }
  const std::vector<LoadResult> results = run_load(inventory_port(), shuffled, 60);

  // Per hold: what the confirms and the releases were told.
  std::vector<std::multiset<std::string>> confirm_answers(holds.size());
  std::vector<std::multiset<std::string>> release_answers(holds.size());
  for (std::size_t i = 0; i < results.size(); ++i) {
    const json::value body = parse_or_null(results[i].body);
    std::string answer = std::to_string(results[i].status) + " ";
    if (results[i].status == 200) {
      answer += string_field(body, "status");
    } else {
      answer += code_of(body);
    }
    auto& answers = shuffled_meaning[i].second ? confirm_answers : release_answers;
    answers[shuffled_meaning[i].first].insert(answer);
  }
  const Rows rows =
      pg().admin_query("SELECT id, status FROM inventory.reservations WHERE event_id = " + std::to_string(event));
  std::map<std::int64_t, std::string> stored;
  for (const auto& row : rows) stored[std::stoll(row[0])] = row[1];

  std::int64_t sold = 0;
  for (std::size_t i = 0; i < holds.size(); ++i) {
    SCOPED_TRACE("reservation " + std::to_string(holds[i]));
    const std::multiset<std::string> confirmed{"200 CONFIRMED", "200 CONFIRMED", "200 CONFIRMED"};
    const std::multiset<std::string> refused_release{"409 hold_confirmed", "409 hold_confirmed", "409 hold_confirmed"};
    const std::multiset<std::string> released{"200 RELEASED", "200 RELEASED", "200 RELEASED"};
    const std::multiset<std::string> refused_confirm{"409 hold_expired", "409 hold_expired", "409 hold_expired"};
    if (stored[holds[i]] == "CONFIRMED") {
      ++sold;
      EXPECT_EQ(confirm_answers[i], confirmed);
      EXPECT_EQ(release_answers[i], refused_release);
    } else {
      EXPECT_EQ(stored[holds[i]], "RELEASED");
      EXPECT_EQ(release_answers[i], released);
      EXPECT_EQ(confirm_answers[i], refused_confirm);
    }
  }
  EXPECT_EQ(api_counts(event), (EventCounts{100, 100 - sold, 0, sold}));
}

// The documented reset run again and again while holds are made, released and confirmed: it locks in
// the service's order (the event row, then the holds), so neither it nor any request fails on a deadlock,
// and every reset leaves the ledger balanced.
TEST_F(InventoryConcurrency, ResetsDuringASaleNeitherDeadlockNorUnbalanceTheLedger) {
  const std::uint32_t seed = test_seed();
  const std::int64_t event = create_event(400);
  std::vector<LoadRequest> requests;
  for (int i = 0; i < 150; ++i) {
    const HttpResponse held = post_text("/inventory/reserve", reserve_body(event, 1));
    ASSERT_TRUE(is_json(held, 200));
    const std::string body = json::serialize(json::object{{"reservation_id", int_field(held.json(), "reservation_id")}});
    requests.push_back(LoadRequest{"POST", i % 2 == 0 ? "/inventory/confirm" : "/inventory/release", body});
  }
  for (int i = 0; i < 300; ++i) requests.push_back(LoadRequest{"POST", "/inventory/reserve", reserve_body(event, 1)});
  std::mt19937 random(seed);
  std::shuffle(requests.begin(), requests.end(), random);

  // PostgreSQL ends a deadlock by failing one side, which a batch would retry unseen: count them.
  const auto deadlocks = [] {
    return std::stoll(pg().admin_query("SELECT deadlocks FROM pg_stat_database WHERE datname = 'flashtix'")[0][0]);
  };
  const std::int64_t deadlocks_before = deadlocks();
  std::vector<LoadResult> results;
  std::thread load([&] { results = run_load(inventory_port(), requests, 40); });
  std::vector<std::string> failed_resets;
  auto session = pg().session();
  for (int i = 0; i < 15; ++i) {
    try {
      session->exec("UPDATE events SET available_tickets = 400, total_tickets = 400 WHERE id = " + std::to_string(event));
    } catch (const std::exception& e) {
      failed_resets.push_back(e.what());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(5, 40)(random)));
  }
  load.join();
  EXPECT_TRUE(failed_resets.empty()) << failed_resets.size() << " resets failed, the first: " << failed_resets.front();
  for (const LoadResult& result : results) {
    // Voided by a reset before its turn: a confirm is refused (409 hold_expired); nothing is a 5xx.
    EXPECT_TRUE(result.status == 200 || result.status == 409) << describe(result);
  }
  // Backends report their counts within a second or so of going idle.
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(deadlocks(), deadlocks_before);
}

// (c) A seeded storm of every operation, including holds that expire under it.
TEST_F(InventoryConcurrency, AMixedStormKeepsTheLedgerBalanced) { run_storm({inventory_port()}); }

}  // namespace
}  // namespace flashtix::test
