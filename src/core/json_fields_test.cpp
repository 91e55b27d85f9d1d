// Body validation: types, bounds, the first problem wins, malformed JSON.
#include "core/json_fields.hpp"

#include <gtest/gtest.h>

namespace flashtix::core {
namespace {

json::object object_of(std::string_view text) { return json::parse(text).as_object(); }

TEST(ParseJsonObject, RejectsMalformedAndNonObjects) {
  auto malformed = parse_json_object("{\"a\": ");
  ASSERT_TRUE(std::holds_alternative<Problem>(malformed));
  EXPECT_EQ(std::get<Problem>(malformed).code, "malformed_json");
  auto array = parse_json_object("[1, 2]");
  ASSERT_TRUE(std::holds_alternative<Problem>(array));
  EXPECT_EQ(std::get<Problem>(array).code, "invalid_request");
  EXPECT_TRUE(std::holds_alternative<json::object>(parse_json_object("{\"a\": 1}")));
}

TEST(ParseJsonObject, BoundsNesting) {
  const std::string deep = std::string(100, '[') + std::string(100, ']');
  auto parsed = parse_json_object("{\"a\": " + deep + "}");
  ASSERT_TRUE(std::holds_alternative<Problem>(parsed));
  EXPECT_EQ(std::get<Problem>(parsed).code, "malformed_json");
}

TEST(FieldReader, ReadsIntegersWithinBounds) {
  const auto object = object_of(R"({"q": 3, "big": 18446744073709551615, "neg": -1, "f": 1.5, "s": "2"})");
  FieldReader ok(object);
  EXPECT_EQ(ok.required_int("q", 1, 10), 3);
  EXPECT_FALSE(ok.problem());

  for (const char* name : {"big", "neg", "f", "s", "absent"}) {
    FieldReader reader(object);
    reader.required_int(name, 0, 10);
    ASSERT_TRUE(reader.problem()) << name;
    EXPECT_EQ(reader.problem()->code, "invalid_request");
    EXPECT_NE(reader.problem()->detail.find(name), std::string::npos) << reader.problem()->detail;
  }
}

TEST(FieldReader, OptionalFieldsMayBeAbsentOrNull) {
  const auto object = object_of(R"({"n": null})");
  FieldReader reader(object);
  EXPECT_FALSE(reader.optional_int("n", 1, 5).has_value());
  EXPECT_FALSE(reader.optional_string("missing", 1, 5).has_value());
  EXPECT_FALSE(reader.problem());
}

TEST(FieldReader, StringsAreBoundedAndFreeOfNul) {
  const auto object = object_of(R"({"empty": "", "long": "abcdef", "nul": "a\u0000b", "num": 5, "ok": "abc"})");
  for (const char* name : {"empty", "long", "nul", "num"}) {
    FieldReader reader(object);
    reader.required_string(name, 1, 5);
    EXPECT_TRUE(reader.problem()) << name;
  }
  FieldReader reader(object);
  EXPECT_EQ(reader.required_string("ok", 1, 5), "abc");
  EXPECT_FALSE(reader.problem());
}

TEST(FieldReader, KeepsTheFirstProblem) {
  const auto object = object_of(R"({"a": "x", "b": "y"})");
  FieldReader reader(object);
  reader.required_int("a", 0, 1);
  reader.required_int("b", 0, 1);
  ASSERT_TRUE(reader.problem());
  EXPECT_NE(reader.problem()->detail.find("'a'"), std::string::npos);
}

TEST(ParseInt, WholeDecimalWithinRange) {
  EXPECT_EQ(parse_int("42", 1, 100), 42);
  EXPECT_FALSE(parse_int("", 1, 100));
  EXPECT_FALSE(parse_int("4x", 1, 100));
  EXPECT_FALSE(parse_int("0", 1, 100));
  EXPECT_FALSE(parse_int("101", 1, 100));
  EXPECT_FALSE(parse_int("99999999999999999999", 1, INT64_MAX));
}

}  // namespace
TEST(ValidUtf8, KeepsValidTextAndReplacesEveryBadByte) {
  EXPECT_EQ(valid_utf8("plain /path"), "plain /path");
  EXPECT_EQ(valid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x8E\xAB"), "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x8E\xAB");
  EXPECT_EQ(valid_utf8("/\xFF\xFE/x"), "/\xEF\xBF\xBD\xEF\xBF\xBD/x");
  EXPECT_EQ(valid_utf8("\xC3"), "\xEF\xBF\xBD");                  // cut short
  EXPECT_EQ(valid_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/'
  EXPECT_EQ(valid_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
  EXPECT_EQ(valid_utf8("\xF4\x90\x80\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // past U+10FFFF
}

}  // namespace flashtix::core
