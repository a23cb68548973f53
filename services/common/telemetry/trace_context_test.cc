#include "services/common/telemetry/trace_context.h"

#include <set>
#include <string>
#include <thread>

#include "gtest/gtest.h"

namespace quarry::telemetry {
namespace {

constexpr char kTraceId[] = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr char kSpanId[] = "00f067aa0ba902b7";

struct ValidCase {
  std::string header;
  bool sampled;
};

TEST(ParseTraceparentTest, AcceptsValidHeaders) {
  const ValidCase cases[] = {
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", true},
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", false},
      // Only bit 0 of the flags means "sampled"; other bits are ignored.
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03", true},
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02", false},
      // A future version is read by its version-00 prefix.
      {"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", true},
      {"cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds", true},
  };
  for (const ValidCase& c : cases) {
    SCOPED_TRACE(c.header);
    absl::StatusOr<SpanContext> parsed = ParseTraceparent(c.header);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(parsed->trace_id, kTraceId);
    EXPECT_EQ(parsed->span_id, kSpanId);
    EXPECT_EQ(parsed->sampled, c.sampled);
  }
}

TEST(ParseTraceparentTest, RejectsInvalidHeaders) {
  const std::string invalid[] = {
      "",
      "00",
      // all-zero ids
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
      // uppercase hex
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",
      // non-hex characters
      "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bz-01",
      "0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      // wrong lengths
      "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e47360-0f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-010",
      // wrong separators
      "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
      // forbidden version; future version followed by junk instead of '-'
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
      // surrounding whitespace is not trimmed
      " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
  };
  for (const std::string& header : invalid) {
    absl::StatusOr<SpanContext> parsed = ParseTraceparent(header);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << "\"" << header << "\"";
  }
}

TEST(FormatTraceparentTest, RoundTrips) {
  const SpanContext context{kTraceId, kSpanId, true};
  EXPECT_EQ(FormatTraceparent(context), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  EXPECT_EQ(FormatTraceparent(SpanContext{kTraceId, kSpanId, false}),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  absl::StatusOr<SpanContext> parsed = ParseTraceparent(FormatTraceparent(context));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, context);
}

TEST(NewIdTest, IdsAreValidAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const SpanContext context{NewTraceId(), NewSpanId(), true};
    ASSERT_EQ(context.trace_id.size(), 32u);
    ASSERT_EQ(context.span_id.size(), 16u);
    ASSERT_TRUE(ParseTraceparent(FormatTraceparent(context)).ok()) << FormatTraceparent(context);
    EXPECT_TRUE(seen.insert(context.trace_id).second);
  }
}

TEST(CurrentSpanContextTest, ScopesNestAndAreThreadLocal) {
  EXPECT_FALSE(CurrentSpanContext().has_value());
  EXPECT_EQ(CurrentTraceId(), "");
  const SpanContext outer{kTraceId, kSpanId, true};
  {
    ScopedSpanContext outer_scope(outer);
    EXPECT_EQ(CurrentTraceId(), kTraceId);
    const SpanContext inner{NewTraceId(), NewSpanId(), false};
    {
      ScopedSpanContext inner_scope(inner);
      EXPECT_EQ(CurrentSpanContext(), inner);
    }
    EXPECT_EQ(CurrentSpanContext(), outer);
    std::string other_thread_trace_id = "unset";
    std::thread([&] { other_thread_trace_id = CurrentTraceId(); }).join();
    EXPECT_EQ(other_thread_trace_id, "");
  }
  EXPECT_FALSE(CurrentSpanContext().has_value());
}

}  // namespace
}  // namespace quarry::telemetry
