#include "services/common/telemetry/tracer.h"

#include <memory>

#include "gtest/gtest.h"
#include "services/common/telemetry/recording_span_sink.h"

namespace quarry::telemetry {
namespace {

TEST(TracerTest, ChildSpansInheritTraceAndRecordParent) {
  auto sink = std::make_shared<RecordingSpanSink>();
  Tracer tracer("test", 1.0, sink);
  Span root = tracer.StartSpan("root", SpanKind::kServer, std::nullopt);
  ASSERT_TRUE(root.recording());
  {
    ScopedSpanContext scope(root.context());
    Span child = tracer.StartSpan("child");
    child.SetAttribute("k", "v1");
    child.SetAttribute("k", "v2");
    child.SetError("boom");
    EXPECT_EQ(child.context().trace_id, root.context().trace_id);
  }
  root.End();
  root.End();  // second End is a no-op

  const std::vector<SpanData> spans = sink->spans();
  ASSERT_EQ(spans.size(), 2u);
  const SpanData& child = spans[0];
  const SpanData& parent = spans[1];
  EXPECT_EQ(child.name, "child");
  EXPECT_EQ(child.kind, SpanKind::kInternal);
  EXPECT_EQ(child.parent_span_id, parent.span_id);
  EXPECT_EQ(child.trace_id, parent.trace_id);
  ASSERT_EQ(child.attributes.size(), 1u);
  EXPECT_EQ(child.attributes[0].second, "v2");
  EXPECT_TRUE(child.error);
  EXPECT_EQ(child.status_message, "boom");
  EXPECT_EQ(parent.kind, SpanKind::kServer);
  EXPECT_TRUE(parent.parent_span_id.empty());
  EXPECT_FALSE(parent.error);
  EXPECT_GT(parent.start_unix_nanos, 0);
  EXPECT_GE(parent.end_unix_nanos, parent.start_unix_nanos);
}

TEST(TracerTest, RatioZeroRecordsNoRootSpansButKeepsIds) {
  auto sink = std::make_shared<RecordingSpanSink>();
  Tracer tracer("test", 0.0, sink);
  for (int i = 0; i < 50; ++i) {
    Span span = tracer.StartSpan("root", SpanKind::kServer, std::nullopt);
    EXPECT_FALSE(span.recording());
    EXPECT_FALSE(span.context().sampled);
    EXPECT_EQ(span.context().trace_id.size(), 32u);
  }
  EXPECT_TRUE(sink->spans().empty());
}

TEST(TracerTest, SampledParentWinsOverRatio) {
  auto sink = std::make_shared<RecordingSpanSink>();
  Tracer never("test", 0.0, sink);
  const SpanContext sampled_parent{NewTraceId(), NewSpanId(), true};
  never.StartSpan("child", SpanKind::kInternal, sampled_parent).End();
  ASSERT_EQ(sink->spans().size(), 1u);

  Tracer always("test", 1.0, sink);
  const SpanContext unsampled_parent{NewTraceId(), NewSpanId(), false};
  Span span = always.StartSpan("child", SpanKind::kInternal, unsampled_parent);
  EXPECT_FALSE(span.recording());
  EXPECT_EQ(span.context().trace_id, unsampled_parent.trace_id);
  span.End();
  EXPECT_EQ(sink->spans().size(), 1u);
}

TEST(TracerTest, CreateValidatesOptions) {
  TracerOptions options;
  options.service_name = "test";
  options.sampling_ratio = 1.5;
  EXPECT_EQ(Tracer::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.sampling_ratio = 0.5;
  options.otlp_endpoint = "https://collector:4318";
  EXPECT_EQ(Tracer::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.otlp_endpoint = "";
  absl::StatusOr<std::unique_ptr<Tracer>> tracer = Tracer::Create(options);
  ASSERT_TRUE(tracer.ok()) << tracer.status();
  // No exporter: spans carry ids but record nothing.
  const SpanContext parent{NewTraceId(), NewSpanId(), true};
  Span span = (*tracer)->StartSpan("x", SpanKind::kInternal, parent);
  EXPECT_FALSE(span.recording());
  EXPECT_TRUE((*tracer)->Shutdown(absl::Seconds(1)).ok());
}

}  // namespace
}  // namespace quarry::telemetry
