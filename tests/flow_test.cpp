// End-to-end: an order through payment and notification, with a real broker, for each way it can end,
// and with the faults the event path must absorb (duplicates, a consumer dying before its ack, a webhook
// target that is down for a while).
#include <fstream>
#include <sstream>

#include "flow_harness.hpp"
#include "support/credentials.hpp"
#include "support/metrics.hpp"

namespace flashtix::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

std::string sql_text(const std::string& text) { return "'" + text + "'"; }

// Waits until the order has a delivered notification; returns the notifications then.
json::array delivered_notifications(const std::string& order_id) {
  json::array items;
  eventually(15s, [&] {
    items = notifications_of(order_id);
    return !items.empty() && items.at(0).at("status").as_string() == "delivered";
  });
  return items;
}

TEST(Flow, APaidOrderIsConfirmedSoldPaidOnceAndTheBuyerIsTold) {
  const std::int64_t event = create_event(10);
  const std::string order = place_order(event, 2, "tok_ok");
  EXPECT_EQ(final_status(order, 10s), "CONFIRMED");
  EXPECT_EQ(api_counts(event), (EventCounts{10, 8, 0, 2}));

  const json::array payments = payments_of(order);
  ASSERT_EQ(payments.size(), 1u);
  EXPECT_EQ(payments.at(0).at("status").as_string(), "succeeded");
  EXPECT_EQ(order_json(order).at("payment_id"), payments.at(0).at("payment_id"));

  const json::array notices = delivered_notifications(order);
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices.at(0).at("type").as_string(), "order.confirmed");
  EXPECT_EQ(notices.at(0).at("status").as_string(), "delivered");
  const auto hooks = webhook().accepted_for(order);
  ASSERT_EQ(hooks.size(), 1u);
  EXPECT_EQ(hooks.at(0).at("type").as_string(), "order.confirmed");
  EXPECT_EQ(hooks.at(0).at("data").at("status").as_string(), "CONFIRMED");
  EXPECT_TRUE(ledger_balanced());
}

// Payments (an order and its amount) and notifications (a buyer's e-mail) are read by admin alone.
TEST(Flow, OnlyTheAdminReadsPaymentsAndNotifications) {
  const std::string some_id = "/00000000-0000-4000-8000-000000000000";
  for (const auto& [service, path] : {std::pair{&payments(), std::string("/payments")},
                                      std::pair{&notifications(), std::string("/notifications")}}) {
    for (const std::string& target : {path, path + some_id}) {
      const auto call = [&](const std::string& authorization) {
        return http_request(service->port(), "GET", target, "", {{"Authorization", authorization}});
      };
      EXPECT_TRUE(is_problem(call(""), 401, "unauthenticated")) << target;
      EXPECT_TRUE(is_problem(call(bearer("not-a-token")), 401, "unauthenticated")) << target;
      EXPECT_TRUE(is_problem(call(bearer(test_tokens().service)), 403, "forbidden")) << target;
      EXPECT_NE(call(bearer(test_tokens().admin)).status, 401) << target;
    }
    EXPECT_TRUE(is_json(http_request(service->port(), "GET", path, "", {{"Authorization", bearer(test_tokens().admin)}}), 200));
  }
}

TEST(Flow, ADeclinedPaymentCancelsTheOrderAndGivesTheTicketsBack) {
  const std::int64_t event = create_event(10);
  const std::string order = place_order(event, 3, "tok_decline");
  EXPECT_EQ(final_status(order, 10s), "CANCELLED");
  EXPECT_EQ(order_json(order).at("status_reason").as_string(), "payment_declined");
  EXPECT_EQ(api_counts(event), (EventCounts{10, 10, 0, 0}));

  const json::array payments = payments_of(order);
  ASSERT_EQ(payments.size(), 1u);
  EXPECT_EQ(payments.at(0).at("status").as_string(), "failed");
  EXPECT_EQ(payments.at(0).at("failure_reason").as_string(), "card_declined");

  const json::array notices = delivered_notifications(order);
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices.at(0).at("type").as_string(), "order.cancelled");
  EXPECT_EQ(webhook().accepted_for(order).size(), 1u);
  EXPECT_TRUE(ledger_balanced());
}

