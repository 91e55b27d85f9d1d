// Black-box tests of the order service over HTTP: every endpoint, idempotency, sold out, bad input.
#include <chrono>
#include <fstream>
#include <set>
#include <thread>

#include "orders_harness.hpp"
#include "support/clock.hpp"
#include "support/credentials.hpp"
#include "support/metrics.hpp"

namespace flashtix::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

TEST(OrdersApi, HealthAndReady) {
  EXPECT_TRUE(is_json(order_get(orders(), "/health"), 200));
  // Ready once its consumer and relay have connected to the broker, a moment after /health.
  HttpResponse ready;
  EXPECT_TRUE(eventually(10s, [&] {
    ready = order_get(orders(), "/ready");
    return ready.status == 200;
  })) << ready.describe();
  ASSERT_TRUE(is_json(ready, 200));
  EXPECT_EQ(string_field(ready.json(), "status"), "ready");
}

TEST(OrdersApi, ServesItsOpenApiDocument) {
  EXPECT_TRUE(serves_its_openapi_document(orders().port(), "orders"));
}

TEST(OrdersApi, SeedRequestCreatesAPendingOrderHoldingTheTickets) {
  const std::int64_t event = create_event(10);
  const HttpResponse created = order_post(orders(), order_body(event, 2));
  ASSERT_TRUE(is_json(created, 200));
  const json::value body = created.json();
  EXPECT_TRUE(is_uuid(string_field(body, "order_id")));
  EXPECT_EQ(string_field(body, "status"), "PENDING_PAYMENT");
  EXPECT_EQ(int_field(body, "event_id"), event);
  EXPECT_EQ(int_field(body, "quantity"), 2);
  EXPECT_TRUE(parse_utc_timestamp(string_field(body, "expires_at")).has_value());
  EXPECT_EQ(created.header("Location"), "/orders/" + string_field(body, "order_id"));

  // The order id is the hold's key, and the hold is HELD for exactly this order.
  const HttpResponse hold =
      get("/inventory/reservations/" + std::to_string(int_field(body, "reservation_id")));
  ASSERT_TRUE(is_json(hold, 200));
  EXPECT_EQ(string_field(hold.json(), "reservation_key"), string_field(body, "order_id"));
  EXPECT_EQ(string_field(hold.json(), "status"), "HELD");
  EXPECT_EQ(string_field(hold.json(), "expires_at"), string_field(body, "expires_at"));
  EXPECT_EQ(api_counts(event), (EventCounts{10, 8, 2, 0}));

  const HttpResponse fetched = order_get(orders(), "/orders/" + string_field(body, "order_id"));
  ASSERT_TRUE(is_json(fetched, 200));
  EXPECT_EQ(string_field(fetched.json(), "status"), "PENDING_PAYMENT");
  EXPECT_EQ(int_field(fetched.json(), "reservation_id"), int_field(body, "reservation_id"));
  EXPECT_TRUE(ledger_balanced());
}

// The original service's clients send no credential: the seed's request still sells.
TEST(OrdersApi, TheSeedRequestNeedsNoCredential) {
  const std::int64_t event = create_event(5);
  const HttpResponse created = order_post(orders(), order_body(event, 2), {{"Authorization", ""}});
  EXPECT_TRUE(is_json(created, 200)) << created.describe();
  EXPECT_EQ(api_counts(event), (EventCounts{5, 3, 2, 0}));
}

// Settings the order service cannot work with stop it at start with a usage error (exit 2) that names
// the flag: without the service token inventory sells it nothing; the bounds every service shares are
// checked together, before anything waits for the database (here there is none).
TEST(OrdersApi, SettingsItCannotWorkWithAreAUsageErrorAtStart) {
  const std::vector<std::pair<EnvVars, std::string>> cases{
      {{{"FLASHTIX_INVENTORY_TOKEN_FILE", ""}}, "inventory-token-file"},
      {{{"FLASHTIX_MAX_CONNECTIONS", "100"},
        {"FLASHTIX_MAX_CONNECTIONS_PER_CLIENT", "200"},
        {"FLASHTIX_DATABASE_URL", "postgresql://flashuser@127.0.0.1:1/flashtix"}},
       "--max-connections-per-client"},
  };
  for (const auto& [settings, named] : cases) {
    try {
      auto service = start_orders(settings);
      ADD_FAILURE() << "flashtix-orders started without knowing " << named;
    } catch (const std::runtime_error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("exited with 2"), std::string::npos) << what;
      EXPECT_NE(what.find(named), std::string::npos) << what;
    }
  }
}

