// Request body validation: every field is checked for presence, type and range before anything runs.
#include "core/json_fields.hpp"

#include <charconv>

namespace flashtix::core {

Result<json::object> parse_json_object(std::string_view body) {
  boost::system::error_code ec;
  // Bounded nesting: a body of ten thousand '[' must not recurse deeply.
  json::parse_options options;
  options.max_depth = 16;
  json::value value = json::parse(body, ec, {}, options);
  if (ec) {
    return Problem{http::status::bad_request, "malformed_json", "The body is not valid JSON",
                   "the request body could not be parsed as JSON: " + ec.message(), {}, {}};
  }
  if (!value.is_object()) return invalid_request("the request body must be a JSON object");
  return std::move(value.as_object());
}

std::optional<std::int64_t> parse_int(std::string_view text, std::int64_t min, std::int64_t max) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value < min || value > max) {
    return std::nullopt;
  }
  return value;
}

// Boost.JSON has already checked the text is UTF-8: count every byte that does not continue a character.
std::size_t utf8_length(std::string_view text) {
  std::size_t characters = 0;
  for (unsigned char c : text) characters += (c & 0xC0) != 0x80;
  return characters;
}

std::string valid_utf8(std::string_view text) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto byte = [&](std::size_t at) { return static_cast<unsigned char>(text[at]); };
    const unsigned char lead = byte(i);
    std::size_t length = 0;
    std::uint32_t point = 0;
    if (lead < 0x80) {
      length = 1;
      point = lead;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
      point = lead & 0x1F;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      point = lead & 0x0F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      point = lead & 0x07;
    }
    bool valid = length > 0 && i + length <= text.size();
    for (std::size_t k = 1; valid && k < length; ++k) {
      valid = (byte(i + k) & 0xC0) == 0x80;
      point = (point << 6) | (byte(i + k) & 0x3F);
    }
    // No overlong forms, no surrogates, nothing past U+10FFFF.
    if (valid && length == 3 && (point < 0x800 || (point >= 0xD800 && point <= 0xDFFF))) valid = false;
    if (valid && length == 4 && (point < 0x10000 || point > 0x10FFFF)) valid = false;
    if (valid) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out.append(kReplacement);
      ++i;
    }
  }
  return out;
}

const json::value* FieldReader::find(std::string_view name) const {
  const json::value* value = object_.if_contains(name);
  // A member given as null counts as absent, so optional fields may be sent as null.
  return value && !value->is_null() ? value : nullptr;
}

bool FieldReader::has(std::string_view name) const { return find(name) != nullptr; }

void FieldReader::fail(std::string detail) {
  if (!problem_) problem_ = invalid_request(std::move(detail));
}

std::optional<std::int64_t> FieldReader::read_int(std::string_view name, std::int64_t min, std::int64_t max,
                                                  bool required) {
  const json::value* value = find(name);
  const std::string range = " from " + std::to_string(min) + " to " + std::to_string(max);
  if (!value) {
    if (required) fail("'" + std::string(name) + "' is required: an integer" + range);
    return std::nullopt;
  }
  std::optional<std::int64_t> number;
  if (value->is_int64()) number = value->get_int64();
  if (value->is_uint64() && value->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    number = static_cast<std::int64_t>(value->get_uint64());
  }
  if (!number || *number < min || *number > max) {
    fail("'" + std::string(name) + "' must be an integer" + range + ", got " + json::serialize(*value));
    return std::nullopt;
  }
  return number;
}

std::optional<std::string> FieldReader::read_string(std::string_view name, std::size_t min_length,
                                                    std::size_t max_length, bool required) {
  const json::value* value = find(name);
  const std::string bounds =
      " of " + std::to_string(min_length) + " to " + std::to_string(max_length) + " characters";
  if (!value) {
    if (required) fail("'" + std::string(name) + "' is required: a string" + bounds);
    return std::nullopt;
  }
  // PostgreSQL text cannot hold NUL, so a string carrying one is refused here rather than failing later.
  const std::string_view text = value->is_string() ? std::string_view(value->get_string()) : std::string_view{};
  const std::size_t length = utf8_length(text);
  if (!value->is_string() || length < min_length || length > max_length || text.find('\0') != std::string_view::npos) {
    fail("'" + std::string(name) + "' must be a string" + bounds + " without NUL");
    return std::nullopt;
  }
  return std::string(value->get_string());
}

std::int64_t FieldReader::required_int(std::string_view name, std::int64_t min, std::int64_t max) {
  return read_int(name, min, max, true).value_or(min);
}

std::optional<std::int64_t> FieldReader::optional_int(std::string_view name, std::int64_t min, std::int64_t max) {
  return read_int(name, min, max, false);
}

std::string FieldReader::required_string(std::string_view name, std::size_t min_length, std::size_t max_length) {
  return read_string(name, min_length, max_length, true).value_or(std::string{});
}

std::optional<std::string> FieldReader::optional_string(std::string_view name, std::size_t min_length,
                                                        std::size_t max_length) {
  return read_string(name, min_length, max_length, false);
}

}  // namespace flashtix::core