TEST(Flow, APaymentSlowerThanTheHoldExpiresTheOrderAndIsRefundedOnce) {
  const std::int64_t event = create_event(5);
  // Holds of 2 s against a payment of 4 s: the hold lapses first.
  auto short_holds = start_orders({{"FLASHTIX_HOLD_SECONDS", "2"}});
  const std::string order = place_order(event, 3, "tok_slow", short_holds.get());
  EXPECT_EQ(final_status(order, 15s), "EXPIRED");
  EXPECT_EQ(order_json(order).at("status_reason").as_string(), "hold_expired");

  json::array payments;
  EXPECT_TRUE(eventually(15s, [&] {
    payments = payments_of(order);
    return payments.size() == 1 && payments.at(0).at("status").as_string() == "refunded";
  })) << json::serialize(payments);
  EXPECT_FALSE(payments.at(0).at("refunded_at").is_null());

  // The stock came back exactly once, and nothing was sold.
  EXPECT_EQ(api_counts(event), (EventCounts{5, 5, 0, 0}));
  EXPECT_EQ(count("SELECT count(*) FROM payments.outbox WHERE type = 'payment.refunded' AND correlation_id = " +
                  sql_text(order)),
            1);
  const json::array notices = delivered_notifications(order);
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices.at(0).at("type").as_string(), "order.expired");
  EXPECT_TRUE(ledger_balanced());
  EXPECT_EQ(short_holds->stop(), 0);
}

// The documented reset during a sale: every order whose seats it voided, paid or not, ends CANCELLED
// (event_reset), is refunded, and its buyer is told; the seats are then sold once, not twice.
TEST(Flow, AResetEventCancelsAndRefundsItsOrdersAndSellsItsSeatsOnce) {
  // An inventory instance that reaches the broker: its relay publishes what the reset announces.
  ServiceProcess relaying("flashtix-inventory", {{"FLASHTIX_DATABASE_URL", pg().database_url()},
                                                 {"FLASHTIX_AMQP_URL", broker().url("inventory")}});
  const std::int64_t event = create_event(4);
  const std::string paid = place_order(event, 2, "tok_ok");
  ASSERT_EQ(final_status(paid, 10s), "CONFIRMED");
  const std::string paying = place_order(event, 1, "tok_slow");
  EXPECT_EQ(api_counts(event), (EventCounts{4, 1, 1, 2}));

  pg().query("UPDATE events SET available_tickets = 4, total_tickets = 4 WHERE id = " + std::to_string(event));
  EXPECT_EQ(api_counts(event), (EventCounts{4, 4, 0, 0}));
  for (const std::string& order : {paid, paying}) {
    SCOPED_TRACE("order " + order);
    EXPECT_TRUE(eventually(20s, [&] { return order_json(order).at("status").as_string() == "CANCELLED"; }))
        << json::serialize(order_json(order));
    EXPECT_EQ(order_json(order).at("status_reason").as_string(), "event_reset");
    json::array payments;
    EXPECT_TRUE(eventually(20s, [&] {
      payments = payments_of(order);
      return payments.size() == 1 && payments.at(0).at("status").as_string() == "refunded";
    })) << json::serialize(payments);
    json::array notices;
    EXPECT_TRUE(eventually(15s, [&] {
      notices = notifications_of(order);
      for (const auto& notice : notices) {
        if (notice.at("type").as_string() == "order.cancelled" && notice.at("status").as_string() == "delivered") {
          return true;
        }
      }
      return false;
    })) << json::serialize(notices);
  }
  // The seats are sold again, to one buyer each.
  const std::string again = place_order(event, 4, "tok_ok");
  EXPECT_EQ(final_status(again, 10s), "CONFIRMED");
  EXPECT_EQ(api_counts(event), (EventCounts{4, 0, 0, 4}));
  EXPECT_EQ(count("SELECT count(*) FROM orders.orders WHERE event_id = " + std::to_string(event) +
                  " AND status = 'CONFIRMED'"),
            1);
  EXPECT_TRUE(eventually(10s, [] { return count("SELECT count(*) FROM inventory.outbox WHERE published_at IS NULL") == 0; }));
  EXPECT_TRUE(ledger_balanced());
  EXPECT_EQ(relaying.stop(), 0);
}