// A token inventory does not know: the order fails, and nothing is held or recorded.
TEST(OrdersApi, AWrongServiceTokenSellsNothing) {
  const std::string wrong_file = make_temp_dir("flashtix-wrong-token-") + "/service-token";
  {
    std::ofstream file(wrong_file);
    file << test_tokens().admin.substr(1) << "x\n";
  }
  auto service = start_orders({{"FLASHTIX_INVENTORY_TOKEN_FILE", wrong_file}});
  const std::int64_t event = create_event(5);
  const HttpResponse refused = order_post(*service, order_body(event, 1));
  EXPECT_GE(refused.status, 500) << refused.describe();
  EXPECT_EQ(api_counts(event), (EventCounts{5, 5, 0, 0}));
  EXPECT_EQ(db_order_count(event), 0);
  EXPECT_NE(service->log_tail().find("401"), std::string::npos) << service->log_tail();
  EXPECT_EQ(service->stop(), 0);
}

HttpResponse order_call(std::string_view method, const std::string& target, const std::string& authorization) {
  return http_request(orders().port(), method, target, "", {{"Authorization", authorization}});
}

// POST /orders answers an order_secret: with it (Authorization: Bearer) the buyer reads and cancels that
// order and no other; without it, with another order's secret or with the service token: 401, nothing
// changed. admin opens every order.
TEST(OrdersApi, AnOrdersSecretOpensThatOrderAlone) {
  const std::int64_t event = create_event(10);
  const HttpResponse mine = order_post(orders(), order_body(event, 2), {{"Authorization", ""}});
  const HttpResponse theirs = order_post(orders(), order_body(event, 1), {{"Authorization", ""}});
  ASSERT_TRUE(is_json(mine, 200));
  ASSERT_TRUE(is_json(theirs, 200));
  const std::string my_secret = string_field(mine.json(), "order_secret");
  const std::string their_secret = string_field(theirs.json(), "order_secret");
  EXPECT_EQ(my_secret.size(), 64u);
  EXPECT_NE(my_secret, their_secret);
  const std::string my_order = "/orders/" + string_field(mine.json(), "order_id");

  const HttpResponse read = order_call("GET", my_order, bearer(my_secret));
  ASSERT_TRUE(is_json(read, 200));
  EXPECT_EQ(string_field(read.json(), "status"), "PENDING_PAYMENT");
  EXPECT_FALSE(read.json().as_object().contains("order_secret"));
  EXPECT_EQ(read.body.find(sha256_hex(my_secret)), std::string::npos) << "the stored digest is never answered";

  for (const std::string& wrong : {std::string(), bearer(their_secret), bearer(test_tokens().service), bearer("x")}) {
    EXPECT_TRUE(is_problem(order_call("GET", my_order, wrong), 401, "unauthenticated")) << wrong;
    EXPECT_TRUE(is_problem(order_call("POST", my_order + "/cancel", wrong), 401, "unauthenticated")) << wrong;
  }
  EXPECT_EQ(api_counts(event), (EventCounts{10, 7, 3, 0}));
  EXPECT_TRUE(is_json(order_call("GET", my_order, bearer(test_tokens().admin)), 200));

  const HttpResponse cancelled = order_call("POST", my_order + "/cancel", bearer(my_secret));
  ASSERT_TRUE(is_json(cancelled, 200)) << cancelled.describe();
  EXPECT_EQ(string_field(cancelled.json(), "status"), "CANCELLED");
  EXPECT_EQ(api_counts(event), (EventCounts{10, 9, 1, 0}));
}

