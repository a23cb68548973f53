#include "services/common/telemetry/otlp_exporter.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "services/common/telemetry/http_client.h"

namespace quarry::telemetry {
namespace {

using Json = nlohmann::json;

constexpr char kScopeName[] = "quarry.telemetry";
// OTLP StatusCode enum.
constexpr int kStatusOk = 1;
constexpr int kStatusError = 2;

Json StringAttribute(const std::string& key, const std::string& value) {
  return Json{{"key", key}, {"value", {{"stringValue", value}}}};
}

Json EncodeSpan(const SpanData& span) {
  Json attributes = Json::array();
  for (const auto& [key, value] : span.attributes) {
    attributes.push_back(StringAttribute(key, value));
  }
  Json status = {{"code", span.error ? kStatusError : kStatusOk}};
  if (span.error && !span.status_message.empty()) status["message"] = span.status_message;
  Json out = {
      {"traceId", span.trace_id},
      {"spanId", span.span_id},
      {"name", span.name},
      {"kind", static_cast<int>(span.kind)},
      // OTLP/JSON carries 64-bit integers as decimal strings.
      {"startTimeUnixNano", std::to_string(span.start_unix_nanos)},
      {"endTimeUnixNano", std::to_string(span.end_unix_nanos)},
      {"attributes", std::move(attributes)},
      {"status", std::move(status)},
  };
  if (!span.parent_span_id.empty()) out["parentSpanId"] = span.parent_span_id;
  return out;
}

}  // namespace

std::string EncodeOtlpJson(const std::string& service_name, const std::vector<SpanData>& spans) {
  Json encoded_spans = Json::array();
  for (const SpanData& span : spans) encoded_spans.push_back(EncodeSpan(span));
  Json request = {
      {"resourceSpans",
       Json::array({{
           {"resource",
            {{"attributes", Json::array({StringAttribute("service.name", service_name)})}}},
           {"scopeSpans",
            Json::array({{{"scope", {{"name", kScopeName}}}, {"spans", encoded_spans}}})},
       }})},
  };
  // Attribute values come from requests and may hold invalid UTF-8; replace
  // it rather than let nlohmann throw.
  return request.dump(-1, ' ', false, Json::error_handler_t::replace);
}

absl::StatusOr<std::unique_ptr<OtlpHttpExporter>> OtlpHttpExporter::Create(
    const std::string& endpoint, std::string service_name) {
  absl::StatusOr<HttpUrl> parsed = ParseHttpUrl(endpoint);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("OTLP endpoint: ", parsed.status().message()));
  }
  std::string url = endpoint;
  while (absl::EndsWith(url, "/")) url.pop_back();
  url += "/v1/traces";
  return std::unique_ptr<OtlpHttpExporter>(
      new OtlpHttpExporter(std::move(url), std::move(service_name)));
}

absl::Status OtlpHttpExporter::Export(const std::vector<SpanData>& spans, absl::Time deadline) {
  if (spans.empty()) return absl::OkStatus();
  absl::StatusOr<HttpResponse> response = HttpPost(
      url_, "application/json", EncodeOtlpJson(service_name_, spans), deadline - absl::Now());
  if (!response.ok()) {
    return absl::UnavailableError(
        absl::StrCat("OTLP export to ", url_, ": ", response.status().message()));
  }
  if (response->status_code < 200 || response->status_code > 299) {
    return absl::UnavailableError(
        absl::StrCat("OTLP export to ", url_, ": HTTP ", response->status_code));
  }
  return absl::OkStatus();
}

BatchSpanProcessor::BatchSpanProcessor(std::unique_ptr<SpanExporter> exporter,
                                       BatchOptions options, Metrics* metrics)
    : exporter_(std::move(exporter)), options_(options) {
  if (metrics != nullptr) {
    dropped_counter_ =
        &metrics->Counter("quarry_trace_spans_dropped_total",
                          "Finished spans dropped because the export queue was full.");
    exported_counter_ =
        &metrics->Counter("quarry_trace_spans_exported_total", "Spans accepted by the collector.");
    failed_counter_ = &metrics->Counter("quarry_trace_export_failures_total",
                                        "Span batches the collector did not accept.");
  }
  thread_ = std::thread([this] { Run(); });
}

BatchSpanProcessor::~BatchSpanProcessor() { Shutdown(options_.export_timeout).IgnoreError(); }

void BatchSpanProcessor::OnEnd(SpanData span) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_ && queue_.size() < options_.max_queue_size) {
      queue_.push_back(std::move(span));
      return;
    }
  }
  dropped_.fetch_add(1);
  if (dropped_counter_ != nullptr) dropped_counter_->Increment();
}

void BatchSpanProcessor::Run() {
  while (true) {
    std::vector<SpanData> batch;
    absl::Time export_deadline;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || queue_.size() >= options_.max_batch_size;
      };
      mu_.AwaitWithDeadline(absl::Condition(&ready), absl::Now() + options_.flush_interval);
      if (queue_.empty()) {
        if (stopping_) return;
        continue;
      }
      const absl::Time now = absl::Now();
      if (stopping_ && now >= shutdown_deadline_) {
        left_behind_ = queue_.size();
        queue_.clear();
        return;
      }
      const size_t n = std::min(queue_.size(), options_.max_batch_size);
      batch.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      export_deadline = std::min(now + options_.export_timeout, shutdown_deadline_);
    }
    if (exporter_->Export(batch, export_deadline).ok()) {
      exported_.fetch_add(batch.size());
      if (exported_counter_ != nullptr) exported_counter_->Increment(batch.size());
    } else {
      export_failures_.fetch_add(1);
      if (failed_counter_ != nullptr) failed_counter_->Increment();
    }
  }
}

absl::Status BatchSpanProcessor::Shutdown(absl::Duration timeout) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      stopping_ = true;
      shutdown_deadline_ = absl::Now() + timeout;
    }
  }
  {
    // Only one caller joins; others wait here until it has.
    absl::MutexLock lock(&join_mu_);
    if (thread_.joinable()) thread_.join();
  }
  absl::MutexLock lock(&mu_);
  if (left_behind_ > 0) {
    return absl::DeadlineExceededError(
        absl::StrCat("span export shutdown timed out; ", left_behind_, " spans not exported"));
  }
  return absl::OkStatus();
}

}  // namespace quarry::telemetry
