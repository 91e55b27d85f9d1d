// Faults around an order: inventory down, the order insert failing, the process dying between the
// reserve and the insert. In every case no ticket stays held past its hold and no order is half made.
#include <csignal>
#include <set>
#include <thread>
#include <vector>

#include "orders_harness.hpp"
#include "support/webhook_receiver.hpp"

namespace flashtix::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

std::int64_t db_status_count(std::int64_t event_id, const std::string& status) {
  return std::stoll(pg().query("SELECT count(*) FROM inventory.reservations WHERE event_id = " +
                               std::to_string(event_id) + " AND status = '" + status + "'")
                        .at(0)
                        .at(0));
}

std::int64_t held_under_key(const std::string& key) {
  return std::stoll(pg().query("SELECT count(*) FROM inventory.reservations WHERE reservation_key = '" + key +
                               "' AND status = 'HELD'")
                        .at(0)
                        .at(0));
}

TEST(OrdersFaults, AHoldTimeAboveInventorysMaximumStopsTheServiceWithAClearError) {
  // The shared inventory keeps its default --max-hold-seconds of 3600: every hold of 7200 s would be refused.
  std::string log;
  try {
    auto service = start_orders({{"FLASHTIX_HOLD_SECONDS", "7200"}});
    EXPECT_TRUE(eventually(15s, [&] { return !service->running(); })) << service->log_tail();
    EXPECT_EQ(service->last_exit_code(), std::optional<int>(1));
    log = service->log_tail();
  } catch (const std::runtime_error& e) {
    // It stopped before its first /health answer; the harness's message carries the exit code and the log.
    log = e.what();
    EXPECT_NE(log.find("exited with 1 "), std::string::npos) << log;
  }
  EXPECT_NE(log.find("--hold-seconds (7200) is above inventory's --max-hold-seconds (3600)"), std::string::npos)
      << log;
}

TEST(OrdersFaults, LimitsThatAgreeWithInventorysAreCheckedAndTheServiceRuns) {
  auto service = start_orders({{"FLASHTIX_HOLD_SECONDS", "3600"}});
  EXPECT_TRUE(eventually(10s, [&] { return service->log_tail(20000).find("limits agree with inventory") !=
                                           std::string::npos; }))
      << service->log_tail();
  EXPECT_TRUE(service->running());
  EXPECT_EQ(service->stop(), 0);
}

TEST(OrdersFaults, InventoryDownIs503WithRetryAfterAndLeaksNothing) {
  const std::int64_t event = create_event(5);
  auto service = start_orders({{"FLASHTIX_INVENTORY_TIMEOUT_MS", "500"}});
  inventory().stop();
  const auto started = std::chrono::steady_clock::now();
  const HttpResponse down = order_post(*service, order_body(event, 1), {{"Idempotency-Key", "down-" + std::to_string(event)}});
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_TRUE(is_problem(down, 503, "inventory_unavailable"));
  // It says why: no connection, not a hold given back before it was made.
  EXPECT_NE(string_field(down.json(), "detail").find("cannot connect"), std::string::npos) << down.describe();
  EXPECT_TRUE(down.has_header("Retry-After"));
  EXPECT_LT(took, 7s) << "the buyer must get an answer within the call's deadline";
  const HttpResponse ready = order_get(*service, "/ready");
  EXPECT_EQ(ready.status, 503);
  inventory().start();
  EXPECT_TRUE(eventually(5s, [&] { return order_get(*service, "/ready").status == 200; }));
  EXPECT_EQ(db_order_count(event), 0);
  EXPECT_EQ(api_counts(event), (EventCounts{5, 5, 0, 0}));
  // With inventory back the same request goes through.
  EXPECT_TRUE(is_json(order_post(*service, order_body(event, 1)), 200));
  EXPECT_TRUE(ledger_balanced());
  EXPECT_EQ(service->stop(), 0);
}