// An order over two ticket types is charged the sum of price times quantity, in the event's currency, and a
// refund (here after a reset of the event) gives back what was charged.
TEST(Flow, AnOrderOverTwoTypesIsChargedTheirSumAndARefundGivesItBack) {
  ServiceProcess relaying("flashtix-inventory", {{"FLASHTIX_DATABASE_URL", pg().database_url()},
                                                 {"FLASHTIX_AMQP_URL", broker().url("inventory")}});
  const TypedEvent typed =
      create_typed_event(10,
                         json::array{json::object{{"name", "General"}, {"price_minor", 2500}},
                                     json::object{{"name", "VIP"}, {"price_minor", 12000}, {"quota", 2}}},
                         {{"currency", "GBP"}});
  const std::int64_t event = typed.id;
  const std::int64_t general = typed.type_ids.at("General");
  const std::int64_t vip = typed.type_ids.at("VIP");
  const json::object body{{"event_id", event},
                          {"payment_token", "tok_ok"},
                          {"items", json::array{json::object{{"ticket_type_id", general}, {"quantity", 2}},
                                                json::object{{"ticket_type_id", vip}, {"quantity", 1}}}}};
  const HttpResponse ordered = order_post(orders(), body);
  ASSERT_EQ(ordered.status, 200) << ordered.describe();
  const std::string order = string_field(ordered.json(), "order_id");
  constexpr std::int64_t kTotal = 2 * 2500 + 12000;
  EXPECT_EQ(int_field(ordered.json(), "amount_minor"), kTotal);
  ASSERT_EQ(final_status(order, 10s), "CONFIRMED");
  json::array payments = payments_of(order);
  ASSERT_EQ(payments.size(), 1u) << json::serialize(payments);
  EXPECT_EQ(payments.at(0).at("amount_minor").as_int64(), kTotal);
  EXPECT_EQ(payments.at(0).at("currency").as_string(), "GBP");
  EXPECT_EQ(count("SELECT count(*) FROM inventory.reservations WHERE event_id = " + std::to_string(event) +
                  " AND status = 'CONFIRMED' AND amount_minor = " + std::to_string(kTotal)),
            1);

  pg().query("UPDATE events SET available_tickets = 10, total_tickets = 10 WHERE id = " + std::to_string(event));
  EXPECT_TRUE(eventually(20s, [&] {
    payments = payments_of(order);
    return payments.size() == 1 && payments.at(0).at("status").as_string() == "refunded";
  })) << json::serialize(payments);
  EXPECT_EQ(count("SELECT count(*) FROM payments.outbox WHERE type = 'payment.refunded' AND correlation_id = " +
                  sql_text(order) + " AND (payload->>'amount_minor')::bigint = " + std::to_string(kTotal) +
                  " AND payload->>'currency' = 'GBP'"),
            1);
  EXPECT_EQ(count("SELECT available_tickets FROM inventory.ticket_types WHERE id = " + std::to_string(vip)), 2);
  EXPECT_TRUE(ledger_balanced());
  EXPECT_EQ(relaying.stop(), 0);
}

