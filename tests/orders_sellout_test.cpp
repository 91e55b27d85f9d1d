// A sell-out through the order service: 2,000 buyers over 200 connections for 100 tickets.
#include "orders_harness.hpp"

namespace flashtix::test {
namespace {

namespace json = boost::json;

TEST(OrdersSellout, TwoThousandBuyersForAHundredTicketsMakeExactlyAHundredOrders) {
  const std::int64_t event = create_event(100);
  std::vector<LoadRequest> requests(2000);
  for (auto& request : requests) {
    request = {"POST", "/orders", json::serialize(json::object{{"event_id", event}, {"quantity", 1}})};
  }
  const std::vector<LoadResult> answers = run_load(orders().port(), std::move(requests), 200);
  int created = 0;
  int sold_out = 0;
  std::vector<std::string> other;
  for (const LoadResult& answer : answers) {
    const json::value body = answer.status != 0 ? json::parse(answer.body) : json::value();
    if (answer.status == 200) {
      ++created;
    } else if (answer.status == 409 && body.as_object().at("code").as_string() == "sold_out") {
      ++sold_out;
    } else if (other.size() < 5) {
      other.push_back(std::to_string(answer.status) + " " + answer.body + answer.error);
    }
  }
  EXPECT_EQ(created, 100);
  EXPECT_EQ(sold_out, 1900);
  EXPECT_TRUE(other.empty()) << other.front();
  EXPECT_EQ(api_counts(event), (EventCounts{100, 0, 100, 0}));
  EXPECT_TRUE(ledger_balanced());
  EXPECT_EQ(db_order_count(event), 100);
  // Every order's hold exists, is HELD, has the order id as its key, and holds its quantity.
  const Rows mismatched = pg().query(
      "SELECT o.id FROM orders.orders o LEFT JOIN inventory.reservations r ON r.id = o.reservation_id "
      "WHERE o.event_id = " + std::to_string(event) +
      " AND (r.id IS NULL OR r.status <> 'HELD' OR r.reservation_key <> o.id::text OR r.quantity <> o.quantity)");
  EXPECT_TRUE(mismatched.empty()) << mismatched.size() << " orders without their hold, first " << mismatched[0][0];
}

}  // namespace
}  // namespace flashtix::test