// A replay of an Idempotency-Key answers the same secret, so a buyer whose answer was lost still has it.
TEST(OrdersApi, AReplayAnswersTheSameSecret) {
  const std::int64_t event = create_event(5);
  const Headers keyed{{"Idempotency-Key", "secret-" + std::to_string(event)}, {"Authorization", ""}};
  const HttpResponse first = order_post(orders(), order_body(event, 1), keyed);
  const HttpResponse again = order_post(orders(), order_body(event, 1), keyed);
  ASSERT_TRUE(is_json(first, 200));
  ASSERT_TRUE(is_json(again, 200));
  EXPECT_EQ(string_field(again.json(), "order_secret"), string_field(first.json(), "order_secret"));
  EXPECT_TRUE(is_json(order_call("GET", "/orders/" + string_field(first.json(), "order_id"),
                                 bearer(string_field(again.json(), "order_secret"))),
                      200));
}

// The list shows every order with its buyer's e-mail: admin only.
TEST(OrdersApi, OnlyTheAdminListsOrders) {
  EXPECT_TRUE(is_problem(order_call("GET", "/orders", ""), 401, "unauthenticated"));
  EXPECT_TRUE(is_problem(order_call("GET", "/orders", bearer(test_tokens().service)), 403, "forbidden"));
  EXPECT_TRUE(is_json(order_call("GET", "/orders?limit=1", bearer(test_tokens().admin)), 200));
}

// The order service's /metrics: its routes, and the batches an order goes through.
TEST(OrdersApi, MetricsCountOrdersAndTheirBatches) {
  const std::int64_t event = create_event(5);
  const Samples before = scrape_metrics(orders().port());
  ASSERT_TRUE(is_json(order_post(orders(), order_body(event, 1), {{"Idempotency-Key", "metrics-" + std::to_string(event)}}), 200));
  const Samples after = scrape_metrics(orders().port());
  const auto moved = [&](const std::string& key) { return sample(after, key) - sample(before, key); };
  EXPECT_EQ(moved(R"(flashtix_http_requests_total{method="POST",route="/orders",status="2xx"})"), 1);
  EXPECT_EQ(moved(R"(flashtix_batch_size_sum{queue="checkout writes"})"), 1);
  EXPECT_EQ(moved(R"(flashtix_batch_size_sum{queue="reserves to inventory"})"), 1);
  EXPECT_EQ(moved(R"(flashtix_batch_size_sum{queue="Idempotency-Key lookups"})"), 1);
  EXPECT_EQ(sample(after, R"(flashtix_batch_overloaded_total{queue="checkout writes"})"), 0);
}

TEST(OrdersApi, QuantityDefaultsToOneAndEmailIsKept) {
  const std::int64_t event = create_event(5);
  const HttpResponse created =
      order_post(orders(), json::object{{"event_id", event}, {"customer_email", "buyer@example.com"}});
  ASSERT_TRUE(is_json(created, 200));
  EXPECT_EQ(int_field(created.json(), "quantity"), 1);
  EXPECT_EQ(string_field(created.json(), "customer_email"), "buyer@example.com");
}

TEST(OrdersApi, SoldOutAndUnknownEvent) {
  const std::int64_t event = create_event(3);
  ASSERT_TRUE(is_json(order_post(orders(), order_body(event, 3)), 200));
  const HttpResponse sold_out = order_post(orders(), order_body(event, 1));
  ASSERT_TRUE(is_problem(sold_out, 409, "sold_out"));
  EXPECT_EQ(int_field(sold_out.json(), "available_tickets"), 0);
  EXPECT_TRUE(is_problem(order_post(orders(), order_body(987654321, 1)), 404, "event_not_found"));
  EXPECT_EQ(db_order_count(event), 1);
  EXPECT_EQ(db_hold_count(event), 1);
}