TEST(Flow, TheSameMessageDeliveredTwiceHasOneEffect) {
  const std::int64_t event = create_event(10);
  const std::string order = place_order(event, 1, "tok_ok");
  ASSERT_EQ(final_status(order, 10s), "CONFIRMED");
  ASSERT_EQ(delivered_notifications(order).size(), 1u);

  // Every event of this order, published once more, twice.
  const std::string created = outbox_message_id("orders", "order.created", order);
  const std::string confirmed = outbox_message_id("orders", "order.confirmed", order);
  const std::string paid = outbox_message_id("payments", "payment.succeeded", order);
  ASSERT_FALSE(created.empty() || confirmed.empty() || paid.empty());
  const Samples orders_before = scrape_metrics(orders().port());
  const Samples payments_before = scrape_metrics(payments().port());
  const Samples notifications_before = scrape_metrics(notifications().port());
  for (int round = 0; round < 2; ++round) {
    republish("orders", created);
    republish("orders", confirmed);
    republish("payments", paid);
  }
  // The duplicates are consumed (the queues drain) and change nothing.
  // rabbitmqctl starts an Erlang VM per call: seconds each on a busy machine.
  EXPECT_TRUE(eventually(60s, [] {
    return broker().queue_messages("flashtix.payments") == 0 && broker().queue_messages("flashtix.orders") == 0 &&
           broker().queue_messages("flashtix.notifications") == 0;
  }));
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(payments_of(order).size(), 1u);
  EXPECT_EQ(count("SELECT count(*) FROM payments.outbox WHERE correlation_id = " + sql_text(order)), 1);
  EXPECT_EQ(count("SELECT count(*) FROM orders.outbox WHERE correlation_id = " + sql_text(order)), 2);
  EXPECT_EQ(notifications_of(order).size(), 1u);
  EXPECT_EQ(webhook().accepted_for(order).size(), 1u);
  EXPECT_EQ(order_json(order).at("status").as_string(), "CONFIRMED");
  EXPECT_EQ(api_counts(event), (EventCounts{10, 9, 0, 1}));
  EXPECT_TRUE(ledger_balanced());
  // Each service counted the two duplicates its inbox dropped.
  const auto duplicates = [](const Samples& samples, const std::string& schema) {
    return sample(samples, "flashtix_inbox_duplicates_total{schema=\"" + schema + "\"}");
  };
  EXPECT_EQ(duplicates(scrape_metrics(payments().port()), "payments") - duplicates(payments_before, "payments"), 2);
  EXPECT_EQ(duplicates(scrape_metrics(orders().port()), "orders") - duplicates(orders_before, "orders"), 2);
  EXPECT_EQ(duplicates(scrape_metrics(notifications().port()), "notifications") -
                duplicates(notifications_before, "notifications"),
            2);
}

// The events' way through the services, as /metrics shows it: published, consumed, nothing waiting.
TEST(Flow, MetricsFollowAnOrdersEventsThroughTheServices) {
  const std::int64_t event = create_event(10);
  const Samples orders_before = scrape_metrics(orders().port());
  const Samples payments_before = scrape_metrics(payments().port());
  const std::string order = place_order(event, 1, "tok_ok");
  ASSERT_EQ(final_status(order, 10s), "CONFIRMED");
  EXPECT_TRUE(eventually(10s, [&] {
    const Samples orders_now = scrape_metrics(orders().port());
    const Samples payments_now = scrape_metrics(payments().port());
    const auto moved = [](const Samples& now, const Samples& before, const std::string& key) {
      return sample(now, key) - sample(before, key);
    };
    // order.created and order.confirmed from orders; payment.succeeded consumed by orders, order.created by
    // payments; nothing left waiting in either outbox.
    return moved(orders_now, orders_before, R"(flashtix_outbox_published_total{schema="orders"})") >= 2 &&
           moved(orders_now, orders_before, R"(flashtix_consumer_messages_total{outcome="acked",queue="flashtix.orders"})") >= 1 &&
           moved(payments_now, payments_before, R"(flashtix_outbox_published_total{schema="payments"})") >= 1 &&
           moved(payments_now, payments_before, R"(flashtix_consumer_messages_total{outcome="acked",queue="flashtix.payments"})") >= 1;
  }));
  EXPECT_TRUE(eventually(5s, [] {
    const Samples now = scrape_metrics(orders().port());
    return now.contains(R"(flashtix_outbox_depth{schema="orders"})") &&
           sample(now, R"(flashtix_outbox_depth{schema="orders"})") == 0 &&
           sample(now, R"(flashtix_outbox_lag_seconds{schema="orders"})") == 0;
  }));
  const Samples notifications_now = scrape_metrics(notifications().port());
  EXPECT_TRUE(notifications_now.contains(R"(flashtix_dead_letter_depth{queue="flashtix.notifications"})"));
  EXPECT_TRUE(notifications_now.contains(
      R"(flashtix_http_requests_total{method="GET",route="/notifications",status="2xx"})"));
}

