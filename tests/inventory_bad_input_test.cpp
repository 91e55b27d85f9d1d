// Black-box tests of bad input: every malformed, out-of-range or hostile request gets its problem answer
// (or a closed connection where no answer is possible), changes nothing in the database, and never
// crashes or stalls the server.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
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

std::string shown(std::string_view text) {
  constexpr std::size_t kMaxShown = 200;
  return text.size() > kMaxShown
             ? std::string(text.substr(0, kMaxShown)) + "...(" + std::to_string(text.size()) + " bytes)"
             : std::string(text);
}

// Sends one bad request and checks its problem answer and that the database did not change.
void expect_rejected(std::string_view method, std::string_view target, std::string_view body, int status,
                     std::string_view code) {
  SCOPED_TRACE(std::string(method) + " " + std::string(target) + " " + shown(body));
  const std::string before = db_snapshot();
  const HttpResponse response = http_request(inventory_port(), method, target, body);
  EXPECT_TRUE(is_problem(response, status, code));
  EXPECT_EQ(db_snapshot(), before) << "a rejected request changed the database";
}

// Checks whatever a raw connection received: nothing (the server just closed) or one HTTP answer with
// `status` as application/problem+json, with `code` unless it is empty.
::testing::AssertionResult answered_or_closed(const RawConnection::ReadResult& result, int status,
                                              std::string_view code) {
  if (!result.closed) {
    return ::testing::AssertionFailure() << "the server neither answered and closed nor closed in time; got "
                                         << shown(result.data);
  }
  if (result.data.empty()) return ::testing::AssertionSuccess();
  const auto response = parse_http_response(result.data);
  if (!response) return ::testing::AssertionFailure() << "not an HTTP response: " << shown(result.data);
  if (!code.empty()) return is_problem(*response, status, code);
  if (response->status != status || response->header("Content-Type").rfind("application/problem+json", 0) != 0) {
    return ::testing::AssertionFailure() << "expected " << status << " application/problem+json, got "
                                         << response->describe();
  }
  return ::testing::AssertionSuccess();
}

class InventoryBadInput : public LedgerCheckedTest {
 protected:
  static void SetUpTestSuite() {
    event_ = create_event(10);
    event_text_ = std::to_string(event_);
  }

  // A real event with stock, so a rejection is never just "unknown event".
  static std::int64_t event_;
  static std::string event_text_;
};

std::int64_t InventoryBadInput::event_ = 0;
std::string InventoryBadInput::event_text_;

const char* const kPostTargets[] = {"/inventory/reserve", "/inventory/release", "/inventory/confirm", "/events"};

// ---- bodies that are not JSON objects ----

TEST_F(InventoryBadInput, MalformedJsonIs400MalformedJson) {
  const std::vector<std::string> bodies = {
      R"({"event_id": 1,)",
      R"({event_id: 1})",
      "",
      R"({"event_id": 1} x)",
      R"({"event_id": 1}})",
      R"({'event_id': 1})",
      "\xff\xfe{}",
      R"({"event_id": 01})",
      R"({"event_id": 1,})",
      R"({"event_id": NaN})",
      R"(/* comment */ {"event_id": 1})",
      R"({"reservation_key": "unterminated)",
      "{\"name\": \"\xc3\x28\"}",
  };
  for (const char* target : kPostTargets) {
    for (const auto& body : bodies) expect_rejected("POST", target, body, 400, "malformed_json");
  }
}

TEST_F(InventoryBadInput, DeeplyNestedJsonIsRefused) {
  const std::string nested = std::string(10000, '[') + std::string(10000, ']');
  const std::string before = db_snapshot();
  const HttpResponse response = post_text("/inventory/reserve", nested);
  // Valid JSON too deep to parse, or parsed and not an object: either code is an honest answer.
  EXPECT_TRUE(is_problem(response, 400, "malformed_json") || is_problem(response, 400, "invalid_request"))
      << response.describe();
  EXPECT_EQ(db_snapshot(), before);
}

// The problem quotes the path; bytes of it that are not UTF-8 must not make the answer invalid JSON.
TEST_F(InventoryBadInput, APathThatIsNotUtf8GetsAProblemThatIsValidJson) {
  const HttpResponse response = http_request(inventory_port(), "GET", "/%FF%FE/x");
  ASSERT_TRUE(is_problem(response, 404, "not_found"));
  EXPECT_NE(string_field(response.json(), "detail").find("\xEF\xBF\xBD"), std::string::npos) << response.describe();
}

