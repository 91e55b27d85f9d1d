// W3C Trace Context: one order is one trace, carried as `traceparent` on every HTTP call between the
// services and in every message (an AMQP header), so that each service's log lines of an order share
// its trace id.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace flashtix::core {

inline constexpr std::string_view kTraceparentHeader = "traceparent";
inline constexpr std::string_view kRequestIdHeader = "X-Request-Id";
inline constexpr std::size_t kMaxRequestIdLength = 128;

struct TraceContext {
  std::string trace_id;  // 32 lower-case hex digits, not all zero
  std::string span_id;   // 16 lower-case hex digits, not all zero: this hop's span
  bool sampled = true;

  // "00-<trace_id>-<span_id>-<flags>"; empty for an empty context.
  std::string traceparent() const;
  bool empty() const { return trace_id.empty(); }
};

// The context a valid `traceparent` header names (its parent id as the span), or nothing for an absent or
// malformed one, which then starts a new trace (as the specification asks).
std::optional<TraceContext> parse_traceparent(std::string_view header);

// A new span of `parent`'s trace, or the first span of a new trace.
TraceContext next_span(const std::optional<TraceContext>& parent);

// The client's X-Request-Id when it is 1 to 128 visible ASCII characters, else a new one.
std::string request_id_from(std::string_view header);

}  // namespace flashtix::core
