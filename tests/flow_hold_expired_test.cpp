// End-to-end: a hold that inventory's sweep expires ends its unpaid order at once, through hold.expired,
// so that the buyer and the payment service hear of it then and not at the order service's next sweep.
#include "flow_harness.hpp"

namespace flashtix::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

std::string sql_text(const std::string& text) { return "'" + text + "'"; }

// GET /orders/{id} from `service`.
json::object order_from(const ServiceProcess& service, const std::string& order_id) {
  const HttpResponse response = order_get(service, "/orders/" + order_id);
  if (response.status != 200) throw std::runtime_error("GET /orders/" + order_id + " answered " + response.describe());
  return response.json().as_object();
}

std::int64_t hold_expired_count(const std::string& key) {
  return count("SELECT count(*) FROM inventory.outbox WHERE type = 'hold.expired' AND correlation_id = " +
               sql_text(key));
}

TEST(HoldExpired, AnOrderWhoseHoldInventoryExpiredEndsExpiredAtOnceAndOnce) {
  // An inventory that reaches the broker, sweeping often: its relay publishes every hold.expired.
  ServiceProcess relaying("flashtix-inventory", {{"FLASHTIX_DATABASE_URL", pg().database_url()},
                                                 {"FLASHTIX_AMQP_URL", broker().url("inventory")},
                                                 {"FLASHTIX_SWEEP_INTERVAL_MS", "100"}});
  // For the length of the test the only orders process sweeps its unpaid orders once a minute, and no
  // payment service runs: within the time allowed below, only a hold.expired can end an order.
  ASSERT_EQ(orders().stop(), 0);
  ASSERT_EQ(payments().stop(), 0);
  auto slow_sweep = start_orders({{"FLASHTIX_HOLD_SECONDS", "1"}, {"FLASHTIX_SWEEP_INTERVAL_MS", "60000"}});
  ASSERT_TRUE(eventually(20s, [&] { return http_request(slow_sweep->port(), "GET", "/ready").status == 200; }))
      << slow_sweep->log_tail();

  const std::int64_t event = create_event(5);
  const std::string order = place_order(event, 3, "tok_ok", slow_sweep.get());
  // A hold no order made: its hold.expired finds nothing to end.
  const HttpResponse manual = post("/inventory/reserve", json::object{{"event_id", event},
                                                                       {"quantity", 1},
                                                                       {"reservation_key", "manual-" + order},
                                                                       {"hold_seconds", 1}});
  ASSERT_TRUE(is_json(manual, 200)) << manual.describe();

  std::string status;
  EXPECT_TRUE(eventually(15s, [&] {
    status = std::string(order_from(*slow_sweep, order).at("status").as_string());
    return status != "PENDING_PAYMENT";
  }));
  EXPECT_EQ(status, "EXPIRED");
  EXPECT_EQ(order_from(*slow_sweep, order).at("status_reason").as_string(), "hold_expired");

  // Inventory announced each expired hold once; the order service took the order's in its inbox and
  // announced the order's end, which went out.
  EXPECT_EQ(hold_expired_count(order), 1);
  EXPECT_EQ(count("SELECT count(*) FROM inventory.outbox o JOIN inventory.reservations r "
                  "  ON r.id = (o.payload->>'reservation_id')::bigint "
                  " WHERE o.type = 'hold.expired' AND o.correlation_id = " + sql_text(order) +
                  "   AND r.status = 'EXPIRED' AND r.reservation_key = o.payload->>'reservation_key' "
                  "   AND (o.payload->>'event_id')::bigint = " + std::to_string(event) +
                  "   AND (o.payload->>'quantity')::bigint = 3 AND o.payload ? 'expired_at'"),
            1);
  const std::string hold_expired = outbox_message_id("inventory", "hold.expired", order);
  ASSERT_FALSE(hold_expired.empty());
  EXPECT_EQ(count("SELECT count(*) FROM orders.inbox WHERE message_id = " + sql_text(hold_expired)), 1);
  const std::string order_expired =
      "SELECT count(*) FROM orders.outbox WHERE type = 'order.expired' AND correlation_id = " + sql_text(order);
  EXPECT_EQ(count(order_expired), 1);
  EXPECT_TRUE(eventually(10s, [&] { return count(order_expired + " AND published_at IS NOT NULL") == 1; }));

  // The manual hold's announcement was consumed too, and changed nothing.
  EXPECT_TRUE(eventually(10s, [&] { return hold_expired_count("manual-" + order) == 1; }));
  const std::string manual_expired = outbox_message_id("inventory", "hold.expired", "manual-" + order);
  EXPECT_TRUE(eventually(10s, [&] {
    return count("SELECT count(*) FROM orders.inbox WHERE message_id = " + sql_text(manual_expired)) == 1;
  }));
  EXPECT_EQ(api_counts(event), (EventCounts{5, 5, 0, 0}));

  // The order's hold.expired delivered twice more changes nothing.
  republish("inventory", hold_expired);
  republish("inventory", hold_expired);
  EXPECT_TRUE(eventually(60s, [] { return broker().queue_messages("flashtix.orders") == 0; }));
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(count(order_expired), 1);
  EXPECT_EQ(order_from(*slow_sweep, order).at("status").as_string(), "EXPIRED");
  EXPECT_EQ(broker().queue_messages("flashtix.orders.dead"), 0);

  // The buyer was told. The payment service, back, hears of the order's end: it keeps no money for it
  // (its order.created and order.expired may be taken in either order, so the charge is either never
  // made or refunded).
  EXPECT_EQ(slow_sweep->stop(), 0);
  orders().start();
  payments().start();
  json::array notices;
  EXPECT_TRUE(eventually(15s, [&] {
    notices = notifications_of(order);
    return notices.size() == 1 && notices.at(0).at("status").as_string() == "delivered";
  })) << json::serialize(notices);
  EXPECT_EQ(notices.at(0).at("type").as_string(), "order.expired");
  EXPECT_TRUE(eventually(20s, [&] {
    return count("SELECT count(*) FROM payments.closed_orders WHERE status = 'EXPIRED' AND order_id = " +
                 sql_text(order)) == 1;
  }));
  json::array payments;
  EXPECT_TRUE(eventually(20s, [&] {
    payments = payments_of(order);
    return payments.empty() || (payments.size() == 1 && payments.at(0).at("status").as_string() == "refunded");
  })) << json::serialize(payments);
  EXPECT_EQ(order_json(order).at("status").as_string(), "EXPIRED");
  EXPECT_TRUE(ledger_balanced());
  EXPECT_EQ(relaying.stop(), 0);
}

}  // namespace
}  // namespace flashtix::test