TEST_F(InventoryBadInput, ABadRequestTimeoutHeaderIs400AndHoldsNothing) {
  for (const char* target : {"/inventory/reserve", "/inventory/reserve-batch"}) {
    const std::string one = R"({"event_id": )" + std::to_string(event_) + "}";
    const std::string body =
        std::string_view(target) == "/inventory/reserve" ? one : R"({"reservations": [)" + one + "]}";
    for (const char* value : {"soon", "-1", "1.5", "86400001", "99999999999999999999"}) {
      SCOPED_TRACE(std::string(target) + " X-Request-Timeout-Ms: " + value);
      const std::string before = db_snapshot();
      const HttpResponse response =
          http_request(inventory_port(), "POST", target, body, {{"X-Request-Timeout-Ms", value}});
      EXPECT_TRUE(is_problem(response, 400, "invalid_request"));
      EXPECT_EQ(db_snapshot(), before);
    }
  }
}

TEST_F(InventoryBadInput, AReleaseNamingHalfOfItsReserveIs400) {
  const std::string key = unique_name("half");
  const std::string event = std::to_string(event_);
  for (const std::string& body : {R"({"reservation_key": ")" + key + R"(", "event_id": )" + event + "}",
                                  R"({"reservation_key": ")" + key + R"(", "quantity": 1})",
                                  R"({"reservation_id": 1, "event_id": )" + event + R"(, "quantity": 1})",
                                  R"({"reservation_key": ")" + key + R"(", "event_id": )" + event + R"(, "quantity": 0})"}) {
    expect_rejected("POST", "/inventory/release", body, 400, "invalid_request");
  }
}

TEST_F(InventoryBadInput, JsonThatIsNotAnObjectIs400InvalidRequest) {
  for (const char* target : kPostTargets) {
    for (const char* body : {"[1,2]", "[]", "42", R"("event")", "null", "true", R"([{"event_id": 1}])"}) {
      expect_rejected("POST", target, body, 400, "invalid_request");
    }
  }
}

// ---- reserve: wrong types, missing fields, out of range ----

TEST_F(InventoryBadInput, ReserveWithABadQuantityIs400) {
  for (const char* quantity : {R"("1")", "1.5", "true", "[1]", R"({"n": 1})", "-1", "0", "11", "1e2",
                               "9223372036854775808", "-9223372036854775809", "18446744073709551616"}) {
    expect_rejected("POST", "/inventory/reserve",
                    R"({"event_id": )" + event_text_ + R"(, "quantity": )" + quantity + "}", 400, "invalid_request");
  }
}

TEST_F(InventoryBadInput, ReserveWithABadEventIdIs400) {
  for (const char* event_id : {"0", "-1", "9223372036854775808", "18446744073709551616", R"("1")", "1.5", "true", "[1]",
                               "-9223372036854775808"}) {
    expect_rejected("POST", "/inventory/reserve", std::string(R"({"event_id": )") + event_id + R"(, "quantity": 1})",
                    400, "invalid_request");
  }
  expect_rejected("POST", "/inventory/reserve", R"({"quantity": 1})", 400, "invalid_request");
  expect_rejected("POST", "/inventory/reserve", "{}", 400, "invalid_request");
  expect_rejected("POST", "/inventory/reserve", R"({"event": 1, "quantity": 1})", 400, "invalid_request");
}

TEST_F(InventoryBadInput, ReserveWithABadReservationKeyIs400) {
  const std::string too_long = "\"" + std::string(129, 'k') + "\"";
  for (const std::string& key : {std::string(R"("")"), too_long, std::string("123"), std::string("true"),
                                 std::string(R"(["k"])"), std::string(R"({"k": 1})"), std::string(R"("a\u0000b")")}) {
    expect_rejected("POST", "/inventory/reserve",
                    R"({"event_id": )" + event_text_ + R"(, "quantity": 1, "reservation_key": )" + key + "}", 400,
                    "invalid_request");
  }
}

TEST_F(InventoryBadInput, ReserveWithBadHoldSecondsIs400) {
  for (const char* hold : {"0", "-1", "3601", R"("10")", "1.5", "99999999999", "true"}) {
    expect_rejected("POST", "/inventory/reserve",
                    R"({"event_id": )" + event_text_ + R"(, "quantity": 1, "hold_seconds": )" + hold + "}", 400,
                    "invalid_request");
  }
}

