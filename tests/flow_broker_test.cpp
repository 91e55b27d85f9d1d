// The broker stopped in the middle of a sale for 30 s: orders keep being taken, their events wait in the
// outboxes, and once the broker is back every order ends, is paid or refused once, and is notified once.
#include "flow_harness.hpp"

namespace flashtix::test {
namespace {

using namespace std::chrono_literals;

TEST(FlowBroker, ABrokerDownForThirtySecondsLosesNothing) {
  const std::int64_t event = create_event(100);
  std::vector<std::string> placed;
  auto token_for = [](std::size_t i) { return i % 4 == 3 ? "tok_decline" : "tok_ok"; };
  for (std::size_t i = 0; i < 10; ++i) placed.push_back(place_order(event, 1, token_for(i)));

  // Mid-flow: some of these orders' events are on their way when the broker goes.
  broker().stop();
  const auto stopped_at = std::chrono::steady_clock::now();
  for (std::size_t i = 10; i < 20; ++i) placed.push_back(place_order(event, 1, token_for(i)));
  EXPECT_GT(count("SELECT count(*) FROM orders.outbox WHERE published_at IS NULL"), 0);
  std::this_thread::sleep_until(stopped_at + 30s);
  broker().start();

  std::size_t confirmed = 0;
  for (std::size_t i = 0; i < placed.size(); ++i) {
    const std::string status = final_status(placed[i], 60s);
    EXPECT_EQ(status, i % 4 == 3 ? "CANCELLED" : "CONFIRMED") << "order " << placed[i];
    if (status == "CONFIRMED") ++confirmed;
  }
  EXPECT_EQ(api_counts(event), (EventCounts{100, static_cast<std::int64_t>(100 - confirmed), 0,
                                            static_cast<std::int64_t>(confirmed)}));
  for (const std::string& order : placed) {
    EXPECT_EQ(payments_of(order).size(), 1u) << order;
    EXPECT_TRUE(eventually(20s, [&] {
      const auto notices = notifications_of(order);
      return notices.size() == 1 && notices.at(0).at("status").as_string() == "delivered";
    })) << order;
    EXPECT_EQ(webhook().accepted_for(order).size(), 1u) << order;
  }
  EXPECT_EQ(count("SELECT count(*) FROM orders.outbox WHERE published_at IS NULL"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM payments.outbox WHERE published_at IS NULL"), 0);
  EXPECT_EQ(broker().queue_messages("flashtix.orders.dead") + broker().queue_messages("flashtix.payments.dead") +
                broker().queue_messages("flashtix.notifications.dead"),
            0);
  EXPECT_TRUE(ledger_balanced());
}

}  // namespace
}  // namespace flashtix::test
