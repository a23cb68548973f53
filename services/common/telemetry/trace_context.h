#ifndef QUARRY_SERVICES_COMMON_TELEMETRY_TRACE_CONTEXT_H_
#define QUARRY_SERVICES_COMMON_TELEMETRY_TRACE_CONTEXT_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace quarry::telemetry {

// The gRPC metadata key (and HTTP header) carrying the W3C trace context.
inline constexpr char kTraceparentKey[] = "traceparent";

// The identity of one span as W3C Trace Context carries it between processes.
struct SpanContext {
  // 32 lowercase hex characters (16 bytes), never all zero.
  std::string trace_id;
  // 16 lowercase hex characters (8 bytes), never all zero.
  std::string span_id;
  // The caller decided to record this trace; children inherit the decision.
  bool sampled = false;

  friend bool operator==(const SpanContext&, const SpanContext&) = default;
};

// Parses a `traceparent` value: "00-<trace id>-<span id>-<flags>" in
// lowercase hex. Rejects (INVALID_ARGUMENT) wrong lengths, uppercase or
// non-hex characters, all-zero ids and version "ff". A version above 00 is
// read by its version-00 prefix, as the W3C spec asks, so newer senders still
// propagate; anything after that prefix must start with '-'.
absl::StatusOr<SpanContext> ParseTraceparent(absl::string_view value);

// Formats `context` as a version-00 `traceparent` value. `context` must hold
// valid ids (as produced by ParseTraceparent or the New*Id functions).
std::string FormatTraceparent(const SpanContext& context);

// Fresh random ids in the lowercase-hex form above; never all zero.
std::string NewTraceId();
std::string NewSpanId();

// The span current on this thread, if any. The gRPC server interceptor sets
// it around a synchronous handler; code can set it with ScopedSpanContext.
// It is thread-local: work handed to another thread (a pool, a callback
// reactor, an async completion queue) does not see it unless the context is
// passed along and re-established there with ScopedSpanContext.
std::optional<SpanContext> CurrentSpanContext();

// The current span's trace id, or "" when no span is current (for logs).
std::string CurrentTraceId();
// The current span as a `traceparent` value, or "" when none is current: what
// a job stores so that its run continues the submit's trace.
std::string CurrentTraceparent();

// Makes `context` current on this thread for the scope's lifetime and then
// restores what was current before. Must be destroyed on the thread that
// created it (it is neither copyable nor movable).
class ScopedSpanContext {
 public:
  explicit ScopedSpanContext(std::optional<SpanContext> context);
  ~ScopedSpanContext();
  ScopedSpanContext(const ScopedSpanContext&) = delete;
  ScopedSpanContext& operator=(const ScopedSpanContext&) = delete;

 private:
  std::optional<SpanContext> previous_;
};

// Replaces this thread's current span and returns the previous one. For
// interceptors whose begin and end are separate callbacks; other code should
// prefer ScopedSpanContext.
std::optional<SpanContext> ExchangeCurrentSpanContext(std::optional<SpanContext> context);

}  // namespace quarry::telemetry

#endif  // QUARRY_SERVICES_COMMON_TELEMETRY_TRACE_CONTEXT_H_
