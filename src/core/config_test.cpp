// Configuration precedence: flag over environment over default, and clear errors.
#include "core/config.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "core/limits.hpp"
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

struct Window {
  std::chrono::milliseconds wait{250};
  int depth = 4;
};
struct SomeLimits {
  std::int64_t hold_seconds = 600;
  Window window;
};

LimitFlags<SomeLimits> some_flags(std::int64_t max_hold_seconds) {
  LimitFlags<SomeLimits> flags;
  flags.add("hold-seconds", &SomeLimits::hold_seconds, 1, max_hold_seconds, "hold")
      .add("wait-ms", &SomeLimits::window, &Window::wait, 0, 1000, "wait")
      .add("depth", &SomeLimits::window, &Window::depth, 1, 8, "depth");
  return flags;
}

TEST(LimitFlags, DefaultsComeFromTheStructAndFlagsSetItsMembers) {
  const auto flags = some_flags(3600);
  const auto options = flags.options();
  ASSERT_EQ(options.size(), 3u);
  EXPECT_EQ(options[0].name, "hold-seconds");
  EXPECT_EQ(options[0].default_value, "600");
  EXPECT_EQ(options[1].default_value, "250");
  EXPECT_EQ(options[2].default_value, "4");

  Config config("test", options);
  const char* argv[] = {"test", "--wait-ms=40", "--depth", "8"};
  config.parse(4, argv);
  const SomeLimits limits = flags.read(config);
  EXPECT_EQ(limits.hold_seconds, 600);
  EXPECT_EQ(limits.window.wait, std::chrono::milliseconds(40));
  EXPECT_EQ(limits.window.depth, 8);
}

TEST(LimitFlags, AValueOutOfRangeNamesItsFlagAndADefaultOutOfRangeIsABug) {
  const auto flags = some_flags(3600);
  Config config("test", flags.options());
  const char* argv[] = {"test", "--depth=9"};
  config.parse(2, argv);
  try {
    flags.read(config);
    FAIL() << "--depth=9 was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("--depth (FLASHTIX_DEPTH)"), std::string::npos) << e.what();
  }
  EXPECT_THROW(some_flags(60).options(), std::logic_error);
}

TEST(EnvName, UppercasesAndUnderscores) { EXPECT_EQ(env_name_for("max-body-bytes"), "FLASHTIX_MAX_BODY_BYTES"); }

TEST(Time, FormatsUnixMillisecondsAsRfc3339) {
  EXPECT_EQ(rfc3339_from_unix_ms(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(rfc3339_from_unix_ms(1795996800123), "2026-11-30T00:00:00.123Z");
}

TEST(Time, ReadsTheDateTimesAPersonWrites) {
  EXPECT_EQ(unix_ms_from_any_rfc3339("2026-11-30T00:00:00Z"), 1795996800000);
  EXPECT_EQ(unix_ms_from_any_rfc3339("2026-11-30T00:00:00.123Z"), 1795996800123);
  EXPECT_EQ(unix_ms_from_any_rfc3339("2026-11-30T00:00:00.1234567Z"), 1795996800123);
  EXPECT_EQ(unix_ms_from_any_rfc3339("2026-11-30T00:00:00.5Z"), 1795996800500);
  EXPECT_EQ(unix_ms_from_any_rfc3339("2026-11-30T01:30:00+01:30"), 1795996800000);
  EXPECT_EQ(unix_ms_from_any_rfc3339("2026-11-29T22:00:00-02:00"), 1795996800000);
  EXPECT_EQ(unix_ms_from_any_rfc3339("2026-11-30t00:00:00z"), 1795996800000);
  for (const char* bad : {"", "2026-11-30", "2026-11-30T00:00:00", "2026-11-30 00:00:00Z", "2026-02-30T00:00:00Z",
                          "2026-13-01T00:00:00Z", "2026-11-30T24:00:00Z", "2026-11-30T00:00:00.Z",
                          "2026-11-30T00:00:00+0100", "1969-12-31T23:59:59Z", "2026-11-30T00:00:00Zjunk",
                          "tomorrow"}) {
    EXPECT_EQ(unix_ms_from_any_rfc3339(bad), std::nullopt) << bad;
  }
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
