// Broker URLs as logs and error messages show them: without their password.
#include <gtest/gtest.h>

#include <stdexcept>

#include "core/amqp.hpp"

namespace flashtix::core {
namespace {

TEST(BrokerUrl, LogsShowNoPassword) {
  using amqp::url_for_logs;
  EXPECT_EQ(url_for_logs("amqp://flashtix-orders:s3cr%40t@127.0.0.1:5672/"),
            "amqp://flashtix-orders:***@127.0.0.1:5672/");
  EXPECT_EQ(url_for_logs("amqp://u:p@ss@host/vhost"), "amqp://u:***@host/vhost");
  EXPECT_EQ(url_for_logs("amqp://u:p@host"), "amqp://u:***@host");
  EXPECT_EQ(url_for_logs("amqp://flashtix-orders@127.0.0.1:5672/"), "amqp://flashtix-orders@127.0.0.1:5672/");
  EXPECT_EQ(url_for_logs("amqp://127.0.0.1:5672/x@y:z"), "amqp://127.0.0.1:5672/x@y:z");
  EXPECT_EQ(url_for_logs("not a url"), "not a url");

  try {
    amqp::check_url("amqps://u:topsecret@127.0.0.1:5671/");
    ADD_FAILURE() << "amqps:// is refused";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).find("topsecret"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace flashtix::core
