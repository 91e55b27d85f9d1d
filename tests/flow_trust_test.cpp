// The trust boundaries of the database: it takes flashuser only with its password over TCP, and the
// superuser only over its socket.
#include "flow_harness.hpp"

namespace flashtix::test {
namespace {

TEST(Trust, TheDatabaseTakesFlashuserOnlyWithItsPasswordAndTheSuperuserOnlyOnItsSocket) {
  EXPECT_EQ(pg().tcp_login_error("flashuser", pg().password()), "");
  EXPECT_NE(pg().tcp_login_error("flashuser", std::nullopt), "");
  const std::string wrong = pg().tcp_login_error("flashuser", "flashpass");
  EXPECT_NE(wrong.find("password authentication failed"), std::string::npos) << wrong;
  // The superuser over TCP: refused whatever it sends.
  for (const std::optional<std::string>& password :
       {std::optional<std::string>{}, std::optional<std::string>{"postgres"}}) {
    const std::string refused = pg().tcp_login_error("postgres", password);
    EXPECT_NE(refused.find("rejects connection"), std::string::npos) << refused;
  }
  // The socket is the superuser's alone, and only for the account that runs the cluster.
  EXPECT_EQ(pg().socket_login_error("postgres"), "");
  EXPECT_NE(pg().socket_login_error("flashuser"), "");
}

}  // namespace
}  // namespace flashtix::test
