// Typed, bounded reading of a JSON request body: the first problem found is kept and reported.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/http.hpp"

namespace flashtix::core {

// Parses a body that must be one JSON object; malformed JSON or another type is a Problem.
Result<json::object> parse_json_object(std::string_view body);

class FieldReader {
 public:
  explicit FieldReader(const json::object& object) : object_(object) {}

  std::int64_t required_int(std::string_view name, std::int64_t min, std::int64_t max);
  std::optional<std::int64_t> optional_int(std::string_view name, std::int64_t min, std::int64_t max);
  std::string required_string(std::string_view name, std::size_t min_length, std::size_t max_length);
  std::optional<std::string> optional_string(std::string_view name, std::size_t min_length, std::size_t max_length);
  bool has(std::string_view name) const;

  // The first problem met, if any; after one, later reads return placeholders.
  const std::optional<Problem>& problem() const { return problem_; }
  void fail(std::string detail);

 private:
  const json::value* find(std::string_view name) const;
  std::optional<std::int64_t> read_int(std::string_view name, std::int64_t min, std::int64_t max, bool required);
  std::optional<std::string> read_string(std::string_view name, std::size_t min_length, std::size_t max_length,
                                         bool required);

  const json::object& object_;
  std::optional<Problem> problem_;
};

// Characters (code points) in valid UTF-8 text, which is how the database's length() counts.
std::size_t utf8_length(std::string_view text);
// `text` with every byte that is not part of valid UTF-8 replaced by U+FFFD, so that it can go into JSON.
std::string valid_utf8(std::string_view text);

// Parses a whole decimal integer within [min, max] (path segments, query parameters, cursors).
std::optional<std::int64_t> parse_int(std::string_view text, std::int64_t min, std::int64_t max);

}  // namespace flashtix::core