TEST(OrdersApi, BadInputIsRefusedAndChangesNothing) {
  const std::int64_t event = create_event(5);
  const std::string before = db_snapshot();
  const std::int64_t orders_before = std::stoll(pg().query("SELECT count(*) FROM orders.orders").at(0).at(0));
  for (const std::string& body :
       {std::string("{"), std::string("[]"), std::string(R"({"quantity": 1})"),
        R"({"event_id": )" + std::to_string(event) + R"(, "quantity": 0})",
        R"({"event_id": )" + std::to_string(event) + R"(, "quantity": 11})",
        R"({"event_id": )" + std::to_string(event) + R"(, "quantity": "2"})",
        R"({"event_id": )" + std::to_string(event) + R"(, "customer_email": "no-at-sign"})",
        std::string(R"({"event_id": -1})")}) {
    const HttpResponse response = http_request(orders().port(), "POST", "/orders", body);
    EXPECT_EQ(response.status, 400) << body << " -> " << response.describe();
    EXPECT_EQ(response.header("Content-Type"), "application/problem+json") << body;
  }
  EXPECT_TRUE(is_problem(order_post(orders(), order_body(event, 1), {{"Idempotency-Key", "has space"}}), 400,
                         "invalid_request"));
  EXPECT_TRUE(is_problem(order_get(orders(), "/orders/not-a-uuid"), 400, "invalid_request"));
  EXPECT_TRUE(is_problem(order_get(orders(), "/orders/00000000-0000-4000-8000-000000000000"), 404, "order_not_found"));
  EXPECT_TRUE(is_problem(order_get(orders(), "/orders?status=HELD"), 400, "invalid_request"));
  EXPECT_TRUE(is_problem(order_get(orders(), "/orders?limit=501"), 400, "invalid_request"));
  EXPECT_TRUE(is_problem(http_request(orders().port(), "DELETE", "/orders"), 405, "method_not_allowed"));
  EXPECT_TRUE(is_problem(order_get(orders(), "/nowhere"), 404, "not_found"));
  EXPECT_EQ(db_snapshot(), before);
  EXPECT_EQ(std::stoll(pg().query("SELECT count(*) FROM orders.orders").at(0).at(0)), orders_before);
}

TEST(OrdersApi, SameKeySameBodyGetsTheFirstAnswerAgain) {
  const std::int64_t event = create_event(10);
  const Headers key{{"Idempotency-Key", "same-key-" + std::to_string(test_seed()) + std::to_string(event)}};
  const HttpResponse first = order_post(orders(), order_body(event, 2), key);
  ASSERT_TRUE(is_json(first, 200));
  // Member order and spacing do not make another body.
  const HttpResponse again = http_request(orders().port(), "POST", "/orders",
                                          R"({ "quantity": 2, "event_id": )" + std::to_string(event) + "}", key);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(again.header("Idempotent-Replayed"), "true");
  // As the first answer, with where the order is.
  EXPECT_EQ(again.header("Location"), "/orders/" + string_field(again.json(), "order_id"));
  EXPECT_EQ(db_order_count(event), 1);
  // The reserve each replay makes while its key is looked up is given back before it is answered.
  EXPECT_EQ(db_live_hold_count(event), 1);
  EXPECT_EQ(api_counts(event), (EventCounts{10, 8, 2, 0}));

  const HttpResponse other = order_post(orders(), order_body(event, 3), key);
  EXPECT_TRUE(is_problem(other, 422, "idempotency_mismatch"));
  EXPECT_EQ(db_order_count(event), 1);
  EXPECT_EQ(db_live_hold_count(event), 1);
  EXPECT_EQ(api_counts(event), (EventCounts{10, 8, 2, 0}));
}

TEST(OrdersApi, ASoldOutAnswerIsReplayedToo) {
  const std::int64_t event = create_event(1);
  const HttpResponse bought = order_post(orders(), order_body(event, 1));
  ASSERT_TRUE(is_json(bought, 200));
  const Headers key{{"Idempotency-Key", "sold-out-" + std::to_string(test_seed()) + std::to_string(event)}};
  const HttpResponse first = order_post(orders(), order_body(event, 1), key);
  ASSERT_TRUE(is_problem(first, 409, "sold_out"));
  // The ticket comes back, but the key's answer stands.
  ASSERT_TRUE(is_json(post("/inventory/release", json::object{{"reservation_key", string_field(bought.json(), "order_id")}}),
                      200));
  const HttpResponse again = order_post(orders(), order_body(event, 1), key);
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(api_counts(event), (EventCounts{1, 1, 0, 0}));
}

