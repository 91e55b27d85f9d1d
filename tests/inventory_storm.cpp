// The storm shared by the inventory concurrency tests (see inventory_storm.hpp).
#include "inventory_storm.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

namespace flashtix::test {

namespace json = boost::json;
using namespace std::chrono_literals;

std::string reserve_body(std::int64_t event_id, std::int64_t quantity, const std::string& key,
                         std::int64_t hold_seconds) {
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

namespace {

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

}  // namespace

void run_storm(const std::vector<unsigned short>& ports) {
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

  const auto worker = [&](int index) {
    std::mt19937 random(seed + static_cast<std::uint32_t>(index));
    std::vector<Hold> mine;
    std::vector<std::string> my_errors;
    Tally tally;
    // Workers are spread over the instances: their batches of this one event meet at its row lock.
    HttpConnection connection(ports[static_cast<std::size_t>(index) % ports.size()]);
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
        if (response.status == 200 && int_field(body, "quantity") == hold.quantity) {
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

}  // namespace flashtix::test
