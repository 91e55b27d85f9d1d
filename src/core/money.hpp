// Money as every service writes it: an amount in integer minor units (cents, pence, yen) of an ISO 4217
// currency, never a floating-point number.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace flashtix::core {

struct Money {
  std::int64_t amount_minor = 0;
  std::string currency;  // ISO 4217, three capital letters
  bool operator==(const Money&) const = default;
};

// Whether `code` is an active ISO 4217 currency code (three capital letters, listed by the standard).
bool is_known_currency(std::string_view code);

// The most any amount may be, in minor units: every sum of prices times quantities the services make stays
// far below the int64 range, and in a JSON number a client reads exactly (2^53).
inline constexpr std::int64_t kMaxAmountMinor = 1'000'000'000'000;

}  // namespace flashtix::core
