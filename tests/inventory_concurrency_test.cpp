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

namespace flashtix::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

class InventoryConcurrency : public ::testing::Test {
 protected:
  void TearDown() override { EXPECT_TRUE(ledger_balanced()); }
};

std::string reserve_body(std::int64_t event_id, std::int64_t quantity, const std::string& key = "",
                         std::int64_t hold_seconds = 0) {
  json::object body{{"event_id", event_id}, {"quantity", quantity}};
  if (!key.empty()) body["reservation_key"] = key;
  if (hold_seconds > 0) body["hold_seconds"] = hold_seconds;
  return json::serialize(body);
}

json::value parse_or_null(const std::string& text) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  return ec ? json::value() : value;
}

std::string code_of(const json::value& body) {
  const json::object* object = body.if_object();
  const json::value* code = object == nullptr ? nullptr : object->if_contains("code");
  return code != nullptr && code->is_string() ? std::string(code->get_string()) : std::string();
}

std::string describe(const LoadResult& result) {
  return std::to_string(result.status) + " " + result.body + (result.error.empty() ? "" : " (" + result.error + ")");
}

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
    if (result.status == 201) {
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
    if (results[i].status == 201) {
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

// Many concurrent retries of one request make one hold: one 201, the rest 200 with the same reservation.
TEST_F(InventoryConcurrency, ConcurrentRetriesOfOneKeyMakeOneHold) {
  const std::int64_t event = create_event(10);
  const std::string key = unique_name("order");
  const std::vector<LoadRequest> requests(50, LoadRequest{"POST", "/inventory/reserve", reserve_body(event, 2, key)});
  const std::vector<LoadResult> results = run_load(inventory_port(), requests, 50);

  int created = 0;
  int repeated = 0;
  std::set<std::int64_t> ids;
  for (const LoadResult& result : results) {
    if (result.status == 201) ++created;
    if (result.status == 200) ++repeated;
    if (result.status == 200 || result.status == 201) {
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
    ASSERT_TRUE(is_json(held, 201));
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

// What a client may know of one of its holds in the storm.
enum class State {
  held,
  overdue,  // confirm said hold_expired: past expires_at, though the sweeper may not have marked it yet
  confirmed,
  released,
  expired,
};
enum class Op { confirm, release, retry };

const char* name_of(State state) {
  switch (state) {
    case State::held:
      return "held";
    case State::overdue:
      return "overdue";
    case State::confirmed:
      return "confirmed";
    case State::released:
      return "released";
    case State::expired:
      return "expired";
  }
  return "?";
}

// The state a hold is in after `op` was answered with `answer` ("200 CONFIRMED", "409 hold_expired", ...),
// or nothing when that answer is wrong for a hold in `state`. Only a 1-second hold may run out mid-storm.
std::optional<State> next_state(State state, bool short_lived, Op op, const std::string& answer) {
  const bool may_expire = state == State::overdue || (state == State::held && short_lived);
  switch (op) {
    case Op::confirm:
      if ((state == State::held || state == State::confirmed) && answer == "200 CONFIRMED") return State::confirmed;
      if (may_expire && answer == "409 hold_expired") return State::overdue;
      if ((state == State::released || state == State::expired) && answer == "409 hold_expired") return state;
      return std::nullopt;
    case Op::release:
      if ((state == State::held || state == State::overdue || state == State::released) && answer == "200 RELEASED") {
        return State::released;
      }
      if ((may_expire || state == State::expired) && answer == "200 EXPIRED") return State::expired;
      if (state == State::confirmed && answer == "409 hold_confirmed") return state;
      return std::nullopt;
    case Op::retry:
      if ((state == State::held || state == State::overdue) && answer == "200 HELD") return state;
      if ((may_expire || state == State::expired) && answer == "200 EXPIRED") return State::expired;
      if (state == State::confirmed && answer == "200 CONFIRMED") return state;
      if (state == State::released && answer == "200 RELEASED") return state;
      return std::nullopt;
  }
  return std::nullopt;
}

// "200 <status>" for a reservation answer, "<status> <code>" for a problem.
std::string answer_of(const HttpResponse& response) {
  const json::value body = parse_or_null(response.body);
  const json::object* object = body.if_object();
  const json::value* status = object == nullptr ? nullptr : object->if_contains("status");
  if (response.status == 200 && status != nullptr && status->is_string()) {
    return "200 " + std::string(status->get_string());
  }
  return std::to_string(response.status) + " " + code_of(body);
}

// (c) A seeded storm of every operation, including holds that expire under it.
TEST_F(InventoryConcurrency, AMixedStormKeepsTheLedgerBalanced) {
  const std::uint32_t seed = test_seed();
  constexpr std::int64_t kTotal = 150;
  constexpr int kWorkers = 12;
  constexpr auto kStormLength = 3s;
  const std::int64_t event = create_event(kTotal);

  struct Hold {
    std::int64_t id = 0;
    std::string key;
    std::int64_t quantity = 0;
    bool short_lived = false;  // hold_seconds = 1: may expire while the storm runs
    State state = State::held;
  };
  struct Tally {
    int reserved = 0, sold_out = 0, confirmed = 0, released = 0, expired_answers = 0, retried = 0;
  };

  std::mutex mutex;
  std::vector<Hold> all_holds;
  std::vector<std::string> errors;
  Tally total_tally;
  const auto end = std::chrono::steady_clock::now() + kStormLength;
  const unsigned short port = inventory_port();

  const auto worker = [&](int index) {
    std::mt19937 random(seed + static_cast<std::uint32_t>(index));
    std::vector<Hold> mine;
    std::vector<std::string> my_errors;
    Tally tally;
    HttpConnection connection(port);
    for (int n = 0; std::chrono::steady_clock::now() < end; ++n) {
      const int op = static_cast<int>(random() % 100);
      if (op < 45 || mine.empty()) {
        Hold hold;
        hold.key = "storm-" + std::to_string(seed) + "-" + std::to_string(index) + "-" + std::to_string(n);
        hold.quantity = static_cast<std::int64_t>(random() % 3 + 1);
        hold.short_lived = random() % 3 == 0;
        const HttpResponse response = connection.request(
            "POST", "/inventory/reserve", reserve_body(event, hold.quantity, hold.key, hold.short_lived ? 1 : 0));
        const json::value body = parse_or_null(response.body);
        if (response.status == 201 && int_field(body, "quantity") == hold.quantity) {
          hold.id = int_field(body, "reservation_id");
          mine.push_back(hold);
          ++tally.reserved;
        } else if (response.status == 409 && code_of(body) == "sold_out") {
          ++tally.sold_out;
        } else {
          my_errors.push_back("reserve " + hold.key + ": " + response.describe());
        }
        continue;
      }
      Hold& hold = mine[random() % mine.size()];
      const std::string by_id = json::serialize(json::object{{"reservation_id", hold.id}});
      Op kind = Op::retry;
      HttpResponse response;
      if (op < 65) {
        kind = Op::confirm;
        response = connection.request("POST", "/inventory/confirm", by_id);
      } else if (op < 85) {
        kind = Op::release;
        // Half by id, half by key: both name the same hold.
        response = connection.request(
            "POST", "/inventory/release",
            random() % 2 == 0 ? by_id : json::serialize(json::object{{"reservation_key", hold.key}}));
      } else {
        // A client retry: the same key and body find the same hold, in whatever state it is now.
        ++tally.retried;
        response = connection.request("POST", "/inventory/reserve",
                                      reserve_body(event, hold.quantity, hold.key, hold.short_lived ? 1 : 0));
        const json::value body = parse_or_null(response.body);
        if (response.status == 200 && int_field(body, "reservation_id") != hold.id) {
          my_errors.push_back("retry " + hold.key + " found another reservation: " + response.describe());
          continue;
        }
      }
      const auto next = next_state(hold.state, hold.short_lived, kind, answer_of(response));
      if (!next) {
        my_errors.push_back("hold " + hold.key + " (" + name_of(hold.state) + ")" + " got " + response.describe());
        continue;
      }
      if (*next != hold.state) {
        if (*next == State::confirmed) ++tally.confirmed;
        if (*next == State::released) ++tally.released;
        if (*next == State::overdue || *next == State::expired) ++tally.expired_answers;
      }
      hold.state = *next;
    }
    const std::lock_guard lock(mutex);
    all_holds.insert(all_holds.end(), mine.begin(), mine.end());
    errors.insert(errors.end(), my_errors.begin(), my_errors.end());
    total_tally.reserved += tally.reserved;
    total_tally.sold_out += tally.sold_out;
    total_tally.confirmed += tally.confirmed;
    total_tally.released += tally.released;
    total_tally.expired_answers += tally.expired_answers;
    total_tally.retried += tally.retried;
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < kWorkers; ++i) {
    threads.emplace_back([&worker, &mutex, &errors, i] {
      try {
        worker(i);
      } catch (const std::exception& e) {
        const std::lock_guard lock(mutex);
        errors.push_back("worker " + std::to_string(i) + " failed: " + e.what());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::cout << "[storm] " << total_tally.reserved << " held, " << total_tally.sold_out << " sold out, "
            << total_tally.confirmed << " confirmed, " << total_tally.released << " released, "
            << total_tally.expired_answers << " found expired, " << total_tally.retried << " retried" << std::endl;
  EXPECT_TRUE(errors.empty()) << errors.size() << " wrong answers, the first: " << errors.front();
  EXPECT_GT(total_tally.reserved, 0);
  EXPECT_GT(total_tally.confirmed, 0);
  EXPECT_GT(total_tally.released, 0);

  // Every short hold is past its time a second after the storm, and swept within about a second more.
  std::this_thread::sleep_until(end + 1200ms);
  const std::string overdue = "SELECT count(*) FROM inventory.reservations WHERE event_id = " + std::to_string(event) +
                              " AND status = 'HELD' AND expires_at < now()";
  EXPECT_TRUE(eventually(2500ms, [&] { return pg().admin_query(overdue)[0][0] == "0"; }))
      << pg().admin_query(overdue)[0][0] << " holds are still HELD past expires_at";

  EXPECT_TRUE(ledger_balanced());
  const EventCounts counts = api_counts(event);
  EXPECT_EQ(counts.available + counts.held + counts.sold, counts.total) << counts;
  EXPECT_EQ(counts.total, kTotal);
  EXPECT_EQ(db_counts(event), counts);

  // What the clients were told is what the database holds.
  std::map<std::int64_t, std::string> stored;
  for (const auto& row :
       pg().admin_query("SELECT id, status FROM inventory.reservations WHERE event_id = " + std::to_string(event))) {
    stored[std::stoll(row[0])] = row[1];
  }
  EXPECT_EQ(stored.size(), all_holds.size()) << "the database holds reservations no client was given";
  std::int64_t held = 0;
  std::int64_t sold = 0;
  for (const Hold& hold : all_holds) {
    const std::string status = stored.count(hold.id) ? stored[hold.id] : "(missing)";
    std::string expected;
    switch (hold.state) {
      case State::held:
        expected = hold.short_lived ? "EXPIRED" : "HELD";
        break;
      case State::overdue:
        expected = "EXPIRED";
        break;
      case State::confirmed:
        expected = "CONFIRMED";
        break;
      case State::released:
        expected = "RELEASED";
        break;
      case State::expired:
        expected = "EXPIRED";
        break;
    }
    EXPECT_EQ(status, expected) << "reservation " << hold.id << " (" << hold.key << ")";
    if (expected == "HELD") held += hold.quantity;
    if (expected == "CONFIRMED") sold += hold.quantity;
  }
  EXPECT_EQ(counts.held, held);
  EXPECT_EQ(counts.sold, sold);
}

}  // namespace
}  // namespace flashtix::test