// The whole of one file, for looking through a service's log.
std::string whole_file(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// The JSON log lines of `path` that carry `text`.
std::vector<json::object> log_lines_with(const std::string& path, const std::string& text) {
  std::vector<json::object> lines;
  std::stringstream log(whole_file(path));
  std::string line;
  while (std::getline(log, line)) {
    if (line.find(text) == std::string::npos) continue;
    boost::system::error_code error;
    json::value parsed = json::parse(line, error);
    if (!error && parsed.is_object()) lines.push_back(parsed.as_object());
  }
  return lines;
}

// One order is one trace: the buyer's traceparent and X-Request-Id reach the orders log, and the order's
// trace id the logs of inventory (its confirm), payments and notifications (their messages).
TEST(Flow, OneOrderIsOneTraceInTheLogsOfEveryService) {
  const std::int64_t event = create_event(10);
  const std::string trace_id = "4bf92f3577b34da6a3ce929d" + std::to_string(100000000 + event).substr(1);
  ASSERT_EQ(trace_id.size(), 32u);
  const std::string request_id = "checkout-" + std::to_string(event);
  const HttpResponse created = order_post(orders(), json::object{{"event_id", event}, {"quantity", 1}},
                                          {{"traceparent", "00-" + trace_id + "-00f067aa0ba902b7-01"},
                                           {"X-Request-Id", request_id}});
  ASSERT_TRUE(is_json(created, 200));
  EXPECT_EQ(created.header("X-Request-Id"), request_id);
  const std::string order = string_field(created.json(), "order_id");
  ASSERT_EQ(final_status(order, 10s), "CONFIRMED");
  ASSERT_TRUE(eventually(10s, [&] { return !delivered_notifications(order).empty(); }));
  // The services write their logs a few times a second.
  std::this_thread::sleep_for(500ms);

  const auto lines = log_lines_with(orders().log_path(), request_id);
  ASSERT_FALSE(lines.empty()) << "no line of the orders log has the request id";
  const json::object& request = lines.front();
  EXPECT_EQ(request.at("service").as_string(), "orders");
  EXPECT_EQ(request.at("message").as_string(), "request");
  EXPECT_EQ(request.at("method").as_string(), "POST");
  EXPECT_EQ(request.at("route").as_string(), "/orders");
  EXPECT_EQ(request.at("status").as_int64(), 200);
  EXPECT_TRUE(request.at("duration_ms").is_number());
  EXPECT_EQ(request.at("trace_id").as_string(), trace_id);
  EXPECT_FALSE(request.at("time").as_string().empty());

  struct Expected {
    ServiceProcess* service;
    std::string what;  // the message of a line that must carry the trace
  };
  for (const Expected& expected : {Expected{&orders(), "message"}, Expected{&inventory(), "request"},
                                   Expected{&payments(), "message"}, Expected{&notifications(), "message"}}) {
    const auto traced = log_lines_with(expected.service->log_path(), trace_id);
    bool found = false;
    for (const json::object& line : traced) found = found || line.at("message").as_string() == expected.what;
    EXPECT_TRUE(found) << "no '" << expected.what << "' line with the order's trace in " << expected.service->log_path();
  }
  // Every event about the order went out in its trace.
  EXPECT_EQ(count("SELECT count(*) FROM orders.outbox WHERE correlation_id = " + sql_text(order) +
                  " AND traceparent LIKE '00-" + trace_id + "-%'"),
            2);
  EXPECT_EQ(count("SELECT count(*) FROM payments.outbox WHERE correlation_id = " + sql_text(order) +
                  " AND traceparent LIKE '00-" + trace_id + "-%'"),
            1);
}

TEST(Flow, AConsumerKilledBetweenItsEffectAndItsAckHasNoSecondEffect) {
  const std::int64_t event = create_event(10);
  // The only payment consumer for a while dies right after its first effect commits.
  ASSERT_EQ(payments().stop(), 0);
  auto dying = start_payments({{"FLASHTIX_FAILPOINTS", "consumer_crash_before_ack"}});
  const std::string order = place_order(event, 2, "tok_ok");
  EXPECT_TRUE(eventually(15s, [&] { return !dying->running(); })) << dying->log_tail();
  EXPECT_EQ(count("SELECT count(*) FROM payments.payments WHERE order_id = " + sql_text(order) +
                  " AND status = 'succeeded'"),
            1);

  // The message comes back to the restarted consumer, which finds it in its inbox.
  payments().start();
  EXPECT_EQ(final_status(order, 15s), "CONFIRMED");
  EXPECT_TRUE(eventually(30s, [] { return broker().queue_messages("flashtix.payments") == 0; }));
  EXPECT_EQ(payments_of(order).size(), 1u);
  EXPECT_EQ(count("SELECT count(*) FROM payments.outbox WHERE type = 'payment.succeeded' AND correlation_id = " +
                  sql_text(order)),
            1);
  EXPECT_EQ(count("SELECT count(*) FROM payments.inbox WHERE message_id = " +
                  sql_text(outbox_message_id("orders", "order.created", order))),
            1);
  EXPECT_EQ(api_counts(event), (EventCounts{10, 8, 0, 2}));
  EXPECT_EQ(delivered_notifications(order).size(), 1u);
  EXPECT_TRUE(ledger_balanced());
}

TEST(Flow, AChargeTheGatewayNeverAnswersIsGivenUpAtItsDeadlineAndMadeAgain) {
  const std::int64_t event = create_event(10);
  // The only payment consumer for a while: its gateway takes the first charge and never answers it.
  ASSERT_EQ(payments().stop(), 0);
  auto hanging = start_payments({{"FLASHTIX_FAILPOINTS", "gateway_first_charge_hangs"},
                                 {"FLASHTIX_GATEWAY_SLOW_DELAY_MS", "0"},
                                 {"FLASHTIX_GATEWAY_TIMEOUT_MS", "1000"}});
  const std::string order = place_order(event, 2, "tok_ok");
  EXPECT_EQ(final_status(order, 15s), "CONFIRMED") << hanging->log_tail();
  EXPECT_NE(hanging->log_tail(50000).find("did not answer a charge within 1000 ms"), std::string::npos)
      << hanging->log_tail();
  EXPECT_EQ(hanging->stop(), 0);

  payments().start();
  EXPECT_EQ(payments_of(order).size(), 1u);
  EXPECT_EQ(api_counts(event), (EventCounts{10, 8, 0, 2}));
  EXPECT_TRUE(ledger_balanced());
}

TEST(Flow, AnInventoryOutageWhileThePaymentArrivesDelaysTheOrderAndLosesNothing) {
  const std::int64_t event = create_event(10);
  // The payment takes 4 s; inventory is down when it arrives and for a while after.
  const std::string order = place_order(event, 2, "tok_slow");
  ASSERT_EQ(inventory().stop(), 0);
  std::this_thread::sleep_for(kSlowPayment + 3s);
  EXPECT_EQ(order_json(order).at("status").as_string(), "PENDING_PAYMENT");
  EXPECT_EQ(payments_of(order).at(0).at("status").as_string(), "succeeded");

  // The payment event was held, not dead-lettered: once inventory is back the order is confirmed.
  inventory().start();
  EXPECT_EQ(final_status(order, 20s), "CONFIRMED");
  EXPECT_EQ(api_counts(event), (EventCounts{10, 8, 0, 2}));
  EXPECT_EQ(broker().queue_messages("flashtix.orders.dead"), 0);
  EXPECT_EQ(delivered_notifications(order).size(), 1u);
  EXPECT_TRUE(ledger_balanced());
}

TEST(Flow, AMessageThatCanNeverBeHandledGoesToTheDeadLetterQueue) {
  const std::int64_t event = create_event(10);
  const std::string snapshot = db_snapshot();
  const std::int64_t payments_before = count("SELECT count(*) FROM payments.payments");
  // Not JSON, and JSON of the right envelope with a payload that is not an order.
  publish_raw("order.created", "this is not an event");
  publish_raw("order.created", R"({"id": "7d3c1f8e-0a4b-4c8e-9b1a-2f3e4d5c6b7a", "type": "order.created",
                                  "occurred_at": "2026-11-24T10:00:00.000Z", "correlation_id": "x",
                                  "payload": {"order_id": 42}})");
  EXPECT_TRUE(eventually(60s, [] { return broker().queue_messages("flashtix.payments.dead") == 2; }));
  EXPECT_EQ(count("SELECT count(*) FROM payments.payments"), payments_before);
  EXPECT_EQ(db_snapshot(), snapshot);
  // The consumer carries on with real orders.
  const std::string order = place_order(event, 1, "tok_ok");
  EXPECT_EQ(final_status(order, 10s), "CONFIRMED");
}