TEST(OrdersApi, FiftyConcurrentRequestsWithOneKeyMakeOneOrder) {
  const std::int64_t event = create_event(100);
  const std::string key = "concurrent-" + std::to_string(test_seed()) + std::to_string(event);
  std::vector<HttpResponse> answers(50);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < answers.size(); ++i) {
    threads.emplace_back([&, i] { answers[i] = order_post(orders(), order_body(event, 1), {{"Idempotency-Key", key}}); });
  }
  for (auto& thread : threads) thread.join();
  std::set<std::string> created_bodies;
  int created = 0;
  for (const HttpResponse& answer : answers) {
    if (answer.status == 200) {
      ++created;
      created_bodies.insert(answer.body);
    } else {
      EXPECT_TRUE(is_problem(answer, 409, "request_in_progress")) << answer.describe();
      EXPECT_TRUE(answer.has_header("Retry-After"));
    }
  }
  EXPECT_GE(created, 1);
  EXPECT_EQ(created_bodies.size(), 1u);
  EXPECT_EQ(db_order_count(event), 1);
  // Those that came after the first was answered replayed it, each giving back its own reserve.
  EXPECT_EQ(db_live_hold_count(event), 1);
  EXPECT_EQ(api_counts(event), (EventCounts{100, 99, 1, 0}));
}

TEST(OrdersApi, ListFiltersAndPages) {
  const std::int64_t event = create_event(10);
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    const HttpResponse created = order_post(orders(), order_body(event, 1));
    ASSERT_TRUE(is_json(created, 200));
    ids.push_back(string_field(created.json(), "order_id"));
  }
  ASSERT_TRUE(is_json(http_request(orders().port(), "POST", "/orders/" + ids[0] + "/cancel"), 200));

  std::vector<std::string> seen;
  std::string target = "/orders?limit=2&event_id=" + std::to_string(event);
  for (int page = 0; page < 5; ++page) {
    const HttpResponse listed = order_get(orders(), target);
    ASSERT_TRUE(is_json(listed, 200));
    const json::value page_body = listed.json();
    for (const auto& item : page_body.at("items").as_array()) seen.push_back(string_field(item, "order_id"));
    if (is_null_field(listed.json(), "next_cursor")) break;
    target = "/orders?limit=2&event_id=" + std::to_string(event) + "&cursor=" +
             string_field(listed.json(), "next_cursor");
  }
  EXPECT_EQ(seen, ids);

  const HttpResponse pending =
      order_get(orders(), "/orders?status=PENDING_PAYMENT&limit=500&event_id=" + std::to_string(event));
  ASSERT_TRUE(is_json(pending, 200));
  EXPECT_EQ(pending.json().at("items").as_array().size(), 4u);
  const HttpResponse cancelled = order_get(orders(), "/orders?status=CANCELLED&event_id=" + std::to_string(event));
  ASSERT_TRUE(is_json(cancelled, 200));
  ASSERT_EQ(cancelled.json().at("items").as_array().size(), 1u);
  EXPECT_EQ(string_field(cancelled.json().at("items").at(0), "order_id"), ids[0]);
}

TEST(OrdersApi, CancelReleasesTheHoldOnce) {
  const std::int64_t event = create_event(4);
  const HttpResponse created = order_post(orders(), order_body(event, 3));
  ASSERT_TRUE(is_json(created, 200));
  const std::string id = string_field(created.json(), "order_id");
  const HttpResponse cancelled = http_request(orders().port(), "POST", "/orders/" + id + "/cancel");
  ASSERT_TRUE(is_json(cancelled, 200));
  EXPECT_EQ(string_field(cancelled.json(), "status"), "CANCELLED");
  EXPECT_EQ(api_counts(event), (EventCounts{4, 4, 0, 0}));
  const HttpResponse again = http_request(orders().port(), "POST", "/orders/" + id + "/cancel");
  ASSERT_TRUE(is_json(again, 200));
  EXPECT_EQ(string_field(again.json(), "status"), "CANCELLED");
  EXPECT_EQ(api_counts(event), (EventCounts{4, 4, 0, 0}));
  EXPECT_EQ(db_status(int_field(created.json(), "reservation_id")), "RELEASED");
  EXPECT_TRUE(is_problem(http_request(orders().port(), "POST", "/orders/00000000-0000-4000-8000-000000000000/cancel"),
                         404, "order_not_found"));
  EXPECT_TRUE(ledger_balanced());
}

