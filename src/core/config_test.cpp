// Configuration precedence: flag over environment over default, and clear errors.
#include "core/config.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "core/time.hpp"
#include "core/uuid.hpp"

namespace flashtix::core {
namespace {

TEST(Config, FlagBeatsEnvironmentBeatsDefault) {
  Config config("test", {{"alpha-beta", "1", ""}, {"gamma", "2", ""}, {"delta", "3", ""}});
  ::setenv("FLASHTIX_ALPHA_BETA", "10", 1);
  ::setenv("FLASHTIX_GAMMA", "20", 1);
  const char* argv[] = {"test", "--gamma=200"};
  config.parse(2, argv);
  EXPECT_EQ(config.get("alpha-beta"), "10");
  EXPECT_EQ(config.get("gamma"), "200");
  EXPECT_EQ(config.get("delta"), "3");
  ::unsetenv("FLASHTIX_ALPHA_BETA");
  ::unsetenv("FLASHTIX_GAMMA");
}

TEST(Config, SeparateValueFormAndErrors) {
  Config config("test", {{"port", "1", ""}});
  const char* argv[] = {"test", "--port", "8080"};
  config.parse(3, argv);
  EXPECT_EQ(config.get_int("port", 1, 65535), 8080);

  Config unknown("test", {{"port", "1", ""}});
  const char* bad[] = {"test", "--nope=1"};
  EXPECT_THROW(unknown.parse(2, bad), std::invalid_argument);

  Config missing("test", {{"port", "1", ""}});
  const char* dangling[] = {"test", "--port"};
  EXPECT_THROW(missing.parse(2, dangling), std::invalid_argument);
}

TEST(Config, IntegerOptionsAreRangeChecked) {
  Config config("test", {{"port", "70000", ""}, {"word", "abc", ""}});
  const char* argv[] = {"test"};
  config.parse(1, argv);
  EXPECT_THROW(config.get_int("port", 1, 65535), std::invalid_argument);
  EXPECT_THROW(config.get_int("word", 0, 10), std::invalid_argument);
}

TEST(EnvName, UppercasesAndUnderscores) { EXPECT_EQ(env_name_for("max-body-bytes"), "FLASHTIX_MAX_BODY_BYTES"); }

TEST(Time, FormatsUnixMillisecondsAsRfc3339) {
  EXPECT_EQ(rfc3339_from_unix_ms(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(rfc3339_from_unix_ms(1795996800123), "2026-11-30T00:00:00.123Z");
}

TEST(Uuid, RandomVersionFour) {
  const std::string a = random_uuid();
  const std::string b = random_uuid();
  EXPECT_NE(a, b);
  EXPECT_TRUE(is_uuid(a));
  EXPECT_EQ(a[14], '4');
  EXPECT_TRUE(a[19] == '8' || a[19] == '9' || a[19] == 'a' || a[19] == 'b');
  EXPECT_FALSE(is_uuid("not-a-uuid"));
}

}  // namespace
}  // namespace flashtix::core
