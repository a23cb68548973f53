#ifndef QUARRY_SERVICES_COMMON_TELEMETRY_RECORDING_SPAN_SINK_H_
#define QUARRY_SERVICES_COMMON_TELEMETRY_RECORDING_SPAN_SINK_H_

#include <optional>
#include "absl/strings/string_view.h"
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "services/common/telemetry/span_data.h"

namespace quarry::telemetry {

// A SpanSink for tests: keeps every finished span in memory.
class RecordingSpanSink : public SpanSink {
 public:
  void OnEnd(SpanData span) override {
    absl::MutexLock lock(&mu_);
    spans_.push_back(std::move(span));
  }

  std::vector<SpanData> spans() const {
    absl::MutexLock lock(&mu_);
    return spans_;
  }

  // The first finished span named `name`, if any.
  std::optional<SpanData> Find(absl::string_view name) const {
    absl::MutexLock lock(&mu_);
    for (const SpanData& span : spans_) {
      if (span.name == name) return span;
    }
    return std::nullopt;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<SpanData> spans_ ABSL_GUARDED_BY(mu_);
};

}  // namespace quarry::telemetry

#endif  // QUARRY_SERVICES_COMMON_TELEMETRY_RECORDING_SPAN_SINK_H_
