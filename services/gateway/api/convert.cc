#include "services/gateway/api/convert.h"

#include "absl/strings/str_cat.h"
#include "services/common/model/metric.h"
#include "services/common/model/metric_proto.h"
#include "services/common/model/scopes.h"

namespace quarry::gateway {

namespace v1 = quarry::gateway::v1;
using quarry::common::v1::Metric;

void SetTime(absl::Time time, google::protobuf::Timestamp* out) {
  const int64_t micros = absl::ToUnixMicros(time);
  out->set_seconds(micros / 1'000'000);
  out->set_nanos(static_cast<int32_t>(micros % 1'000'000) * 1000);
}

absl::Time FromProto(const google::protobuf::Timestamp& time) {
  return absl::FromUnixSeconds(time.seconds()) + absl::Nanoseconds(time.nanos());
}

std::string MetricName(Metric metric) {
  return std::string(model::MetricName(model::MetricFromProto(metric)));
}

Metric MetricFromName(const std::string& name) {
  // The schema lets only the three spellings in; cosine is the API's default.
  return model::MetricToProto(model::ParseMetric(name).value_or(model::Metric::kCosine));
}

std::string ScopeName(int scope) {
  return std::string(scope == v1::SCOPE_ADMIN   ? model::kScopeAdmin
                     : scope == v1::SCOPE_WRITE ? model::kScopeWrite
                                                : model::kScopeRead);
}

v1::Scope ScopeFromName(const std::string& name) {
  return name == model::kScopeAdmin   ? v1::SCOPE_ADMIN
         : name == model::kScopeWrite ? v1::SCOPE_WRITE
                                      : v1::SCOPE_READ;
}

v1::JobState JobStateToProto(jobqueue::JobState state) {
  switch (state) {
    case jobqueue::JobState::kQueued: return v1::JOB_STATE_QUEUED;
    case jobqueue::JobState::kRunning: return v1::JOB_STATE_RUNNING;
    case jobqueue::JobState::kSucceeded: return v1::JOB_STATE_SUCCEEDED;
    case jobqueue::JobState::kDead: return v1::JOB_STATE_DEAD;
    case jobqueue::JobState::kCancelled: return v1::JOB_STATE_CANCELLED;
  }
  return v1::JOB_STATE_UNSPECIFIED;
}

std::optional<jobqueue::JobState> JobStateFromProto(int state) {
  switch (static_cast<v1::JobState>(state)) {
    case v1::JOB_STATE_QUEUED: return jobqueue::JobState::kQueued;
    case v1::JOB_STATE_RUNNING: return jobqueue::JobState::kRunning;
    case v1::JOB_STATE_SUCCEEDED: return jobqueue::JobState::kSucceeded;
    case v1::JOB_STATE_DEAD: return jobqueue::JobState::kDead;
    case v1::JOB_STATE_CANCELLED: return jobqueue::JobState::kCancelled;
    default: return std::nullopt;
  }
}

void ToProto(const store::CollectionRecord& record, v1::Collection* out) {
  out->set_name(record.name);
  out->set_dimension(record.dimension);
  out->set_metric(MetricFromName(record.metric));
  out->set_model(record.model);
  SetTime(record.created_at, out->mutable_create_time());
}

void ToProto(const jobqueue::Job& job, v1::Job* out) {
  out->set_id(absl::StrCat(job.id));
  out->set_kind(job.kind);
  out->set_state(JobStateToProto(job.state));
  out->set_payload_json(job.payload_json);
  out->set_priority(job.priority);
  SetTime(job.run_at, out->mutable_run_at());
  out->set_attempts(job.attempts);
  out->set_max_attempts(job.max_attempts);
  out->set_progress(job.progress);
  out->set_progress_message(job.progress_message);
  out->set_result_json(job.result_json);
  out->set_last_error(job.last_error);
  out->set_idempotency_key(job.idempotency_key);
  out->set_cancel_requested(job.cancel_requested);
  SetTime(job.created_at, out->mutable_create_time());
  if (job.started_at) SetTime(*job.started_at, out->mutable_start_time());
  if (job.finished_at) SetTime(*job.finished_at, out->mutable_finish_time());
}

void ToProto(const store::KeyRecord& key, const RateLimit& limit, v1::ApiKey* out) {
  out->set_id(key.id);
  out->set_name(key.name);
  for (const std::string& scope : key.scopes) out->add_scopes(ScopeFromName(scope));
  out->set_rate_limit_per_second(limit.rate_per_second);
  out->set_burst(limit.burst);
  SetTime(key.created_at, out->mutable_create_time());
  if (key.revoked_at) SetTime(*key.revoked_at, out->mutable_revoke_time());
}

}  // namespace quarry::gateway