TEST(Flow, PaymentsAndNotificationsServeTheirOpenApiDocuments) {
  EXPECT_TRUE(serves_its_openapi_document(payments().port(), "payments"));
  EXPECT_TRUE(serves_its_openapi_document(notifications().port(), "notifications"));
}

TEST(Flow, PaymentsAndNotificationsAnswerReadsAndRefuseBadInput) {
  const std::int64_t event = create_event(10);
  const std::string order = place_order(event, 1, "tok_ok");
  ASSERT_EQ(final_status(order, 10s), "CONFIRMED");
  const json::array notices = delivered_notifications(order);
  ASSERT_EQ(notices.size(), 1u);

  const std::string payment_id = string_field(payments_of(order).at(0), "payment_id");
  const HttpResponse payment = http_request(payments().port(), "GET", "/payments/" + payment_id);
  ASSERT_TRUE(is_json(payment, 200));
  EXPECT_EQ(string_field(payment.json(), "order_id"), order);
  EXPECT_FALSE(payment.json().as_object().contains("payment_token")) << "the token stands for a card: never shown";
  const std::string notice_id = string_field(notices.at(0), "notification_id");
  const HttpResponse notice = http_request(notifications().port(), "GET", "/notifications/" + notice_id);
  ASSERT_TRUE(is_json(notice, 200));
  EXPECT_EQ(string_field(notice.json(), "order_id"), order);
  const HttpResponse paged = http_request(payments().port(), "GET", "/payments?status=succeeded&limit=1");
  ASSERT_TRUE(is_json(paged, 200));
  EXPECT_EQ(paged.json().at("items").as_array().size(), 1u);

  const std::string unknown = "00000000-0000-4000-8000-000000000000";
  EXPECT_TRUE(is_problem(http_request(payments().port(), "GET", "/payments/" + unknown), 404, "payment_not_found"));
  EXPECT_TRUE(is_problem(http_request(payments().port(), "GET", "/payments/not-a-uuid"), 400, "invalid_request"));
  EXPECT_TRUE(is_problem(http_request(payments().port(), "GET", "/payments?order_id=42"), 400, "invalid_request"));
  EXPECT_TRUE(is_problem(http_request(payments().port(), "GET", "/payments?status=paid"), 400, "invalid_request"));
  EXPECT_TRUE(is_problem(http_request(payments().port(), "GET", "/payments?limit=0"), 400, "invalid_request"));
  EXPECT_TRUE(is_problem(http_request(notifications().port(), "GET", "/notifications/" + unknown), 404,
                         "notification_not_found"));
  EXPECT_TRUE(is_problem(http_request(notifications().port(), "GET", "/notifications?order_id=x"), 400,
                         "invalid_request"));
  EXPECT_TRUE(is_problem(http_request(notifications().port(), "GET", "/notifications?status=sent"), 400,
                         "invalid_request"));
  EXPECT_TRUE(is_problem(http_request(payments().port(), "POST", "/payments", "{}"), 405, "method_not_allowed"));

  // A payment token that is not a plain token is refused before anything happens.
  const std::string snapshot = db_snapshot();
  for (const json::value& token : {json::value("tok ok"), json::value(""), json::value(42),
                                   json::value(std::string(65, 'a'))}) {
    const json::object body{{"event_id", event}, {"quantity", 1}, {"payment_token", token}};
    EXPECT_TRUE(is_problem(order_post(orders(), body), 400, "invalid_request")) << json::serialize(token);
  }
  EXPECT_EQ(db_snapshot(), snapshot);
}

