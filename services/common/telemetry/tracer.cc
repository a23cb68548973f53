#include "services/common/telemetry/tracer.h"

#include <algorithm>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "services/common/status/macros.h"

namespace quarry::telemetry {
namespace {

int64_t NowUnixNanos() { return absl::ToUnixNanos(absl::Now()); }

bool SampleRoot(double ratio) {
  if (ratio >= 1.0) return true;
  if (ratio <= 0.0) return false;
  thread_local absl::BitGen gen;
  return absl::Bernoulli(gen, ratio);
}

}  // namespace

Span::Span(Span&& other) noexcept
    : context_(std::move(other.context_)),
      tracer_(std::exchange(other.tracer_, nullptr)),
      data_(std::move(other.data_)) {}

Span& Span::operator=(Span&& other) noexcept {
  if (this != &other) {
    End();
    context_ = std::move(other.context_);
    tracer_ = std::exchange(other.tracer_, nullptr);
    data_ = std::move(other.data_);
  }
  return *this;
}

Span::~Span() { End(); }

void Span::SetAttribute(std::string key, std::string value) {
  if (data_ == nullptr) return;
  for (auto& [k, v] : data_->attributes) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  data_->attributes.emplace_back(std::move(key), std::move(value));
}

void Span::SetError(std::string message) {
  if (data_ == nullptr) return;
  data_->error = true;
  data_->status_message = std::move(message);
}

void Span::End() {
  if (data_ == nullptr || tracer_ == nullptr) return;
  data_->end_unix_nanos = std::max(NowUnixNanos(), data_->start_unix_nanos);
  std::unique_ptr<SpanData> data = std::move(data_);
  tracer_->Export(std::move(*data));
}

absl::StatusOr<std::unique_ptr<Tracer>> Tracer::Create(const TracerOptions& options,
                                                       Metrics* metrics) {
  if (!(options.sampling_ratio >= 0.0 && options.sampling_ratio <= 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tracing sampling_ratio must be in [0, 1], got ", options.sampling_ratio));
  }
  std::shared_ptr<SpanSink> sink;
  if (!options.otlp_endpoint.empty()) {
    QUARRY_ASSIGN_OR_RETURN(std::unique_ptr<OtlpHttpExporter> exporter,
                            OtlpHttpExporter::Create(options.otlp_endpoint, options.service_name));
    sink = std::make_shared<BatchSpanProcessor>(std::move(exporter), options.batch, metrics);
  }
  return std::make_unique<Tracer>(options.service_name, options.sampling_ratio, std::move(sink));
}

Tracer::Tracer(std::string service_name, double sampling_ratio, std::shared_ptr<SpanSink> sink)
    : service_name_(std::move(service_name)),
      sampling_ratio_(std::clamp(sampling_ratio, 0.0, 1.0)),
      sink_(std::move(sink)) {}

Tracer::~Tracer() = default;

Span Tracer::StartSpan(absl::string_view name, SpanKind kind,
                       const std::optional<SpanContext>& parent) {
  Span span;
  span.context_.trace_id = parent.has_value() ? parent->trace_id : NewTraceId();
  span.context_.span_id = NewSpanId();
  span.context_.sampled = parent.has_value() ? parent->sampled : SampleRoot(sampling_ratio_);
  if (span.context_.sampled && sink_ != nullptr) {
    span.tracer_ = this;
    span.data_ = std::make_unique<SpanData>();
    span.data_->trace_id = span.context_.trace_id;
    span.data_->span_id = span.context_.span_id;
    if (parent.has_value()) span.data_->parent_span_id = parent->span_id;
    span.data_->name = std::string(name);
    span.data_->kind = kind;
    span.data_->start_unix_nanos = NowUnixNanos();
  }
  return span;
}

absl::Status Tracer::Shutdown(absl::Duration timeout) {
  if (sink_ == nullptr) return absl::OkStatus();
  return sink_->Shutdown(timeout);
}

void Tracer::Export(SpanData data) { sink_->OnEnd(std::move(data)); }

}  // namespace quarry::telemetry
