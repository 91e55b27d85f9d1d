// A sell-out through the whole flow: 1,000 orders on 100 tickets, every tenth paid with a card that is
// declined. In the end the books agree everywhere: sold = confirmed orders, each confirmed order has one
// succeeded payment and one delivered notification, each cancelled one a failed payment.
#include <iostream>

#include "flow_harness.hpp"

namespace flashtix::test {
namespace {

using namespace std::chrono_literals;

TEST(FlowSellout, AThousandOrdersOnAHundredTicketsWithDeclines) {
  constexpr std::int64_t kTickets = 100;
  constexpr int kOrders = 1000;
  constexpr int kConnections = 50;
  const std::int64_t event = create_event(kTickets);

  std::vector<LoadRequest> requests;
  for (int i = 0; i < kOrders; ++i) {
    const boost::json::object body{{"event_id", event}, {"quantity", 1},
                                   {"payment_token", i % 10 == 9 ? "tok_decline" : "tok_ok"}};
    requests.push_back(LoadRequest{"POST", "/orders", boost::json::serialize(body)});
  }
  const std::vector<LoadResult> answers = run_load(orders().port(), std::move(requests), kConnections);
  std::int64_t created = 0;
  std::int64_t sold_out = 0;
  for (const LoadResult& answer : answers) {
    if (answer.status == 200) ++created;
    if (answer.status == 409) ++sold_out;
  }
  EXPECT_EQ(created + sold_out, kOrders) << "every request gets an order or sold_out";
  EXPECT_GE(created, kTickets);

  const std::string of_event = " FROM orders.orders WHERE event_id = " + std::to_string(event);
  EXPECT_TRUE(eventually(120s, [&] {
    return count("SELECT count(*)" + of_event + " AND status = 'PENDING_PAYMENT'") == 0;
  })) << "orders still waiting for their payment";

  const std::int64_t confirmed = count("SELECT count(*)" + of_event + " AND status = 'CONFIRMED'");
  const std::int64_t cancelled = count("SELECT count(*)" + of_event + " AND status = 'CANCELLED'");
  EXPECT_EQ(confirmed + cancelled, created) << "every order ends confirmed or cancelled";
  EXPECT_GT(cancelled, 0);
  const EventCounts counts = api_counts(event);
  std::cout << "[sellout] " << created << " orders, " << sold_out << " sold_out; " << confirmed << " confirmed, "
            << cancelled << " cancelled; " << counts << "\n";
  EXPECT_EQ(counts.sold, confirmed);
  EXPECT_EQ(counts.held, 0);
  EXPECT_LE(counts.sold, kTickets);
  EXPECT_TRUE(ledger_balanced());

  // Each confirmed order: exactly one payment, succeeded; each cancelled one: one, failed.
  EXPECT_EQ(count("SELECT count(*)" + of_event +
                  " AND status = 'CONFIRMED' AND (SELECT count(*) FROM payments.payments p "
                  "  WHERE p.order_id = orders.orders.id AND p.status = 'succeeded') <> 1"),
            0);
  EXPECT_EQ(count("SELECT count(*)" + of_event +
                  " AND status = 'CANCELLED' AND (SELECT count(*) FROM payments.payments p "
                  "  WHERE p.order_id = orders.orders.id AND p.status = 'failed') <> 1"),
            0);
  EXPECT_EQ(count("SELECT count(*) FROM payments.payments p JOIN orders.orders o ON o.id = p.order_id "
                  "WHERE o.event_id = " + std::to_string(event)),
            created);
  // Each ended order: one notification, delivered, and one webhook call for it.
  EXPECT_TRUE(eventually(60s, [&] {
    return count("SELECT count(*)" + of_event +
                 " AND (SELECT count(*) FROM notifications.notifications n "
                 "      WHERE n.order_id = orders.orders.id AND n.status = 'delivered') <> 1") == 0;
  }));
  std::int64_t confirmed_hooks = 0;
  const Rows confirmed_ids = pg().query("SELECT id" + of_event + " AND status = 'CONFIRMED'");
  for (const auto& row : confirmed_ids) {
    const std::string& id = row.at(0);
    const auto hooks = webhook().accepted_for(id);
    EXPECT_EQ(hooks.size(), 1u) << id;
    if (hooks.size() == 1 && hooks[0].at("type").as_string() == "order.confirmed") ++confirmed_hooks;
  }
  EXPECT_EQ(confirmed_hooks, confirmed);
}

}  // namespace
}  // namespace flashtix::test