// The rejections above are not over-eager: the largest allowed values go through.
TEST_F(InventoryBadInput, ReserveAcceptsTheLargestAllowedValues) {
  const std::int64_t event = create_event(20);
  const HttpResponse ten = post("/inventory/reserve", json::object{{"event_id", event}, {"quantity", 10}});
  ASSERT_TRUE(is_json(ten, 200));
  EXPECT_EQ(int_field(ten.json(), "remaining_tickets"), 10);

  const std::string longest_key(128, 'k');
  const HttpResponse long_key =
      post("/inventory/reserve", json::object{{"event_id", event}, {"quantity", 1}, {"reservation_key", longest_key}});
  ASSERT_TRUE(is_json(long_key, 200));
  EXPECT_EQ(string_field(long_key.json(), "reservation_key"), longest_key);

  const HttpResponse longest_hold =
      post("/inventory/reserve", json::object{{"event_id", event}, {"quantity", 1}, {"hold_seconds", 3600}});
  ASSERT_TRUE(is_json(longest_hold, 200));
  const auto created = parse_utc_timestamp(string_field(longest_hold.json(), "created_at"));
  const auto expires = parse_utc_timestamp(string_field(longest_hold.json(), "expires_at"));
  ASSERT_TRUE(created && expires) << longest_hold.body;
  EXPECT_NEAR(*expires - *created, 3600.0, 1.0);

  // The largest event id is well-formed, merely unknown.
  expect_rejected("POST", "/inventory/reserve", R"({"event_id": 9223372036854775807, "quantity": 1})", 404,
                  "event_not_found");
}

// ---- events ----

TEST_F(InventoryBadInput, CreateEventWithBadFieldsIs400) {
  const std::string too_long = "\"" + std::string(201, 'n') + "\"";
  for (const std::string& name : {std::string(R"("")"), too_long, std::string("5"), std::string("true"),
                                  std::string(R"(["n"])"), std::string(R"("a\u0000b")")}) {
    expect_rejected("POST", "/events", R"({"name": )" + name + R"(, "total_tickets": 10})", 400, "invalid_request");
  }
  expect_rejected("POST", "/events", R"({"total_tickets": 10})", 400, "invalid_request");
  for (const char* total : {"-1", "10000001", R"("5")", "1.5", "true", "9223372036854775808", "null"}) {
    expect_rejected("POST", "/events", std::string(R"({"name": "x", "total_tickets": )") + total + "}", 400,
                    "invalid_request");
  }
  expect_rejected("POST", "/events", R"({"name": "x"})", 400, "invalid_request");
}

// ---- release and confirm ----

TEST_F(InventoryBadInput, ReleaseAndConfirmNeedExactlyOneOfIdOrKey) {
  // A live hold, so that naming it twice over is the only thing wrong with the request.
  const HttpResponse held = post("/inventory/reserve", json::object{{"event_id", event_}, {"quantity", 1}});
  ASSERT_TRUE(is_json(held, 200));
  const std::string id = std::to_string(int_field(held.json(), "reservation_id"));
  const std::string key = string_field(held.json(), "reservation_key");
  const std::string too_long = std::string(129, 'k');
  for (const char* target : {"/inventory/release", "/inventory/confirm"}) {
    for (const std::string& body :
         {std::string("{}"), R"({"reservation_id": )" + id + R"(, "reservation_key": ")" + key + R"("})",
          std::string(R"({"reservation_id": "1"})"), std::string(R"({"reservation_id": 1.5})"),
          std::string(R"({"reservation_id": true})"), std::string(R"({"reservation_key": 5})"),
          std::string(R"({"reservation_key": ""})"), R"({"reservation_key": ")" + too_long + R"("})",
          std::string(R"({"reservation_id": 18446744073709551616})"), std::string(R"({"id": 1})")}) {
      expect_rejected("POST", target, body, 400, "invalid_request");
    }
  }
  EXPECT_EQ(db_status(int_field(held.json(), "reservation_id")), "HELD");
}

TEST_F(InventoryBadInput, UnknownIdsAre404) {
  for (const char* target : {"/inventory/release", "/inventory/confirm"}) {
    expect_rejected("POST", target, R"({"reservation_id": 987654321})", 404, "reservation_not_found");
    expect_rejected("POST", target, R"({"reservation_key": "no-such-reservation-key"})", 404, "reservation_not_found");
  }
  expect_rejected("GET", "/events/987654321", "", 404, "event_not_found");
  expect_rejected("GET", "/inventory/reservations/987654321", "", 404, "reservation_not_found");
  expect_rejected("POST", "/inventory/reserve", R"({"event_id": 987654321, "quantity": 1})", 404, "event_not_found");
}

// ---- paths, routes and methods ----