TEST(OrdersApi, AnOrderWhoseHoldExpiresBecomesExpired) {
  auto short_holds = start_orders({{"FLASHTIX_HOLD_SECONDS", "1"}});
  const std::int64_t event = create_event(5);
  const HttpResponse created = order_post(*short_holds, order_body(event, 2));
  ASSERT_TRUE(is_json(created, 200));
  const std::string id = string_field(created.json(), "order_id");
  EXPECT_TRUE(eventually(5s, [&] {
    return string_field(order_get(*short_holds, "/orders/" + id).json(), "status") == "EXPIRED";
  }));
  EXPECT_TRUE(eventually(5s, [&] { return api_counts(event) == EventCounts{5, 5, 0, 0}; }));
  // Whichever sweeper got there first (inventory's expires it, orders' releases it), the tickets are back.
  const std::string hold = db_status(int_field(created.json(), "reservation_id"));
  EXPECT_TRUE(hold == "EXPIRED" || hold == "RELEASED") << hold;
  EXPECT_EQ(string_field(order_get(*short_holds, "/orders/" + id).json(), "status_reason"), "hold_expired");
  // The buyer is told: order.expired is in the outbox.
  EXPECT_EQ(std::stoll(pg().query("SELECT count(*) FROM orders.outbox WHERE type = 'order.expired' AND correlation_id = '" +
                                  id + "'").at(0).at(0)),
            1);
  // An expired order cannot be cancelled into CANCELLED.
  EXPECT_TRUE(is_problem(http_request(short_holds->port(), "POST", "/orders/" + id + "/cancel"), 409,
                         "order_not_cancellable"));
  EXPECT_EQ(short_holds->stop(), 0);
}

// Tables that would only grow lose their old rows, many batches of them per round; recent rows and
// unpublished events stay.
TEST(OrdersApi, RowsPastTheirRetentionArePruned) {
  auto service = start_orders({{"FLASHTIX_RETENTION_INTERVAL_MS", "200"}});
  const std::string tag = unique_name("retained");
  pg().admin_query("INSERT INTO orders.idempotency_keys "
                   "  (key, request_fingerprint, order_id, state, response_status, response_body, claimed_at) "
                   "SELECT '" + tag + "-old-' || g, 'f', gen_random_uuid(), 'DONE', 200, '{}', now() - interval '2 days' "
                   "  FROM generate_series(1, 25000) g");
  pg().admin_query("INSERT INTO orders.idempotency_keys (key, request_fingerprint, order_id, state, response_status, "
                   "  response_body) SELECT '" + tag + "-new-' || g, 'f', gen_random_uuid(), 'DONE', 200, '{}' "
                   "  FROM generate_series(1, 3) g");
  pg().admin_query("INSERT INTO orders.inbox (message_id, type, received_at) "
                   "SELECT gen_random_uuid(), '" + tag + "-old', now() - interval '8 days' FROM generate_series(1, 50)");
  pg().admin_query("INSERT INTO orders.inbox (message_id, type) SELECT gen_random_uuid(), '" + tag + "-new' "
                   "FROM generate_series(1, 2)");
  pg().admin_query("INSERT INTO orders.outbox (type, correlation_id, payload, occurred_at, published_at) VALUES "
                   "('test', '" + tag + "-published-old', '{}', now() - interval '2 days', now() - interval '2 days'), "
                   "('test', '" + tag + "-unpublished-old', '{}', now() - interval '2 days', NULL), "
                   "('test', '" + tag + "-published-new', '{}', now(), now())");
  const auto count = [&](const std::string& sql) { return std::stoll(pg().admin_query(sql).at(0).at(0)); };
  const std::string keys = "SELECT count(*) FROM orders.idempotency_keys WHERE key LIKE '" + tag + "-";
  const std::string inbox = "SELECT count(*) FROM orders.inbox WHERE type = '" + tag;
  const std::string outbox = "SELECT count(*) FROM orders.outbox WHERE correlation_id = '" + tag;
  EXPECT_TRUE(eventually(20s, [&] {
    return count(keys + "old-%'") == 0 && count(inbox + "-old'") == 0 && count(outbox + "-published-old'") == 0;
  })) << count(keys + "old-%'") << " keys, " << count(inbox + "-old'") << " inbox rows left";
  EXPECT_EQ(count(keys + "new-%'"), 3);
  EXPECT_EQ(count(inbox + "-new'"), 2);
  EXPECT_EQ(count(outbox + "-unpublished-old'"), 1);
  EXPECT_EQ(count(outbox + "-published-new'"), 1);
  EXPECT_EQ(service->stop(), 0);
}