TEST(OrdersFaults, AFailedOrderInsertGivesTheTicketsBackAtOnce) {
  const std::int64_t event = create_event(5);
  auto service = start_orders({{"FLASHTIX_FAILPOINTS", "orders_insert_fail"}});
  const std::string key = "insert-fails-" + std::to_string(event);
  const HttpResponse failed = order_post(*service, order_body(event, 2), {{"Idempotency-Key", key}});
  EXPECT_TRUE(is_problem(failed, 500, "order_not_recorded"));
  // Compensation ran before the answer: the hold is released, nothing is held, no order exists.
  EXPECT_EQ(api_counts(event), (EventCounts{5, 5, 0, 0}));
  EXPECT_EQ(db_order_count(event), 0);
  EXPECT_EQ(db_status_count(event, "RELEASED"), 1);
  // The key's claim was dropped, so a retry (here to a healthy instance) makes a fresh order.
  const HttpResponse retried = order_post(orders(), order_body(event, 2), {{"Idempotency-Key", key}});
  EXPECT_TRUE(is_json(retried, 200));
  EXPECT_EQ(api_counts(event), (EventCounts{5, 3, 2, 0}));
  EXPECT_TRUE(ledger_balanced());
  EXPECT_EQ(service->stop(), 0);
}

// The key is looked up while the reserve is under way: when the lookup fails, the hold the reserve made
// goes back before the buyer is answered, and nothing is recorded under the key.
TEST(OrdersFaults, AFailedKeyLookupGivesBackTheHoldMadeBesideIt) {
  const std::int64_t event = create_event(5);
  auto service = start_orders({{"FLASHTIX_FAILPOINTS", "orders_key_lookup_fails"}});
  const std::string key = "lookup-fails-" + std::to_string(event);
  const HttpResponse failed = order_post(*service, order_body(event, 2), {{"Idempotency-Key", key}});
  EXPECT_TRUE(is_problem(failed, 503, "database_unavailable")) << failed.describe();
  EXPECT_EQ(api_counts(event), (EventCounts{5, 5, 0, 0}));
  EXPECT_EQ(db_status_count(event, "RELEASED"), 1);
  EXPECT_EQ(db_order_count(event), 0);
  // Without a key there is nothing to look up: the same instance takes the order.
  EXPECT_TRUE(is_json(order_post(*service, order_body(event, 2)), 200));
  const HttpResponse retried = order_post(orders(), order_body(event, 2), {{"Idempotency-Key", key}});
  EXPECT_TRUE(is_json(retried, 200)) << retried.describe();
  EXPECT_EQ(api_counts(event), (EventCounts{5, 1, 4, 0}));
  EXPECT_TRUE(ledger_balanced());
  EXPECT_EQ(service->stop(), 0);
}

// Inventory answered, but not in a way this service could read: the hold it may have made goes back (off
// the buyer's path), instead of waiting for its expiry.
TEST(OrdersFaults, AReserveAnswerThatCannotBeReadGivesTheHoldBack) {
  const std::int64_t event = create_event(5);
  auto service = start_orders({{"FLASHTIX_FAILPOINTS", "orders_reserve_answer_unreadable"}});
  const HttpResponse failed = order_post(*service, order_body(event, 2));
  EXPECT_EQ(failed.status, 500) << failed.describe();
  EXPECT_TRUE(eventually(5s, [&] { return api_counts(event) == EventCounts{5, 5, 0, 0}; }));
  EXPECT_EQ(db_status_count(event, "RELEASED"), 1);
  EXPECT_EQ(db_order_count(event), 0);
  EXPECT_TRUE(ledger_balanced());
  EXPECT_EQ(service->stop(), 0);
}

// What a stampede looks like to one order: the event row is taken for longer than orders waits. The
// buyer is told 503, and once inventory gets the row the reserve it was still working on holds nothing
// (it carried the caller's deadline; its give-back left a tombstone), not 2 tickets for the whole hold.
TEST(OrdersFaults, AnOrderGivenUpOnHoldsNothingOnceInventoryCatchesUp) {
  const std::int64_t event = create_event(5);
  auto service = start_orders({{"FLASHTIX_INVENTORY_TIMEOUT_MS", "500"}});
  auto blocker = pg().session();
  blocker->exec("BEGIN; SELECT 1 FROM inventory.events WHERE id = " + std::to_string(event) + " FOR UPDATE");
  const auto started = std::chrono::steady_clock::now();
  const HttpResponse given_up = order_post(*service, order_body(event, 2), {{"Idempotency-Key", "stampede-" + std::to_string(event)}});
  EXPECT_TRUE(is_problem(given_up, 503, "inventory_unavailable")) << given_up.describe();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  std::this_thread::sleep_for(1s);
  blocker->exec("COMMIT");
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(db_counts(event).held, 0) << "a buyer told 503 still holds tickets";
  EXPECT_EQ(api_counts(event), (EventCounts{5, 5, 0, 0}));
  EXPECT_EQ(db_order_count(event), 0);
  EXPECT_TRUE(ledger_balanced());
  EXPECT_EQ(service->stop(), 0);
}

