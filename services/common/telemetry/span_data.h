#ifndef QUARRY_SERVICES_COMMON_TELEMETRY_SPAN_DATA_H_
#define QUARRY_SERVICES_COMMON_TELEMETRY_SPAN_DATA_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace quarry::telemetry {

// Values are the OTLP SpanKind enum, so the exporter writes them unchanged.
enum class SpanKind : int {
  kInternal = 1,
  kServer = 2,
  kClient = 3,
};

// A finished, sampled span as exporters see it.
struct SpanData {
  std::string trace_id;        // 32 lowercase hex characters
  std::string span_id;         // 16 lowercase hex characters
  std::string parent_span_id;  // 16 lowercase hex characters; empty for a root span
  std::string name;
  SpanKind kind = SpanKind::kInternal;
  int64_t start_unix_nanos = 0;
  int64_t end_unix_nanos = 0;
  bool error = false;          // status: false = ok, true = error
  std::string status_message;  // set only for errors
  std::vector<std::pair<std::string, std::string>> attributes;
};

// Where the Tracer hands finished spans.
class SpanSink {
 public:
  virtual ~SpanSink() = default;

  // Takes one finished span. Called on the request path, from any thread, so
  // it must be thread-safe and must never block on I/O.
  virtual void OnEnd(SpanData span) = 0;

  // Delivers what is still buffered, giving up at `timeout`; later OnEnd
  // calls are ignored. Returns DEADLINE_EXCEEDED if spans were left behind.
  virtual absl::Status Shutdown(absl::Duration timeout) { return absl::OkStatus(); }
};

}  // namespace quarry::telemetry

#endif  // QUARRY_SERVICES_COMMON_TELEMETRY_SPAN_DATA_H_
