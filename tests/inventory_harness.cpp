// The shared environment of the inventory black-box tests and the checks they assert with.
#include "inventory_harness.hpp"

#include <atomic>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iterator>
#include <iostream>
#include <memory>
#include <random>
#include <stdexcept>

#include "support/posix.hpp"

namespace flashtix::test {

namespace json = boost::json;

namespace {

std::unique_ptr<PgCluster> g_cluster;
std::unique_ptr<ServiceProcess> g_service;

// The contract's seed, run as an operator would once the service has created its schema.
const char* const kSeedSql = R"sql(
INSERT INTO inventory.events (id, name, total_tickets, available_tickets)
VALUES (1, 'FlashTix Launch', 100, 100) ON CONFLICT (id) DO NOTHING;
SELECT setval(pg_get_serial_sequence('inventory.events', 'id'), (SELECT max(id) FROM inventory.events));
)sql";

std::string media_type(std::string content_type) {
  content_type = content_type.substr(0, content_type.find(';'));
  while (!content_type.empty() && content_type.back() == ' ') content_type.pop_back();
  for (auto& c : content_type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return content_type;
}

const json::value* member(const json::value& object, std::string_view name) {
  const json::object* fields = object.if_object();
  return fields == nullptr ? nullptr : fields->if_contains(name);
}

}  // namespace

std::unique_ptr<ServiceProcess> start_on_test_database(std::string binary, EnvVars settings, EnvVars extra) {
  EnvVars env{{"FLASHTIX_DATABASE_URL", pg().database_url()}};
  for (auto& entry : settings) env.push_back(std::move(entry));
  for (auto& entry : extra) env.push_back(std::move(entry));
  return std::make_unique<ServiceProcess>(std::move(binary), std::move(env));
}

void InventoryEnvironment::SetUp() {
  try {
    g_cluster = std::make_unique<PgCluster>();
    // No broker for the shared instance (a test that needs its outbox published starts one that has
    // it): a free port, so that a broker of ./flashtix up on this machine never hears from the tests.
    const std::string no_broker = "amqp://flashtix-inventory:none@127.0.0.1:" + std::to_string(free_tcp_port()) + "/";
    g_service = std::make_unique<ServiceProcess>(
        "flashtix-inventory",
        EnvVars{{"FLASHTIX_DATABASE_URL", g_cluster->database_url()}, {"FLASHTIX_AMQP_URL", no_broker}});
    g_cluster->query(kSeedSql);
    std::cout << "[harness] PostgreSQL 15 on 127.0.0.1:" << g_cluster->port() << " (" << g_cluster->directory() << "); "
              << g_service->binary_path() << " on 127.0.0.1:" << g_service->port() << " (log " << g_service->log_path()
              << ")" << std::endl;
  } catch (const std::exception& e) {
    FAIL() << "the test environment did not start: " << e.what();
  }
}

void InventoryEnvironment::TearDown() {
  const bool failed = ::testing::UnitTest::GetInstance()->Failed();
  if (g_service) {
    if (!g_service->running()) {
      ADD_FAILURE() << "flashtix-inventory stopped during the tests (exit code "
                    << g_service->last_exit_code().value_or(-1) << "); log tail:\n"
                    << g_service->log_tail();
    } else {
      const int code = g_service->stop();
      EXPECT_EQ(code, 0) << "flashtix-inventory must exit 0 on SIGTERM; log tail:\n" << g_service->log_tail();
    }
    if (failed || ::testing::UnitTest::GetInstance()->Failed()) {
      std::cout << "[harness] flashtix-inventory log tail (" << g_service->log_path() << "):\n"
                << g_service->log_tail(8000) << std::endl;
      g_service->keep_logs();
    }
  }
  if (g_cluster && (failed || ::testing::UnitTest::GetInstance()->Failed())) {
    std::cout << "[harness] PostgreSQL log tail (" << g_cluster->log_path() << "):\n"
              << g_cluster->log_tail(4000) << std::endl;
    g_cluster->keep_logs();
  }
  g_service.reset();
  g_cluster.reset();
}

PgCluster& pg() {
  if (!g_cluster) throw std::logic_error("the PostgreSQL cluster is not running");
  return *g_cluster;
}

ServiceProcess& inventory() {
  if (!g_service) throw std::logic_error("flashtix-inventory is not running");
  return *g_service;
}

unsigned short inventory_port() { return inventory().port(); }

HttpResponse get(std::string_view target) { return http_request(inventory_port(), "GET", target); }

HttpResponse post(std::string_view target, const json::value& body) {
  return http_request(inventory_port(), "POST", target, json::serialize(body));
}

HttpResponse post_text(std::string_view target, std::string_view body) {
  return http_request(inventory_port(), "POST", target, body);
}

std::string unique_name(std::string_view prefix) {
  static std::atomic<int> counter{0};
  std::string name(prefix);
  if (const auto* info = ::testing::UnitTest::GetInstance()->current_test_info()) {
    name += std::string(" ") + info->test_suite_name() + "." + info->name();
  }
  name += " #" + std::to_string(++counter);
  return name.substr(0, 200);
}

std::int64_t create_event(std::int64_t total_tickets) {
  // Priced (25.00 EUR a ticket), so that its orders are charged through the payment gateway: a free order
  // would not be.
  const HttpResponse response =
      post("/events", json::object{{"name", unique_name()}, {"total_tickets", total_tickets}, {"price_minor", 2500}});
  if (response.status != 201) {
    throw std::runtime_error("POST /events with total_tickets " + std::to_string(total_tickets) + " answered " +
                             response.describe());
  }
  return int_field(response.json(), "id");
}

TypedEvent create_typed_event(std::int64_t total_tickets, json::array types, json::object more) {
  json::object body{{"name", unique_name()}, {"total_tickets", total_tickets}, {"ticket_types", std::move(types)}};
  for (const auto& member : more) body[member.key()] = member.value();
  const HttpResponse response = post("/events", body);
  if (response.status != 201) throw std::runtime_error("POST /events answered " + response.describe());
  const json::value made = response.json();
  TypedEvent event{int_field(made, "id"), {}};
  for (const json::value& type : made.at("ticket_types").as_array()) {
    event.type_ids[string_field(type, "name")] = int_field(type, "id");
  }
  return event;
}

std::ostream& operator<<(std::ostream& out, const EventCounts& counts) {
  return out << "{total " << counts.total << ", available " << counts.available << ", held " << counts.held << ", sold "
             << counts.sold << "}";
}

EventCounts api_counts(std::int64_t event_id) {
  const HttpResponse response = get("/events/" + std::to_string(event_id));
  if (response.status != 200) {
    throw std::runtime_error("GET /events/" + std::to_string(event_id) + " answered " + response.describe());
  }
  const json::value event = response.json();
  return EventCounts{int_field(event, "total_tickets"), int_field(event, "available_tickets"),
                     int_field(event, "held_tickets"), int_field(event, "sold_tickets")};
}

EventCounts db_counts(std::int64_t event_id) {
  const Rows rows = pg().admin_query(
      "SELECT e.total_tickets, e.available_tickets,"
      "       coalesce(sum(r.quantity) FILTER (WHERE r.status = 'HELD'), 0),"
      "       coalesce(sum(r.quantity) FILTER (WHERE r.status = 'CONFIRMED'), 0)"
      "  FROM inventory.events e LEFT JOIN inventory.reservations r ON r.event_id = e.id"
      " WHERE e.id = " +
      std::to_string(event_id) + " GROUP BY e.id");
  if (rows.size() != 1) throw std::runtime_error("no event " + std::to_string(event_id) + " in the database");
  return EventCounts{std::stoll(rows[0][0]), std::stoll(rows[0][1]), std::stoll(rows[0][2]), std::stoll(rows[0][3])};
}

std::string db_status(std::int64_t reservation_id) {
  const Rows rows =
      pg().admin_query("SELECT status FROM inventory.reservations WHERE id = " + std::to_string(reservation_id));
  return rows.empty() ? std::string{} : rows[0][0];
}

std::int64_t int_field(const json::value& object, std::string_view name) {
  const json::value* value = member(object, name);
  if (value != nullptr && value->is_int64()) return value->get_int64();
  if (value != nullptr && value->is_uint64() && value->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return static_cast<std::int64_t>(value->get_uint64());
  }
  throw std::runtime_error("field '" + std::string(name) + "' is missing or not an integer in " +
                           json::serialize(object));
}

std::string string_field(const json::value& object, std::string_view name) {
  const json::value* value = member(object, name);
  if (value != nullptr && value->is_string()) return std::string(value->get_string());
  throw std::runtime_error("field '" + std::string(name) + "' is missing or not a string in " +
                           json::serialize(object));
}

bool is_null_field(const json::value& object, std::string_view name) {
  const json::value* value = member(object, name);
  return value != nullptr && value->is_null();
}

::testing::AssertionResult is_problem(const HttpResponse& response, int status, std::string_view code) {
  if (response.status != status) {
    return ::testing::AssertionFailure() << "expected " << status << " " << code << ", got " << response.describe();
  }
  if (media_type(response.header("Content-Type")) != "application/problem+json") {
    return ::testing::AssertionFailure() << "expected Content-Type application/problem+json, got "
                                         << response.describe();
  }
  boost::system::error_code ec;
  const json::value body = json::parse(response.body, ec);
  if (ec || !body.is_object()) {
    return ::testing::AssertionFailure() << "the problem body is not a JSON object: " << response.describe();
  }
  const json::value* actual_code = member(body, "code");
  if (actual_code == nullptr || !actual_code->is_string() || actual_code->get_string() != code) {
    return ::testing::AssertionFailure() << "expected code \"" << code << "\", got " << response.describe();
  }
  const json::value* actual_status = member(body, "status");
  if (actual_status == nullptr || !actual_status->is_int64() || actual_status->get_int64() != status) {
    return ::testing::AssertionFailure() << "the problem's \"status\" member must be " << status << ": "
                                         << response.describe();
  }
  for (const char* name : {"type", "title", "detail"}) {
    const json::value* text = member(body, name);
    if (text == nullptr || !text->is_string()) {
      return ::testing::AssertionFailure() << "the problem lacks a string \"" << name << "\": " << response.describe();
    }
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult is_json(const HttpResponse& response, int status) {
  if (response.status != status) {
    return ::testing::AssertionFailure() << "expected " << status << ", got " << response.describe();
  }
  if (media_type(response.header("Content-Type")) != "application/json") {
    return ::testing::AssertionFailure() << "expected Content-Type application/json, got " << response.describe();
  }
  boost::system::error_code ec;
  json::parse(response.body, ec);
  if (ec) return ::testing::AssertionFailure() << "the body is not JSON: " << response.describe();
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult ledger_balanced() {
  const Rows rows = pg().ledger_violations();
  if (rows.empty()) return ::testing::AssertionSuccess();
  auto failure = ::testing::AssertionFailure();
  failure << rows.size() << " event(s) break the ledger (id, total, available, held, sold):";
  for (const auto& row : rows) {
    failure << "\n ";
    for (const auto& cell : row) failure << " " << cell;
  }
  return failure;
}

::testing::AssertionResult serves_its_openapi_document(unsigned short port, std::string_view service) {
  const HttpResponse answer = http_request(port, "GET", "/openapi.json", "", {{"Authorization", ""}});
  if (auto json_answer = is_json(answer, 200); !json_answer) return json_answer;
  if (answer.has_header("RateLimit") || answer.has_header("RateLimit-Policy")) {
    return ::testing::AssertionFailure() << "/openapi.json is a probe, never rate limited, yet it answered "
                                         << "RateLimit: " << answer.header("RateLimit");
  }
  const std::string path = std::string(FLASHTIX_OPENAPI_DIR) + "/" + std::string(service) + ".json";
  std::ifstream file(path);
  if (!file) return ::testing::AssertionFailure() << "cannot read " << path;
  const json::value built = json::parse(std::string(std::istreambuf_iterator<char>(file), {}));
  if (answer.json() != built) {
    return ::testing::AssertionFailure() << "/openapi.json answered another document than " << path << ": "
                                         << answer.describe();
  }
  if (built.at("openapi") != "3.1.0") return ::testing::AssertionFailure() << path << " is not OpenAPI 3.1.0";
  return ::testing::AssertionSuccess();
}

std::string db_snapshot() {
  std::string text;
  const auto append = [&text](const Rows& rows) {
    for (const auto& row : rows) {
      for (const auto& cell : row) text += cell + "|";
      text += "\n";
    }
  };
  append(pg().admin_query(
      "SELECT id, name, total_tickets, available_tickets, created_at FROM inventory.events ORDER BY id"));
  append(
      pg().admin_query("SELECT id, reservation_key, event_id, quantity, status, expires_at, created_at, updated_at"
                       "  FROM inventory.reservations ORDER BY id"));
  append(pg().admin_query("SELECT id, event_id, name, price_minor, quota, available_tickets, sold_tickets"
                          "  FROM inventory.ticket_types ORDER BY id"));
  return text;
}

std::optional<double> parse_utc_timestamp(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fraction]Z, checked character by character.
  const auto digits = [&text](std::size_t at, std::size_t count) -> std::optional<int> {
    if (at + count > text.size()) return std::nullopt;
    int value = 0;
    for (std::size_t i = at; i < at + count; ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':' ||
      text.back() != 'Z') {
    return std::nullopt;
  }
  const auto year = digits(0, 4), month = digits(5, 2), day = digits(8, 2);
  const auto hour = digits(11, 2), minute = digits(14, 2), second = digits(17, 2);
  if (!year || !month || !day || !hour || !minute || !second || *month < 1 || *month > 12 || *day < 1 || *day > 31 ||
      *hour > 23 || *minute > 59 || *second > 60) {
    return std::nullopt;
  }
  double fraction = 0;
  const std::string_view rest = text.substr(19, text.size() - 20);
  if (!rest.empty()) {
    if (rest.size() < 2 || rest.size() > 10 || rest[0] != '.') return std::nullopt;
    double scale = 0.1;
    for (const char c : rest.substr(1)) {
      if (c < '0' || c > '9') return std::nullopt;
      fraction += (c - '0') * scale;
      scale /= 10;
    }
  }
  std::tm parts{};
  parts.tm_year = *year - 1900;
  parts.tm_mon = *month - 1;
  parts.tm_mday = *day;
  parts.tm_hour = *hour;
  parts.tm_min = *minute;
  parts.tm_sec = *second;
  return static_cast<double>(::timegm(&parts)) + fraction;
}

std::uint32_t test_seed() {
  std::uint32_t seed = 0;
  if (const char* text = std::getenv("FLASHTIX_TEST_SEED"); text != nullptr && *text != '\0') {
    seed = static_cast<std::uint32_t>(std::stoul(text));
  } else {
    seed = std::random_device{}();
  }
  std::cout << "[harness] seed " << seed << " (rerun with FLASHTIX_TEST_SEED=" << seed << ")" << std::endl;
  ::testing::Test::RecordProperty("seed", std::to_string(seed));
  return seed;
}

}  // namespace flashtix::test