// The insert may have committed and nobody can tell yet: the hold stays (never give back the tickets of
// an order that may exist), the buyer learns where to look, and a retry with the key finds the order.
TEST(OrdersFaults, AnOrderThatMayHaveBeenRecordedKeepsItsHold) {
  const std::int64_t event = create_event(5);
  auto service = start_orders({{"FLASHTIX_FAILPOINTS", "orders_insert_answer_lost,orders_reread_fail"}});
  const std::string key = "maybe-recorded-" + std::to_string(event);
  const HttpResponse unknown = order_post(*service, order_body(event, 2), {{"Idempotency-Key", key}});
  ASSERT_TRUE(is_problem(unknown, 500, "order_outcome_unknown")) << unknown.describe();
  const std::string order_id = string_field(unknown.json(), "order_id");
  EXPECT_EQ(unknown.header("Location"), "/orders/" + order_id);
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(db_counts(event).held, 2);
  EXPECT_EQ(db_order_count(event), 1);
  const HttpResponse replayed = order_post(orders(), order_body(event, 2), {{"Idempotency-Key", key}});
  ASSERT_TRUE(is_json(replayed, 200));
  EXPECT_EQ(string_field(replayed.json(), "order_id"), order_id);
  EXPECT_EQ(api_counts(event), (EventCounts{5, 3, 2, 0}));
  EXPECT_TRUE(ledger_balanced());
  EXPECT_EQ(service->stop(), 0);
}

// Once the database can tell that the insert never committed, the reconciler gives the hold back.
TEST(OrdersFaults, AnOrderFoundNotRecordedLaterGivesItsHoldBack) {
  const std::int64_t event = create_event(5);
  auto service = start_orders({{"FLASHTIX_FAILPOINTS", "orders_insert_unknown,orders_reread_fail"}});
  const HttpResponse unknown = order_post(*service, order_body(event, 2));
  ASSERT_TRUE(is_problem(unknown, 500, "order_outcome_unknown")) << unknown.describe();
  EXPECT_EQ(db_counts(event).held, 2) << "the hold went back before anyone could tell the order did not exist";
  EXPECT_TRUE(eventually(20s, [&] { return api_counts(event) == EventCounts{5, 5, 0, 0}; }));
  EXPECT_EQ(db_order_count(event), 0);
  EXPECT_TRUE(ledger_balanced());
  EXPECT_EQ(service->stop(), 0);
}

// Inventory (or its database) unavailable just when a hold is given back: it is tried again until
// inventory takes it, not left to expire after the whole hold time.
TEST(OrdersFaults, AGiveBackThatFailsIsTriedAgainUntilItIsTaken) {
  const std::int64_t event = create_event(5);
  auto service = start_orders({{"FLASHTIX_FAILPOINTS", "orders_insert_fail,orders_first_give_back_fails"}});
  const HttpResponse failed = order_post(*service, order_body(event, 2));
  EXPECT_TRUE(is_problem(failed, 500, "order_not_recorded")) << failed.describe();
  EXPECT_TRUE(eventually(5s, [&] { return api_counts(event) == EventCounts{5, 5, 0, 0}; }))
      << "the hold waits for its expiry (600 s) instead";
  EXPECT_EQ(db_order_count(event), 0);
  EXPECT_TRUE(ledger_balanced());
  EXPECT_EQ(service->stop(), 0);
}