// Before its sale opens an event takes no order, and says when it opens; the same Idempotency-Key orders
// once it has.
TEST(OrdersApi, AnOrderBeforeTheSaleOpensIsRefusedAndTheSameKeyOrdersOnceItOpens) {
  const std::string opens = utc_in(2500ms);
  const HttpResponse created =
      post("/events", json::object{{"name", unique_name()}, {"total_tickets", 10}, {"sales_start", opens}});
  ASSERT_EQ(created.status, 201) << created.describe();
  const std::int64_t event = int_field(created.json(), "id");

  const Headers keyed{{"Authorization", ""}, {"Idempotency-Key", "opening-" + std::to_string(event)}};
  const HttpResponse early = order_post(orders(), order_body(event, 2), keyed);
  ASSERT_TRUE(is_problem(early, 409, "not_on_sale")) << early.describe();
  EXPECT_EQ(string_field(early.json(), "sales_start"), opens);
  EXPECT_EQ(db_counts(event), (EventCounts{10, 10, 0, 0}));
  EXPECT_EQ(db_order_count(event), 0);

  sleep_until_utc(opens);
  const HttpResponse opened = order_post(orders(), order_body(event, 2), keyed);
  ASSERT_TRUE(is_json(opened, 200)) << opened.describe();
  EXPECT_EQ(db_counts(event), (EventCounts{10, 8, 2, 0}));
  EXPECT_EQ(db_order_count(event), 1);
}

// One buyer (one address, however spelt) placing many orders at the same instant never holds or buys more
// of an event than its limit; an order without the buyer's address is refused for such an event.
TEST(OrdersApi, ABuyerNeverPassesTheEventsLimitEvenAllAtOnce) {
  constexpr std::int64_t kLimit = 4;
  const HttpResponse created = post("/events", json::object{{"name", unique_name()},
                                                            {"total_tickets", 100},
                                                            {"max_tickets_per_buyer", kLimit}});
  ASSERT_EQ(created.status, 201) << created.describe();
  const std::int64_t event = int_field(created.json(), "id");

  const HttpResponse nameless = order_post(orders(), order_body(event, 1), {{"Authorization", ""}});
  ASSERT_TRUE(is_problem(nameless, 400, "buyer_required"));
  EXPECT_EQ(int_field(nameless.json(), "max_tickets_per_buyer"), kLimit);
  EXPECT_EQ(db_counts(event), (EventCounts{100, 100, 0, 0}));
  EXPECT_EQ(db_order_count(event), 0);

  const std::vector<std::string> spellings{"eve@example.com", "EVE@example.com", "Eve@Example.Com "};
  std::vector<HttpResponse> answers(40);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < answers.size(); ++i) {
    json::object body = order_body(event, 1 + static_cast<std::int64_t>(i % 2));
    body["customer_email"] = spellings[i % spellings.size()];
    threads.emplace_back([&answers, i, body] { answers[i] = order_post(orders(), body, {{"Authorization", ""}}); });
  }
  for (auto& thread : threads) thread.join();
  std::int64_t ordered = 0;
  for (const HttpResponse& answer : answers) {
    if (answer.status == 200) {
      ordered += int_field(answer.json(), "quantity");
    } else {
      EXPECT_TRUE(is_problem(answer, 409, "buyer_limit_reached")) << answer.describe();
    }
  }
  EXPECT_LE(ordered, kLimit);
  EXPECT_GE(ordered, kLimit - 1);  // she got what fitted, in whichever order the requests arrived
  EXPECT_EQ(api_counts(event).held, ordered);
  const Rows in_orders = pg().admin_query("SELECT coalesce(sum(quantity), 0) FROM orders.orders WHERE event_id = " +
                                          std::to_string(event) + " AND status = 'PENDING_PAYMENT'");
  EXPECT_EQ(std::stoll(in_orders[0][0]), ordered);
  // Another buyer is not held back by her.
  json::object other = order_body(event, 2);
  other["customer_email"] = "frank@example.com";
  EXPECT_TRUE(is_json(order_post(orders(), other, {{"Authorization", ""}}), 200));
}

}  // namespace
}  // namespace flashtix::test

