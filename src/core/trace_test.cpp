// W3C traceparent parsing and the ids of new spans.
#include "core/trace.hpp"

#include <gtest/gtest.h>

namespace flashtix::core {
namespace {

TEST(Traceparent, ReadsTheSpecificationsExample) {
  const auto context = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(context);
  EXPECT_EQ(context->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(context->span_id, "00f067aa0ba902b7");
  EXPECT_TRUE(context->sampled);
  EXPECT_EQ(context->traceparent(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
}

TEST(Traceparent, RefusesWhatTheSpecificationRefuses) {
  for (const char* bad : {"", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
                          "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                          "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
                          "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                          "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                          "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
                          "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}) {
    EXPECT_FALSE(parse_traceparent(bad)) << bad;
  }
  // A later version may carry more after a dash.
  EXPECT_TRUE(parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-more"));
}

TEST(Traceparent, ANewSpanKeepsItsTraceAndANewTraceIsWellFormed) {
  const auto parent = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  const TraceContext child = next_span(parent);
  EXPECT_EQ(child.trace_id, parent->trace_id);
  EXPECT_NE(child.span_id, parent->span_id);
  EXPECT_FALSE(child.sampled);
  const TraceContext fresh = next_span(std::nullopt);
  ASSERT_TRUE(parse_traceparent(fresh.traceparent())) << fresh.traceparent();
  EXPECT_NE(fresh.trace_id, next_span(std::nullopt).trace_id);
}

TEST(RequestId, TakesAVisibleOneOrMakesOne) {
  EXPECT_EQ(request_id_from("checkout-42"), "checkout-42");
  for (const std::string& bad : {std::string(), std::string("has space"), std::string(129, 'x'), std::string("\x01")}) {
    const std::string made = request_id_from(bad);
    EXPECT_EQ(made.size(), 32u) << bad;
    EXPECT_NE(made, bad);
  }
}

}  // namespace
}  // namespace flashtix::core