TEST_F(InventoryBadInput, NonIntegerPathIdsAre400) {
  for (const char* id : {"abc", "1.5", "12abc", "%31x", "0x10", "1e3", "99999999999999999999", "%20", "--1"}) {
    expect_rejected("GET", std::string("/events/") + id, "", 400, "invalid_request");
    expect_rejected("GET", std::string("/inventory/reservations/") + id, "", 400, "invalid_request");
  }
}

TEST_F(InventoryBadInput, UnknownRoutesAre404NotFound) {
  for (const auto& [method, target] :
       std::vector<std::pair<const char*, const char*>>{{"GET", "/index.html"},
                                                        {"GET", "/nope"},
                                                        {"GET", "/events/1/tickets"},
                                                        {"POST", "/inventory/unknown"},
                                                        {"GET", "/inventory/reservations"},
                                                        {"GET", "/inventory"},
                                                        {"POST", "/inventory/reserve/extra"},
                                                        {"DELETE", "/no/such/route"}}) {
    expect_rejected(method, target, "", 404, "not_found");
  }
}

TEST_F(InventoryBadInput, WrongMethodsAre405WithAllow) {
  struct Case {
    const char* method;
    const char* target;
    std::set<std::string> allowed;
  };
  const std::vector<Case> cases = {
      {"DELETE", "/events", {"GET", "POST"}},
      {"PATCH", "/events", {"GET", "POST"}},
      {"PUT", "/events/1", {"GET"}},
      {"DELETE", "/events/1", {"GET"}},
      {"GET", "/inventory/reserve", {"POST"}},
      {"PUT", "/inventory/reserve", {"POST"}},
      {"GET", "/inventory/release", {"POST"}},
      {"GET", "/inventory/confirm", {"POST"}},
      {"POST", "/health", {"GET"}},
      {"DELETE", "/ready", {"GET"}},
      {"POST", "/inventory/reservations/1", {"GET"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.method) + " " + c.target);
    const std::string before = db_snapshot();
    const HttpResponse response = http_request(inventory_port(), c.method, c.target, "");
    EXPECT_TRUE(is_problem(response, 405, "method_not_allowed"));
    std::set<std::string> allowed;
    std::string allow = response.header("Allow");
    for (std::size_t start = 0; start <= allow.size();) {
      std::size_t end = allow.find(',', start);
      if (end == std::string::npos) end = allow.size();
      std::string token = allow.substr(start, end - start);
      token.erase(0, token.find_first_not_of(' '));
      token.erase(token.find_last_not_of(' ') + 1);
      if (!token.empty()) allowed.insert(token);
      start = end + 1;
    }
    for (const auto& method : c.allowed)
      EXPECT_TRUE(allowed.count(method)) << "Allow: " << allow << " lacks " << method;
    EXPECT_FALSE(allowed.count(c.method)) << "Allow: " << allow;
    EXPECT_EQ(db_snapshot(), before);
  }
}

// ---- size limits ----

std::string padded_reserve_body(std::int64_t event, std::size_t size) {
  std::string body = R"({"event_id": )" + std::to_string(event) + R"(, "quantity": 1})";
  // Whitespace keeps it valid JSON of exactly the wanted size.
  body.insert(body.size() - 1, size - body.size(), ' ');
  return body;
}