TEST(Flow, AWebhookTargetThatIsDownGetsTheNotificationOnceItIsBack) {
  const std::int64_t event = create_event(10);
  webhook().refuse(true);
  const std::string order = place_order(event, 1, "tok_ok");
  ASSERT_EQ(final_status(order, 10s), "CONFIRMED");
  // Retried while refused...
  json::array notices;
  EXPECT_TRUE(eventually(10s, [&] {
    notices = notifications_of(order);
    return notices.size() == 1 && notices.at(0).at("attempts").as_int64() >= 3;
  })) << json::serialize(notices);
  EXPECT_EQ(notices.at(0).at("status").as_string(), "pending");
  EXPECT_TRUE(webhook().accepted_for(order).empty());

  // ...and delivered, once, when the target is back.
  webhook().refuse(false);
  notices = delivered_notifications(order);
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices.at(0).at("status").as_string(), "delivered");
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(webhook().accepted_for(order).size(), 1u);
}

// Payments forgets closed orders after a week, and both consumers forget inbox rows after a week;
// recent rows and the notifications themselves stay.
TEST(Flow, PaymentsAndNotificationsPruneRowsPastTheirRetention) {
  const std::string tag = unique_name("retained");
  for (const std::string schema : {"payments", "notifications"}) {
    pg().admin_query("INSERT INTO " + schema + ".inbox (message_id, type, received_at) SELECT gen_random_uuid(), '" +
                     tag + "-old', now() - interval '8 days' FROM generate_series(1, 30)");
    pg().admin_query("INSERT INTO " + schema + ".inbox (message_id, type) SELECT gen_random_uuid(), '" + tag +
                     "-new' FROM generate_series(1, 2)");
  }
  pg().admin_query("INSERT INTO payments.closed_orders (order_id, status, closed_at) "
                   "SELECT gen_random_uuid(), '" + tag + "-old', now() - interval '8 days' FROM generate_series(1, 30)");
  pg().admin_query("INSERT INTO payments.closed_orders (order_id, status) VALUES (gen_random_uuid(), '" + tag + "-new')");
  const std::int64_t notices_before = count("SELECT count(*) FROM notifications.notifications");

  const EnvVars often{{"FLASHTIX_RETENTION_INTERVAL_MS", "200"}};
  auto pruning_payments = start_payments(often);
  auto pruning_notifications = start_notifications(often);
  const auto rows = [&](const std::string& table, const std::string& column, const std::string& age) {
    return count("SELECT count(*) FROM " + table + " WHERE " + column + " = '" + tag + "-" + age + "'");
  };
  EXPECT_TRUE(eventually(15s, [&] {
    return rows("payments.inbox", "type", "old") + rows("notifications.inbox", "type", "old") +
               rows("payments.closed_orders", "status", "old") == 0;
  }));
  EXPECT_EQ(rows("payments.inbox", "type", "new"), 2);
  EXPECT_EQ(rows("notifications.inbox", "type", "new"), 2);
  EXPECT_EQ(rows("payments.closed_orders", "status", "new"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM notifications.notifications"), notices_before);
  EXPECT_EQ(pruning_payments->stop(), 0);
  EXPECT_EQ(pruning_notifications->stop(), 0);
}

}  // namespace
}  // namespace flashtix::test
