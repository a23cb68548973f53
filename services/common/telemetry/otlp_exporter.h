#ifndef QUARRY_SERVICES_COMMON_TELEMETRY_OTLP_EXPORTER_H_
#define QUARRY_SERVICES_COMMON_TELEMETRY_OTLP_EXPORTER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "services/common/telemetry/metrics.h"
#include "services/common/telemetry/span_data.h"

namespace quarry::telemetry {

// The OTLP/JSON ExportTraceServiceRequest for `spans` of one service: one
// resourceSpans entry with resource attribute service.name, one scopeSpans
// entry with scope name "quarry.telemetry", ids as lowercase hex, times as
// decimal-string unix nanos, kind and status code as OTLP enum integers.
std::string EncodeOtlpJson(const std::string& service_name, const std::vector<SpanData>& spans);

// Sends a batch of spans somewhere. Called from one background thread.
class SpanExporter {
 public:
  virtual ~SpanExporter() = default;
  // Delivers `spans`, giving up at `deadline`. A failed batch is not retried:
  // tracing is best effort and must not pile up memory when the collector is
  // down.
  virtual absl::Status Export(const std::vector<SpanData>& spans, absl::Time deadline) = 0;
};

// OTLP over HTTP with JSON encoding: POST <endpoint>/v1/traces.
class OtlpHttpExporter : public SpanExporter {
 public:
  // `endpoint` is the collector's base URL, e.g. "http://127.0.0.1:4318"
  // (what OTEL_EXPORTER_OTLP_ENDPOINT holds); only http:// is supported.
  // INVALID_ARGUMENT when it cannot be parsed.
  static absl::StatusOr<std::unique_ptr<OtlpHttpExporter>> Create(const std::string& endpoint,
                                                                  std::string service_name);

  // UNAVAILABLE when the collector cannot be reached or answers non-2xx.
  absl::Status Export(const std::vector<SpanData>& spans, absl::Time deadline) override;

 private:
  OtlpHttpExporter(std::string url, std::string service_name)
      : url_(std::move(url)), service_name_(std::move(service_name)) {}
  const std::string url_;
  const std::string service_name_;
};

struct BatchOptions {
  // Spans buffered at most; beyond it new spans are dropped.
  size_t max_queue_size = 2048;
  // Spans per export request; a full batch is sent without waiting.
  size_t max_batch_size = 256;
  // How often a partial batch is sent.
  absl::Duration flush_interval = absl::Seconds(2);
  // Upper bound for one export request.
  absl::Duration export_timeout = absl::Seconds(5);
};

// A SpanSink that buffers spans and exports them in batches from one
// background thread, so the request path only ever takes a short lock.
// When the buffer is full, new spans are dropped and counted (dropped() and,
// with `metrics`, quarry_trace_spans_dropped_total); OnEnd never waits for
// the exporter.
class BatchSpanProcessor : public SpanSink {
 public:
  // `metrics` may be null; when set it must outlive this object.
  BatchSpanProcessor(std::unique_ptr<SpanExporter> exporter, BatchOptions options,
                     Metrics* metrics = nullptr);
  // Shuts down with the export timeout if Shutdown was not called.
  ~BatchSpanProcessor() override;

  void OnEnd(SpanData span) override;

  // Stops accepting spans, exports what is buffered until `timeout`, stops
  // the thread. DEADLINE_EXCEEDED (naming the count) if spans were left.
  // An export already in flight may overrun `timeout` by up to its own
  // export_timeout. Idempotent and thread-safe.
  absl::Status Shutdown(absl::Duration timeout) override;

  // Counters since construction.
  uint64_t dropped() const { return dropped_.load(); }
  uint64_t exported() const { return exported_.load(); }
  uint64_t export_failures() const { return export_failures_.load(); }

 private:
  void Run();

  const std::unique_ptr<SpanExporter> exporter_;
  const BatchOptions options_;
  prometheus::Counter* dropped_counter_ = nullptr;
  prometheus::Counter* exported_counter_ = nullptr;
  prometheus::Counter* failed_counter_ = nullptr;
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> exported_{0};
  std::atomic<uint64_t> export_failures_{0};

  absl::Mutex mu_;
  std::deque<SpanData> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time shutdown_deadline_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  size_t left_behind_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Mutex join_mu_;
  std::thread thread_;  // joined under join_mu_
};

}  // namespace quarry::telemetry

#endif  // QUARRY_SERVICES_COMMON_TELEMETRY_OTLP_EXPORTER_H_