TEST(OrdersFaults, DyingBetweenReserveAndInsertLeavesOnlyAHoldThatExpires) {
  const std::int64_t event = create_event(5);
  auto service = start_orders({{"FLASHTIX_FAILPOINTS", "orders_crash_after_reserve"}, {"FLASHTIX_HOLD_SECONDS", "2"}});
  // The process dies before it answers: the request fails in transport.
  EXPECT_ANY_THROW(order_post(*service, order_body(event, 3)));
  EXPECT_TRUE(eventually(5s, [&] { return !service->running(); }));
  EXPECT_EQ(db_order_count(event), 0);
  // The hold is there, and its expiry is the last guard: it comes back by itself.
  EXPECT_EQ(api_counts(event).held, 3);
  EXPECT_TRUE(eventually(6s, [&] { return api_counts(event) == EventCounts{5, 5, 0, 0}; }));
  EXPECT_EQ(db_order_count(event), 0);
  EXPECT_TRUE(ledger_balanced());
}

// An inventory that answers 503 to every attempt is an unavailable inventory: the buyer gets 503
// inventory_unavailable, with Retry-After, as when it does not answer at all; never a 500.
TEST(OrdersFaults, AnInventoryAnswering503IsUnavailableNotAFault) {
  const std::int64_t event = create_event(5);
  const HttpResponse created = order_post(orders(), order_body(event, 1));
  ASSERT_TRUE(is_json(created, 200));
  const std::string order_id = string_field(created.json(), "order_id");
  WebhookReceiver busy_inventory;
  busy_inventory.refuse(true);
  const std::string url = busy_inventory.url();
  auto service = start_orders({{"FLASHTIX_INVENTORY_URL", url.substr(0, url.find("/hooks"))}});
  const HttpResponse cancel = http_request(service->port(), "POST", "/orders/" + order_id + "/cancel");
  EXPECT_TRUE(is_problem(cancel, 503, "inventory_unavailable")) << cancel.describe();
  EXPECT_TRUE(cancel.has_header("Retry-After"));
  EXPECT_TRUE(is_problem(order_post(*service, order_body(event, 1)), 503, "inventory_unavailable"));
  EXPECT_EQ(service->stop(), 0);
  // Through a healthy instance the order is cancelled and its ticket comes back.
  EXPECT_TRUE(is_json(http_request(orders().port(), "POST", "/orders/" + order_id + "/cancel"), 200));
  EXPECT_EQ(api_counts(event), (EventCounts{5, 5, 0, 0}));
  EXPECT_TRUE(ledger_balanced());
}

// SIGTERM drains: /ready answers 503 at once, and the request in flight (here waiting for a paused
// inventory) is finished and answered before the process exits 0.
TEST(OrdersFaults, SigtermFinishesTheRequestsInFlightBeforeStopping) {
  const std::int64_t event = create_event(5);
  auto service = start_orders({});
  HttpConnection watcher(service->port());
  ASSERT_EQ(watcher.get("/health").status, 200);
  ASSERT_EQ(::kill(inventory().pid(), SIGSTOP), 0);
  HttpResponse answer;
  std::thread buyer([&] { answer = order_post(*service, order_body(event, 1)); });
  std::this_thread::sleep_for(300ms);
  ASSERT_EQ(::kill(service->pid(), SIGTERM), 0);
  std::this_thread::sleep_for(200ms);
  const HttpResponse ready = watcher.get("/ready");
  ::kill(inventory().pid(), SIGCONT);
  buyer.join();
  EXPECT_TRUE(is_problem(ready, 503, "not_ready")) << ready.describe();
  EXPECT_TRUE(is_json(answer, 200)) << answer.describe();
  EXPECT_EQ(service->stop(), 0);
  EXPECT_EQ(db_order_count(event), 1);
  EXPECT_TRUE(ledger_balanced());
}

