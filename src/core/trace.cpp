// Trace and span ids from a per-thread generator seeded by the kernel: they identify, they do not protect,
// so they need not cost a system call each.
#include "core/trace.hpp"

#include <array>
#include <random>

#include "core/secure_random.hpp"

namespace flashtix::core {

namespace {

std::string random_hex_digits(std::size_t digits) {
  thread_local std::mt19937_64 generator = [] {
    const std::string seed = random_hex(8);
    return std::mt19937_64(std::stoull(seed, nullptr, 16));
  }();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  text.reserve(digits);
  while (text.size() < digits) {
    std::uint64_t bits = generator();
    for (int i = 0; i < 16 && text.size() < digits; ++i, bits >>= 4) text += kHex[bits & 0xF];
  }
  // All zeros is invalid in both ids; one in 2^64 at worst, and then never.
  if (text.find_first_not_of('0') == std::string::npos) text.back() = '1';
  return text;
}

bool lower_hex(std::string_view text) {
  return text.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace

std::string TraceContext::traceparent() const {
  if (empty()) return {};
  return "00-" + trace_id + "-" + span_id + (sampled ? "-01" : "-00");
}

std::optional<TraceContext> parse_traceparent(std::string_view header) {
  // version "-" trace-id "-" parent-id "-" flags, 2 + 1 + 32 + 1 + 16 + 1 + 2 characters.
  constexpr std::size_t kLength = 55;
  if (header.size() < kLength || header[2] != '-' || header[35] != '-' || header[52] != '-') return std::nullopt;
  const std::string_view version = header.substr(0, 2);
  const std::string_view trace_id = header.substr(3, 32);
  const std::string_view span_id = header.substr(36, 16);
  const std::string_view flags = header.substr(53, 2);
  if (!lower_hex(version) || version == "ff" || !lower_hex(trace_id) || !lower_hex(span_id) || !lower_hex(flags)) {
    return std::nullopt;
  }
  // Version 00 is exactly this long; a later version may append fields after a dash.
  if (version == "00" ? header.size() != kLength : (header.size() > kLength && header[kLength] != '-')) {
    return std::nullopt;
  }
  if (trace_id.find_first_not_of('0') == std::string_view::npos ||
      span_id.find_first_not_of('0') == std::string_view::npos) {
    return std::nullopt;
  }
  const int flag_bits = std::stoi(std::string(flags), nullptr, 16);
  return TraceContext{std::string(trace_id), std::string(span_id), (flag_bits & 1) != 0};
}

TraceContext next_span(const std::optional<TraceContext>& parent) {
  if (parent && !parent->empty()) return TraceContext{parent->trace_id, random_hex_digits(16), parent->sampled};
  return TraceContext{random_hex_digits(32), random_hex_digits(16), true};
}

std::string request_id_from(std::string_view header) {
  bool usable = !header.empty() && header.size() <= kMaxRequestIdLength;
  for (const char c : header) usable = usable && c > ' ' && c < 127;
  if (usable) return std::string(header);
  return random_hex_digits(32);
}

}  // namespace flashtix::core
