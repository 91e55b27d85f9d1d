// Timestamps on the wire: RFC 3339 in UTC with milliseconds, e.g. "2026-11-24T10:00:00.123Z".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace flashtix::core {

std::string rfc3339_from_unix_ms(std::int64_t unix_ms);
// Reads the form above back (as other FlashTix services write it); nothing for anything else.
std::optional<std::int64_t> unix_ms_from_rfc3339(std::string_view text);
// Any RFC 3339 date-time a person may write: "2026-12-05T18:00:00Z", with a fraction of a second (read
// to the millisecond) or an offset ("+01:00"); nothing for anything else, or a date outside years 1970
// to 9999.
std::optional<std::int64_t> unix_ms_from_any_rfc3339(std::string_view text);
std::int64_t unix_ms_now();

}  // namespace flashtix::core
