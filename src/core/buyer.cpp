// E-mail normalisation: ASCII case folding only, the part of RFC 5321 every mail system agrees on in
// practice (domains are case-insensitive; local parts are in all common providers).
#include "core/buyer.hpp"

#include <algorithm>

#include "core/auth.hpp"

namespace flashtix::core {

std::optional<std::string> normalized_email(std::string_view text) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  if (text.size() < 3 || text.size() > kMaxEmailLength) return std::nullopt;
  const std::size_t at = text.find('@');
  if (at == 0 || at == std::string_view::npos || at + 1 == text.size() || text.find('@', at + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  const bool printable = std::all_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte > ' ' && byte != 127;
  });
  if (!printable) return std::nullopt;
  std::string normalized(text);
  for (char& c : normalized) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return normalized;
}

std::string buyer_digest(std::string_view normalized) { return sha256_hex(normalized); }

}  // namespace flashtix::core
