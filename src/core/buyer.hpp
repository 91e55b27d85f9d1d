// Who a buyer is, for per-buyer limits: an e-mail address, normalised so that one person's spellings
// count as one, and kept by inventory only as a digest.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace flashtix::core {

inline constexpr std::size_t kMaxEmailLength = 254;

// The address without surrounding white space and in lower case; nothing when it is not one address
// (no '@', an empty side, more than one '@', white space or a control character inside, too long).
std::optional<std::string> normalized_email(std::string_view text);

// What inventory stores of a buyer: the SHA-256 (hex) of the normalised address.
std::string buyer_digest(std::string_view normalized);

}  // namespace flashtix::core
