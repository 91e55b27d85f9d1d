// Who may publish what on the broker (event owners and their users), and broker URLs as logs show them.
#include <gtest/gtest.h>

#include <cstdlib>
#include <stdexcept>

#include "core/amqp.hpp"
#include "core/config.hpp"
#include "core/events.hpp"
#include "core/messaging/broker.hpp"

namespace flashtix::core {
namespace {

TEST(EventOwner, EachTypeBelongsToTheServiceThatPublishesIt) {
  using messaging::event_owner;
  for (auto type : {events::OrderCreated::kType, events::OrderConfirmed::kType, events::OrderCancelled::kType,
                    events::OrderExpired::kType}) {
    EXPECT_EQ(event_owner(type), "orders") << type;
  }
  for (auto type : {events::PaymentSucceeded::kType, events::PaymentFailed::kType, events::PaymentRefunded::kType}) {
    EXPECT_EQ(event_owner(type), "payments") << type;
  }
  EXPECT_EQ(event_owner(events::HoldVoided::kType), "inventory");
  EXPECT_EQ(event_owner("order.created.extra"), std::nullopt);
  EXPECT_EQ(event_owner("order"), std::nullopt);
  EXPECT_EQ(event_owner(""), std::nullopt);
  EXPECT_EQ(messaging::broker_user("orders"), "flashtix-orders");
}

TEST(BrokerSettings, AServiceLogsInAsItsOwnUser) {
  ::unsetenv("FLASHTIX_AMQP_URL");  // the defaults are under test, not the caller's shell
  Config config("test", messaging::broker_options("payments"));
  const char* defaults[] = {"test"};
  config.parse(1, defaults);
  EXPECT_EQ(config.get("amqp-url"), "amqp://flashtix-payments@127.0.0.1:5672/");
  EXPECT_EQ(messaging::broker_settings_from(config, "payments").url, "amqp://flashtix-payments@127.0.0.1:5672/");

  const char* other[] = {"test", "--amqp-url=amqp://flashtix-orders:secret@127.0.0.1:5672/"};
  config.parse(2, other);
  try {
    messaging::broker_settings_from(config, "payments");
    ADD_FAILURE() << "payments must not log in as flashtix-orders";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("flashtix-payments"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("secret"), std::string::npos) << e.what();
  }
  const char* guest[] = {"test", "--amqp-url=amqp://127.0.0.1:5672/"};
  config.parse(2, guest);
  EXPECT_THROW(messaging::broker_settings_from(config, "payments"), std::invalid_argument);
}

TEST(BrokerUrl, LogsShowNoPassword) {
  using amqp::url_for_logs;
  EXPECT_EQ(url_for_logs("amqp://flashtix-orders:s3cr%40t@127.0.0.1:5672/"),
            "amqp://flashtix-orders:***@127.0.0.1:5672/");
  EXPECT_EQ(url_for_logs("amqp://u:p@ss@host/vhost"), "amqp://u:***@host/vhost");
  EXPECT_EQ(url_for_logs("amqp://u:p@host"), "amqp://u:***@host");
  EXPECT_EQ(url_for_logs("amqp://flashtix-orders@127.0.0.1:5672/"), "amqp://flashtix-orders@127.0.0.1:5672/");
  EXPECT_EQ(url_for_logs("amqp://127.0.0.1:5672/x@y:z"), "amqp://127.0.0.1:5672/x@y:z");
  EXPECT_EQ(url_for_logs("not a url"), "not a url");

  EXPECT_EQ(amqp::url_user("amqp://flashtix-orders:pw@127.0.0.1:5672/"), "flashtix-orders");
  EXPECT_EQ(amqp::url_user("amqp://127.0.0.1:5672/"), "guest");
  try {
    amqp::check_url("amqps://u:topsecret@127.0.0.1:5671/");
    ADD_FAILURE() << "amqps:// is refused";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).find("topsecret"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace flashtix::core