namespace flashtix::test {
namespace {

// An order over two ticket types: all its items or none, one hold, and the total of price times quantity
// in the event's currency; a replay answers the same order, and a refusal of its items is passed on.
TEST(OrdersApi, AnOrderOverTwoTypesHoldsBothAndCostsTheirSum) {
  const TypedEvent typed =
      create_typed_event(10,
                         json::array{json::object{{"name", "General"}, {"price_minor", 2500}},
                                     json::object{{"name", "VIP"}, {"price_minor", 12000}, {"quota", 1}}},
                         {{"currency", "USD"}});
  const std::int64_t event = typed.id;
  const std::int64_t general = typed.type_ids.at("General");
  const std::int64_t vip = typed.type_ids.at("VIP");
  const auto items = [](std::int64_t first, std::int64_t first_quantity, std::int64_t second,
                        std::int64_t second_quantity) {
    return json::array{json::object{{"ticket_type_id", first}, {"quantity", first_quantity}},
                       json::object{{"ticket_type_id", second}, {"quantity", second_quantity}}};
  };

  // VIP has one ticket: two are refused whole, the General ones with them.
  const HttpResponse refused = order_post(orders(), json::object{{"event_id", event}, {"items", items(general, 2, vip, 2)}});
  ASSERT_TRUE(is_problem(refused, 409, "sold_out")) << refused.describe();
  EXPECT_EQ(int_field(refused.json(), "ticket_type_id"), vip);
  EXPECT_EQ(db_counts(event), (EventCounts{10, 10, 0, 0}));

  const Headers keyed{{"Authorization", ""}, {"Idempotency-Key", "two-types-" + std::to_string(event)}};
  const json::object body{{"event_id", event}, {"items", items(general, 2, vip, 1)}};
  const HttpResponse ordered = order_post(orders(), body, keyed);
  ASSERT_TRUE(is_json(ordered, 200)) << ordered.describe();
  const json::value order = ordered.json();
  EXPECT_EQ(int_field(order, "quantity"), 3);
  EXPECT_EQ(int_field(order, "amount_minor"), 2 * 2500 + 12000);
  EXPECT_EQ(string_field(order, "currency"), "USD");
  ASSERT_EQ(order.at("items").as_array().size(), 2u);
  EXPECT_EQ(int_field(order.at("items").as_array()[1], "unit_price_minor"), 12000);
  EXPECT_EQ(db_counts(event), (EventCounts{10, 7, 3, 0}));
  EXPECT_EQ(db_hold_count(event), 1);

  const HttpResponse replayed = order_post(orders(), body, keyed);
  ASSERT_TRUE(is_json(replayed, 200)) << replayed.describe();
  EXPECT_EQ(string_field(replayed.json(), "order_id"), string_field(order, "order_id"));
  // The same key with other items is another request.
  EXPECT_TRUE(is_problem(order_post(orders(), json::object{{"event_id", event}, {"items", items(general, 1, vip, 1)}}, keyed),
                         422, "idempotency_mismatch"));

  const HttpResponse read =
      order_call("GET", "/orders/" + string_field(order, "order_id"), bearer(string_field(order, "order_secret")));
  ASSERT_TRUE(is_json(read, 200)) << read.describe();
  EXPECT_EQ(int_field(read.json(), "amount_minor"), 17000);
  EXPECT_EQ(read.json().at("items"), order.at("items"));

  const HttpResponse unknown =
      order_post(orders(), json::object{{"event_id", event}, {"items", json::array{json::object{{"ticket_type_id", 987654321}, {"quantity", 1}}}}});
  EXPECT_TRUE(is_problem(unknown, 404, "ticket_type_not_found")) << unknown.describe();
  EXPECT_TRUE(is_problem(order_post(orders(), json::object{{"event_id", event}, {"quantity", 1}, {"items", items(general, 1, vip, 1)}}),
                         400, "invalid_request"));
  EXPECT_EQ(db_order_count(event), 1);
}

}  // namespace
}  // namespace flashtix::test
