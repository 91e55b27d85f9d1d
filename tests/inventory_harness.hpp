// What every inventory black-box test binary shares: one PostgreSQL cluster and one flashtix-inventory
// process for the whole binary, and small helpers to talk to them and to check answers exactly.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "support/http_client.hpp"
#include "support/pg_cluster.hpp"
#include "support/service_process.hpp"
#include "support/uuid_text.hpp"

namespace flashtix::test {

// Boots the cluster and the service before the first test and stops them after the last; the service must
// then still be running (it never crashed) and exit 0 on SIGTERM.
class InventoryEnvironment : public ::testing::Environment {
 public:
  void SetUp() override;
  void TearDown() override;
};

PgCluster& pg();
ServiceProcess& inventory();
unsigned short inventory_port();
// Starts another process of `binary` on the test database with `settings` and then a test's `extra`
// environment on top; the caller stops it.
std::unique_ptr<ServiceProcess> start_on_test_database(std::string binary, EnvVars settings, EnvVars extra = {});

// Requests to the inventory service, each on its own connection.
HttpResponse get(std::string_view target);
HttpResponse post(std::string_view target, const boost::json::value& body);
HttpResponse post_text(std::string_view target, std::string_view body);

// A name no other test uses, carrying the current test's name for readable databases.
std::string unique_name(std::string_view prefix = "event");
// POST /events, its tickets at 2500 (EUR minor units); throws unless the answer is 201.
std::int64_t create_event(std::int64_t total_tickets);

// An event with ticket types, and their ids by name.
struct TypedEvent {
  std::int64_t id = 0;
  std::map<std::string, std::int64_t> type_ids;
};
// POST /events with these `ticket_types` (and the members of `more`, such as a currency); throws unless 201.
TypedEvent create_typed_event(std::int64_t total_tickets, boost::json::array types, boost::json::object more = {});

struct EventCounts {
  std::int64_t total = 0;
  std::int64_t available = 0;
  std::int64_t held = 0;
  std::int64_t sold = 0;
  bool operator==(const EventCounts&) const = default;
};
std::ostream& operator<<(std::ostream& out, const EventCounts& counts);
// The event's counts as GET /events/{id} reports them; throws unless the answer is 200.
EventCounts api_counts(std::int64_t event_id);
// The same counts read from the tables (held and sold summed from the reservations).
EventCounts db_counts(std::int64_t event_id);
// A reservation's status as stored, or "" when there is no such row.
std::string db_status(std::int64_t reservation_id);

// Field access that names the field and quotes the object when it is missing or of another type.
std::int64_t int_field(const boost::json::value& object, std::string_view name);
std::string string_field(const boost::json::value& object, std::string_view name);
bool is_null_field(const boost::json::value& object, std::string_view name);

// Checks an error answer: exactly `status`, Content-Type application/problem+json, a JSON object whose
// "code" is `code` and whose "status" member is `status`, with string "type", "title" and "detail".
::testing::AssertionResult is_problem(const HttpResponse& response, int status, std::string_view code);
// Checks a JSON answer: exactly `status` and Content-Type application/json.
::testing::AssertionResult is_json(const HttpResponse& response, int status);
// db/checks/ledger.sql returns no row.
::testing::AssertionResult ledger_balanced();
// The fixture of the tests that change stock: whatever a test did, it leaves the books balanced.
class LedgerCheckedTest : public ::testing::Test {
 protected:
  void TearDown() override { EXPECT_TRUE(ledger_balanced()); }
};
// GET /openapi.json without a credential answers 200 application/json with the document the build made for
// `service` (FLASHTIX_OPENAPI_DIR/<service>.json), as a probe: without the rate limit's fields.
::testing::AssertionResult serves_its_openapi_document(unsigned short port, std::string_view service);

// Every row of events and reservations, as text, to show that a request changed nothing.
std::string db_snapshot();

// Seconds since the epoch of an RFC 3339 UTC timestamp ("2026-11-24T10:00:00.123Z"); nothing when the
// text is not in that form.
std::optional<double> parse_utc_timestamp(std::string_view text);

// Polls `condition` every 50 ms until it holds or `timeout` passes; the last result.
template <class Condition>
bool eventually(std::chrono::milliseconds timeout, Condition condition) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// The seed of a randomised test: $FLASHTIX_TEST_SEED when set, otherwise a fresh one; printed either way.
std::uint32_t test_seed();

}  // namespace flashtix::test
