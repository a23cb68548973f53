#ifndef QUARRY_SERVICES_COMMON_TELEMETRY_TRACER_H_
#define QUARRY_SERVICES_COMMON_TELEMETRY_TRACER_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/common/telemetry/metrics.h"
#include "services/common/telemetry/otlp_exporter.h"
#include "services/common/telemetry/span_data.h"
#include "services/common/telemetry/trace_context.h"

namespace quarry::telemetry {

class Tracer;

// One operation in a trace. Move-only; ends (once) at End() or destruction.
// A span that is not sampled, or whose tracer has no exporter, still has ids
// (so they propagate downstream) but records nothing.
class Span {
 public:
  Span() = default;
  Span(Span&& other) noexcept;
  Span& operator=(Span&& other) noexcept;
  ~Span();

  const SpanContext& context() const { return context_; }
  // True when End() will hand the span to an exporter.
  bool recording() const { return data_ != nullptr; }

  // Adds a string attribute (e.g. rpc.method). No-op when not recording.
  void SetAttribute(std::string key, std::string value);
  // Marks the span failed; the last message wins. No-op when not recording.
  void SetError(std::string message);
  // Stamps the end time and exports the span. Later calls are no-ops.
  void End();

 private:
  friend class Tracer;
  SpanContext context_;
  Tracer* tracer_ = nullptr;
  std::unique_ptr<SpanData> data_;
};

struct TracerOptions {
  // Reported as the resource attribute service.name, e.g. "gateway".
  std::string service_name;
  // OTLP/HTTP collector base URL, e.g. "http://127.0.0.1:4318"; normally
  // OTEL_EXPORTER_OTLP_ENDPOINT. Empty: no exporter at all (ids are still
  // made and propagated, so downstream services keep the trace together).
  std::string otlp_endpoint;
  // Fraction of new (root) traces recorded, in [0, 1]. A span with a remote
  // or local parent follows the parent's sampled flag instead.
  double sampling_ratio = 1.0;
  BatchOptions batch;
};

// Starts spans and hands finished, sampled ones to a SpanSink.
// Thread-safe; must outlive every Span it started.
class Tracer {
 public:
  // A tracer exporting to options.otlp_endpoint through a
  // BatchSpanProcessor (with its drop counters in `metrics`, which may be
  // null). INVALID_ARGUMENT naming the option for a ratio outside [0, 1] or
  // an endpoint that is not an http:// URL.
  static absl::StatusOr<std::unique_ptr<Tracer>> Create(const TracerOptions& options,
                                                        Metrics* metrics = nullptr);

  // A tracer handing spans to `sink` (null: record nothing), for tests and
  // custom exporters. `sampling_ratio` is clamped to [0, 1].
  Tracer(std::string service_name, double sampling_ratio, std::shared_ptr<SpanSink> sink);
  ~Tracer();
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  // Starts a span that is a child of `parent`, or a new root trace (sampled
  // with the configured ratio) when `parent` is empty.
  Span StartSpan(absl::string_view name, SpanKind kind, const std::optional<SpanContext>& parent);

  // Starts a child of this thread's current span (CurrentSpanContext()).
  Span StartSpan(absl::string_view name, SpanKind kind = SpanKind::kInternal) {
    return StartSpan(name, kind, CurrentSpanContext());
  }

  // Flushes buffered spans to the exporter, waiting at most `timeout`; spans
  // ended afterwards are dropped. Call once at process shutdown, after the
  // gRPC server has stopped.
  absl::Status Shutdown(absl::Duration timeout);

  const std::string& service_name() const { return service_name_; }

 private:
  friend class Span;
  void Export(SpanData data);

  const std::string service_name_;
  const double sampling_ratio_;
  const std::shared_ptr<SpanSink> sink_;
};

}  // namespace quarry::telemetry

#endif  // QUARRY_SERVICES_COMMON_TELEMETRY_TRACER_H_