TEST_F(InventoryBadInput, ABodyOverTheLimitIs413) {
  expect_rejected("POST", "/inventory/reserve", padded_reserve_body(event_, 65537), 413, "body_too_large");
  expect_rejected("POST", "/inventory/reserve", padded_reserve_body(event_, 200000), 413, "body_too_large");
  expect_rejected("POST", "/events", std::string(70000, '{'), 413, "body_too_large");

  // Announced but never sent: the answer comes from the headers alone.
  const std::string before = db_snapshot();
  RawConnection announced(inventory_port());
  ASSERT_TRUE(
      announced.send("POST /inventory/reserve HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                     "Content-Length: 10000000\r\n\r\n"));
  const auto answer = announced.read_response(5s);
  const auto response = parse_http_response(answer.data);
  ASSERT_TRUE(response) << "no answer within 5 s to a 10 MB Content-Length: " << shown(answer.data);
  EXPECT_TRUE(is_problem(*response, 413, "body_too_large"));

  // A chunked body has no length up front; the limit still holds as it streams in.
  RawConnection chunked(inventory_port());
  std::string request =
      "POST /inventory/reserve HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 20; ++i) request += "1000\r\n" + std::string(0x1000, ' ') + "\r\n";
  request += "0\r\n\r\n";
  chunked.send(request);  // the server may stop reading half-way; what it answered is checked below
  EXPECT_TRUE(answered_or_closed(chunked.read_until_closed(10s), 413, "body_too_large"));
  EXPECT_EQ(db_snapshot(), before);
}

// A client that writes its whole body before it reads (Python's http.client and requests do) still
// reads the 413: the server drains what follows for a moment instead of resetting the connection.
TEST_F(InventoryBadInput, AClientThatSendsAllOfAnOversizedBodyStillReadsThe413) {
  const std::string before = db_snapshot();
  const std::string body = padded_reserve_body(event_, 1024 * 1024);
  RawConnection client(inventory_port());
  const bool sent = client.send("POST /inventory/reserve HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                                "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_TRUE(sent) << "the server reset the connection while the body was being sent";
  const auto answer = client.read_response(5s);
  const auto response = parse_http_response(answer.data);
  ASSERT_TRUE(response) << "no answer to a 1 MiB body: " << shown(answer.data);
  EXPECT_TRUE(is_problem(*response, 413, "body_too_large"));
  EXPECT_EQ(db_snapshot(), before);
}

// Expect: 100-continue is honoured: the 413 before a body too large is sent, 100 before one that fits.
TEST_F(InventoryBadInput, Expect100ContinueIsAnsweredBeforeTheBody) {
  const std::string before = db_snapshot();
  RawConnection large(inventory_port());
  ASSERT_TRUE(large.send("POST /inventory/reserve HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                         "Expect: 100-continue\r\nContent-Length: 10000000\r\n\r\n"));
  const auto refused = parse_http_response(large.read_response(5s).data);
  ASSERT_TRUE(refused) << "no answer before the body";
  EXPECT_TRUE(is_problem(*refused, 413, "body_too_large"));
  EXPECT_EQ(db_snapshot(), before);

  const std::int64_t event = create_event(1);
  const std::string body = json::serialize(json::object{{"event_id", event}, {"quantity", 1}});
  RawConnection small(inventory_port());
  ASSERT_TRUE(small.send("POST /inventory/reserve HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                         "Expect: 100-continue\r\nConnection: close\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\n\r\n"));
  const auto go_on = small.read_response(5s);
  EXPECT_EQ(go_on.data.rfind("HTTP/1.1 100 Continue\r\n", 0), 0u) << shown(go_on.data);
  ASSERT_TRUE(small.send(body));
  const std::string rest = small.read_until_closed(5s).data;
  const auto held = parse_http_response(rest);
  ASSERT_TRUE(held) << shown(rest);
  EXPECT_TRUE(is_json(*held, 200));
}

// One client address cannot take every connection: past its own bound it is refused, others are not.
TEST_F(InventoryBadInput, OneClientCannotTakeEveryConnection) {
  auto capped = start_on_test_database("flashtix-inventory", {{"FLASHTIX_MAX_CONNECTIONS_PER_CLIENT", "4"}});
  std::vector<std::unique_ptr<HttpConnection>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<HttpConnection>(capped->port()));
    ASSERT_EQ(held.back()->get("/health").status, 200);
  }
  EXPECT_TRUE(is_problem(http_request(capped->port(), "GET", "/health"), 503, "too_many_connections"));
  held.pop_back();
  EXPECT_TRUE(eventually(3s, [&] { return http_request(capped->port(), "GET", "/health").status == 200; }));
  EXPECT_EQ(capped->stop(), 0);
}

// Anonymous calls from one address share a token bucket: past it, 429 with when to come back, and the
// refused call changes nothing. Callers with a role token and the probes are not counted.
TEST_F(InventoryBadInput, OneAnonymousClientIsRateLimited) {
  auto limited = start_on_test_database(
      "flashtix-inventory", {{"FLASHTIX_RATE_LIMIT_PER_SECOND", "1"}, {"FLASHTIX_RATE_LIMIT_BURST", "3"}});
  const std::int64_t event = create_event(100);
  const Headers anonymous{{"Authorization", ""}};
  const std::string body = R"({"event_id": )" + std::to_string(event) + "}";
  HttpConnection connection(limited->port());
  for (int i = 0; i < 3; ++i) {
    const HttpResponse held = connection.request("POST", "/inventory/reserve", body, anonymous);
    ASSERT_TRUE(is_json(held, 200)) << i;
    EXPECT_EQ(held.header("RateLimit"), "\"anonymous\";r=" + std::to_string(2 - i) + ";t=" + std::to_string(i + 1));
    EXPECT_EQ(held.header("RateLimit-Policy"), "\"anonymous\";q=3;w=3");
  }
  const std::string before = db_snapshot();
  const HttpResponse refused = connection.request("POST", "/inventory/reserve", body, anonymous);
  ASSERT_TRUE(is_problem(refused, 429, "rate_limited"));
  EXPECT_EQ(refused.header("Retry-After"), "1");
  EXPECT_EQ(refused.header("RateLimit"), "\"anonymous\";r=0;t=1");
  EXPECT_EQ(db_snapshot(), before) << "a refused call changed the database";
  // A new connection is the same client.
  EXPECT_TRUE(is_problem(http_request(limited->port(), "GET", "/events/" + std::to_string(event), "", anonymous), 429,
                         "rate_limited"));
  // The probes and the callers that prove a role go on.
  EXPECT_EQ(http_request(limited->port(), "GET", "/health", "", anonymous).status, 200);
  EXPECT_EQ(http_request(limited->port(), "GET", "/ready", "", anonymous).status, 200);
  const HttpResponse admin = http_request(limited->port(), "GET", "/events/" + std::to_string(event));
  EXPECT_TRUE(is_json(admin, 200));
  EXPECT_FALSE(admin.has_header("RateLimit"));
  // A second later the bucket has one request again.
  EXPECT_TRUE(eventually(3s, [&] {
    return http_request(limited->port(), "GET", "/events/" + std::to_string(event), "", anonymous).status == 200;
  }));
  EXPECT_EQ(limited->stop(), 0);
}

// The service raises its open-files limit to what --max-connections needs, and refuses to start,
// saying why, when the hard limit is too low for it.
TEST_F(InventoryBadInput, TheOpenFilesLimitIsRaisedOrTheServiceRefusesToStart) {
  const std::string binary = service_bin_dir() + "/flashtix-inventory";
  auto raised = std::make_unique<ServiceProcess>("/usr/bin/prlimit",
                                                 EnvVars{{"FLASHTIX_DATABASE_URL", pg().database_url()}},
                                                 std::vector<std::string>{"--nofile=1024:20000", binary});
  const std::string limits = file_tail("/proc/" + std::to_string(raised->pid()) + "/limits");
  EXPECT_NE(limits.find("Max open files            11024"), std::string::npos) << limits;
  EXPECT_EQ(raised->stop(), 0);

  const std::string dir = make_temp_dir("flashtix-nofile-");
  SpawnOptions options;
  options.argv = {"/usr/bin/prlimit", "--nofile=2000:2000", binary, "--port", std::to_string(free_tcp_port())};
  options.env = {{"FLASHTIX_DATABASE_URL", pg().database_url()}};
  options.drop_env_prefixes = {"FLASHTIX_"};
  options.log_path = dir + "/service.log";
  EXPECT_EQ(run_to_completion(options, 30s), 1);
  EXPECT_NE(file_tail(options.log_path).find("open-files limit"), std::string::npos) << file_tail(options.log_path);
  remove_tree(dir);
}

TEST_F(InventoryBadInput, ABodyOfExactlyTheLimitIsAccepted) {
  const std::int64_t event = create_event(1);
  const HttpResponse response = post_text("/inventory/reserve", padded_reserve_body(event, 65536));
  ASSERT_TRUE(is_json(response, 200));
  EXPECT_EQ(int_field(response.json(), "remaining_tickets"), 0);
}

TEST_F(InventoryBadInput, HugeHeadersAre431OrClosedNeverAHang) {
  const std::string before = db_snapshot();
  {
    RawConnection one_huge(inventory_port());
    one_huge.send("GET /health HTTP/1.1\r\nHost: test\r\nX-Big: " + std::string(100000, 'a') + "\r\n\r\n");
    EXPECT_TRUE(answered_or_closed(one_huge.read_until_closed(10s), 431, "header_too_large"));
  }
  {
    std::string many = "GET /health HTTP/1.1\r\nHost: test\r\n";
    for (int i = 0; i < 3000; ++i) many += "X-Header-" + std::to_string(i) + ": value\r\n";
    RawConnection many_small(inventory_port());
    many_small.send(many + "\r\n");
    EXPECT_TRUE(answered_or_closed(many_small.read_until_closed(10s), 431, "header_too_large"));
  }
  {
    RawConnection long_target(inventory_port());
    long_target.send("GET /events/" + std::string(100000, '1') + " HTTP/1.1\r\nHost: test\r\n\r\n");
    const auto result = long_target.read_until_closed(10s);
    // A target that long is either too large a head (431) or a bad id (400); it must not hang.
    EXPECT_TRUE(answered_or_closed(result, 431, "header_too_large") ||
                answered_or_closed(result, 400, "invalid_request"))
        << shown(result.data);
  }
  EXPECT_EQ(db_snapshot(), before);
}

// ---- bytes that are not HTTP ----

constexpr char kNulInHeader[] = "GET /health HTTP/1.1\r\nX-Nul: a\0b\r\n\r\n";

// HTTP/1.1 pipelining: requests written back to back before any answer is read are each answered, in order.
TEST_F(InventoryBadInput, PipelinedRequestsAreEachAnsweredInOrder) {
  const std::string reserve_body = R"({"event_id": )" + event_text_ + R"(, "reservation_key": "pipelined-1"})";
  const std::string requests =
      "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /events/999999999 HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /inventory/reserve HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
      std::to_string(reserve_body.size()) + "\r\n\r\n" + reserve_body +
      "GET /events/" + event_text_ + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  RawConnection connection(inventory_port());
  ASSERT_TRUE(connection.send(requests));
  const RawConnection::ReadResult received = connection.read_until_closed(20s);
  ASSERT_TRUE(received.closed) << "the server did not close after the last request; got " << shown(received.data);

  std::vector<HttpResponse> answers;
  std::string_view rest = received.data;
  while (!rest.empty()) {
    const auto answer = parse_http_response(rest);
    ASSERT_TRUE(answer) << "not an HTTP response: " << shown(rest);
    // Each answer ends where its body ends: the next starts at the following status line.
    const std::size_t next = rest.find("HTTP/1.1 ", 1);
    answers.push_back(*answer);
    rest = next == std::string_view::npos ? std::string_view{} : rest.substr(next);
  }
  ASSERT_EQ(answers.size(), 4u) << shown(received.data);
  EXPECT_TRUE(is_json(answers[0], 200));
  EXPECT_TRUE(is_problem(answers[1], 404, "event_not_found"));
  EXPECT_TRUE(is_json(answers[2], 200));
  EXPECT_EQ(string_field(answers[2].json(), "reservation_key"), "pipelined-1");
  ASSERT_TRUE(is_json(answers[3], 200));
  EXPECT_EQ(int_field(answers[3].json(), "id"), event_);
  // The event read after the reserve in the same pipeline already shows its ticket held.
  EXPECT_GE(int_field(answers[3].json(), "held_tickets"), 1);
}

TEST_F(InventoryBadInput, GarbageBytesAre400OrClosed) {
  std::mt19937 random(7);
  std::string noise;
  for (int i = 0; i < 512; ++i) noise += static_cast<char>(random() & 0xFF);
  const std::vector<std::string> payloads = {
      std::string("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 11) + noise,  // a TLS ClientHello
      "HELLO WORLD\r\n\r\n",
      "GET / HTTP/9.9\r\n\r\n",
      "GET /health HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
      "POST /inventory/reserve HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef",
      "POST /inventory/reserve HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "GET /health HTTP/1.1\r\nA header without a colon\r\n\r\n",
      std::string(kNulInHeader, sizeof(kNulInHeader) - 1),
      "GET /he alth HTTP/1.1\r\n\r\n",
      noise + "\r\n\r\n",
  };
  const std::string before = db_snapshot();
  // All at once, so the test takes as long as the slowest, not the sum.
  std::vector<std::unique_ptr<RawConnection>> connections;
  for (const auto& payload : payloads) {
    connections.push_back(std::make_unique<RawConnection>(inventory_port()));
    connections.back()->send(payload);
  }
  for (std::size_t i = 0; i < payloads.size(); ++i) {
    SCOPED_TRACE("payload " + std::to_string(i) + ": " + shown(payloads[i]));
    // The contract names no code for bytes that are not HTTP; a 400 problem or a plain close will do.
    EXPECT_TRUE(answered_or_closed(connections[i]->read_until_closed(20s), 400, ""));
  }
  EXPECT_EQ(db_snapshot(), before);
  EXPECT_TRUE(is_json(get("/health"), 200));
}

// ---- slow and vanishing clients ----

TEST_F(InventoryBadInput, SlowClientsDoNotHoldUpOthersAndAreCutOff) {
  const std::string before = db_snapshot();
  const auto start = std::chrono::steady_clock::now();

  // Half a body, then nothing.
  RawConnection stalled_body(inventory_port());
  ASSERT_TRUE(
      stalled_body.send("POST /inventory/reserve HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                        "Content-Length: 100\r\n\r\n{\"event_id\": " +
                        event_text_));
  // Half the headers, then nothing.
  RawConnection stalled_head(inventory_port());
  ASSERT_TRUE(stalled_head.send("GET /health HTTP/1.1\r\nHost: test\r\n"));
  // Headers that keep coming, a line every half second, and never end.
  RawConnection dripping(inventory_port());
  ASSERT_TRUE(dripping.send("GET /health HTTP/1.1\r\nHost: test\r\n"));
  std::atomic<bool> drip_cut{false};
  std::thread drip([&dripping, &drip_cut] {
    const auto drip_deadline = std::chrono::steady_clock::now() + 40s;
    for (int i = 0; std::chrono::steady_clock::now() < drip_deadline; ++i) {
      if (!dripping.send("X-Drip-" + std::to_string(i) + ": a\r\n")) {
        drip_cut = true;
        return;
      }
      std::this_thread::sleep_for(500ms);
    }
  });

  // Everyone else is served promptly meanwhile.
  for (int i = 0; i < 10; ++i) {
    const auto asked = std::chrono::steady_clock::now();
    const HttpResponse health = http_request(inventory_port(), "GET", "/health", "", {}, 2s);
    EXPECT_EQ(health.status, 200);
    const HttpResponse event = http_request(inventory_port(), "GET", "/events/" + event_text_, "", {}, 2s);
    EXPECT_EQ(event.status, 200) << event.describe();
    EXPECT_LT(std::chrono::steady_clock::now() - asked, 2s);
    std::this_thread::sleep_for(100ms);
  }

  // And the stalled ones are eventually let go (any answer they get is an error, never a reservation).
  const auto left = [&start] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(40s - (std::chrono::steady_clock::now() - start));
  };
  const auto body_result = stalled_body.read_until_closed(left());
  EXPECT_TRUE(body_result.closed) << "a client that stalled mid-body is still connected after 40 s";
  const auto head_result = stalled_head.read_until_closed(left());
  EXPECT_TRUE(head_result.closed) << "a client that stalled mid-headers is still connected after 40 s";
  for (const auto* result : {&body_result, &head_result}) {
    if (const auto response = parse_http_response(result->data)) {
      EXPECT_GE(response->status, 400) << response->describe();
      EXPECT_LT(response->status, 500) << response->describe();
    }
  }
  const auto drip_result = dripping.read_until_closed(left());
  drip.join();
  EXPECT_TRUE(drip_result.closed || drip_cut) << "a client dripping headers forever is still connected after 40 s";
  EXPECT_EQ(db_snapshot(), before);
}

TEST_F(InventoryBadInput, ClientsThatVanishMidRequestChangeNothing) {
  const std::string before = db_snapshot();
  const std::string head =
      "POST /inventory/reserve HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
      "Content-Length: 200\r\n\r\n";
  const std::string half_body = "{\"event_id\": " + event_text_ + ", \"quantity\": 1";
  {
    RawConnection closes(inventory_port());
    ASSERT_TRUE(closes.send(head + half_body));
    closes.close();
  }
  {
    RawConnection resets(inventory_port());
    ASSERT_TRUE(resets.send(head + half_body));
    resets.reset();
  }
  {
    RawConnection resets_in_head(inventory_port());
    ASSERT_TRUE(resets_in_head.send("POST /inventory/reserve HTTP/1.1\r\nHost: te"));
    resets_in_head.reset();
  }
  {
    // Ends its input mid-body but keeps listening: the server must give up on it rather than wait.
    RawConnection half_closed(inventory_port());
    ASSERT_TRUE(half_closed.send(head + half_body));
    half_closed.shutdown_write();
    const auto result = half_closed.read_until_closed(20s);
    EXPECT_TRUE(result.closed) << "the server kept a half-closed connection open";
    if (const auto response = parse_http_response(result.data)) {
      EXPECT_EQ(response->status, 400) << response->describe();
    }
  }
  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(is_json(get("/health"), 200));
  EXPECT_EQ(db_snapshot(), before);
}

// Last: after all of the above the same process still runs and answers.
TEST_F(InventoryBadInput, ZTheServiceSurvivedEverything) {
  EXPECT_TRUE(inventory().running()) << "flashtix-inventory exited; log tail:\n" << inventory().log_tail();
  EXPECT_TRUE(is_json(get("/health"), 200));
  EXPECT_TRUE(is_json(get("/ready"), 200));
  const HttpResponse event = get("/events/" + event_text_);
  ASSERT_TRUE(is_json(event, 200));
  EXPECT_EQ(api_counts(event_).total, 10);
}

}  // namespace
}  // namespace flashtix::test