// Orders are taken while the broker is down (their events wait in the outbox): the service is ready.
TEST(OrdersFaults, WithoutABrokerTheServiceIsReadyAndTakesOrders) {
  const std::int64_t event = create_event(5);
  // The shared instance reaches the broker: its relay would publish this instance's row too.
  EXPECT_EQ(orders().stop(), 0);
  auto service = start_orders(
      {{"FLASHTIX_AMQP_URL", "amqp://flashtix-orders:none@127.0.0.1:" + std::to_string(free_tcp_port()) + "/"}});
  EXPECT_TRUE(eventually(5s, [&] { return order_get(*service, "/ready").status == 200; }))
      << order_get(*service, "/ready").describe();
  EXPECT_TRUE(is_json(order_post(*service, order_body(event, 1)), 200));
  EXPECT_EQ(std::stoll(pg().query("SELECT count(*) FROM orders.outbox o JOIN orders.orders r ON r.id::text = "
                                  "o.correlation_id WHERE r.event_id = " + std::to_string(event) +
                                  " AND o.published_at IS NULL").at(0).at(0)),
            1);
  EXPECT_EQ(service->stop(), 0);
  orders().start();
}

// Nothing of a keyed request is stored before its order: after a crash between the reserve and the
// record, a retry with the same key makes the order at once, and the dead attempt's hold expires.
TEST(OrdersFaults, ARetryAfterACrashMakesTheOrderAndTheDeadAttemptsHoldExpires) {
  const std::int64_t event = create_event(5);
  const std::string key = "crashed-" + std::to_string(event);
  {
    auto dying = start_orders({{"FLASHTIX_FAILPOINTS", "orders_crash_after_reserve"}, {"FLASHTIX_HOLD_SECONDS", "2"}});
    EXPECT_ANY_THROW(order_post(*dying, order_body(event, 2), {{"Idempotency-Key", key}}));
    EXPECT_TRUE(eventually(5s, [&] { return !dying->running(); }));
  }
  EXPECT_EQ(api_counts(event), (EventCounts{5, 3, 2, 0}));
  EXPECT_EQ(pg().query("SELECT count(*) FROM orders.idempotency_keys WHERE key = '" + key + "'").at(0).at(0), "0");
  const HttpResponse retried = order_post(orders(), order_body(event, 2), {{"Idempotency-Key", key}});
  ASSERT_TRUE(is_json(retried, 200));
  EXPECT_EQ(db_order_count(event), 1);
  EXPECT_EQ(held_under_key(string_field(retried.json(), "order_id")), 1);
  // The dead attempt's 2 tickets come back when its 2-second hold runs out; the order keeps its own.
  EXPECT_TRUE(eventually(6s, [&] { return api_counts(event) == EventCounts{5, 3, 2, 0} &&
                                          held_under_key(string_field(retried.json(), "order_id")) == 1 &&
                                          db_status_count(event, "EXPIRED") == 1; }));
  // The same key again is the same order.
  const HttpResponse again = order_post(orders(), order_body(event, 2), {{"Idempotency-Key", key}});
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body, retried.body);
  EXPECT_TRUE(ledger_balanced());
}

// Two instances, one key, many requests at once: one order and one hold; every other attempt's hold
// goes back, and every answer is that one order.
TEST(OrdersFaults, OneKeyOnTwoInstancesAtOnceMakesOneOrder) {
  const std::int64_t event = create_event(100);
  auto second = start_orders({});
  const std::string key = "twice-" + std::to_string(event);
  const std::string body = json::serialize(order_body(event, 1));
  const std::vector<LoadRequest> requests(20, LoadRequest{"POST", "/orders", body, {{"Idempotency-Key", key}}});
  std::vector<LoadResult> first_answers;
  std::vector<LoadResult> second_answers;
  std::thread other([&] { second_answers = run_load(second->port(), requests, 10); });
  first_answers = run_load(orders().port(), requests, 10);
  other.join();
  std::set<std::string> bodies;
  for (const auto* answers : {&first_answers, &second_answers}) {
    for (const LoadResult& answer : *answers) {
      if (answer.status == 200) {
        bodies.insert(answer.body);
      } else {
        EXPECT_EQ(answer.status, 409) << answer.body;
      }
    }
  }
  EXPECT_EQ(bodies.size(), 1u);
  EXPECT_EQ(db_order_count(event), 1);
  EXPECT_TRUE(eventually(5s, [&] { return api_counts(event) == EventCounts{100, 99, 1, 0}; }));
  EXPECT_TRUE(ledger_balanced());
  EXPECT_EQ(second->stop(), 0);
}

}  // namespace
}  // namespace flashtix::test
