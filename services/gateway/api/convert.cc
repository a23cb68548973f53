#include "services/gateway/api/convert.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/model/metric.h"
#include "services/common/model/metric_proto.h"
#include "services/common/model/scopes.h"
#include "services/common/status/macros.h"

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
  return std::string(scope == v1::SCOPE_ADMIN    ? model::kScopeAdmin
                     : scope == v1::SCOPE_WRITE  ? model::kScopeWrite
                     : scope == v1::SCOPE_WORKER ? model::kScopeWorker
                                                 : model::kScopeRead);
}

v1::Scope ScopeFromName(const std::string& name) {
  return name == model::kScopeAdmin    ? v1::SCOPE_ADMIN
         : name == model::kScopeWrite  ? v1::SCOPE_WRITE
         : name == model::kScopeWorker ? v1::SCOPE_WORKER
                                       : v1::SCOPE_READ;
}

v1::JobState JobStateToProto(jobqueue::JobState state) {
  switch (state) {
    case jobqueue::JobState::kQueued: return v1::JOB_STATE_QUEUED;
    case jobqueue::JobState::kRunning: return v1::JOB_STATE_RUNNING;
    case jobqueue::JobState::kSucceeded: return v1::JOB_STATE_SUCCEEDED;
    case jobqueue::JobState::kDead: return v1::JOB_STATE_DEAD;
    case jobqueue::JobState::kCancelled: return v1::JOB_STATE_CANCELLED;
    case jobqueue::JobState::kWaiting: return v1::JOB_STATE_WAITING;
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
    case v1::JOB_STATE_WAITING: return jobqueue::JobState::kWaiting;
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
  out->set_cost(job.cost);
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
  for (int64_t id : job.depends_on) out->add_depends_on(absl::StrCat(id));
  out->set_traceparent(job.traceparent);
}

void ToProto(const store::KeyRecord& key, const RateLimit& limit, v1::ApiKey* out) {
  out->set_id(key.id);
  out->set_name(key.name);
  for (const std::string& scope : key.scopes) out->add_scopes(ScopeFromName(scope));
  out->set_rate_limit_per_second(limit.rate_per_second);
  out->set_burst(limit.burst);
  SetTime(key.created_at, out->mutable_create_time());
  if (key.revoked_at) SetTime(*key.revoked_at, out->mutable_revoke_time());
  for (const std::string& kind : key.worker_kinds) out->add_worker_kinds(kind);
}

namespace {

void SetDuration(absl::Duration d, google::protobuf::Duration* out) {
  const int64_t nanos = absl::ToInt64Nanoseconds(d);
  out->set_seconds(nanos / 1000000000);
  out->set_nanos(static_cast<int32_t>(nanos % 1000000000));
}

// Unset keeps `fallback`; a malformed duration (the seconds and nanos of
// different signs, nanos out of range) is INVALID_ARGUMENT naming `field`.
absl::StatusOr<absl::Duration> DurationOr(bool set, const google::protobuf::Duration& d,
                                          absl::Duration fallback, const std::string& field) {
  if (!set) return fallback;
  if (d.nanos() <= -1000000000 || d.nanos() >= 1000000000 ||
      (d.seconds() > 0 && d.nanos() < 0) || (d.seconds() < 0 && d.nanos() > 0)) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": not a valid duration"));
  }
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

}  // namespace

void ToProto(const jobqueue::JobKind& kind, v1::JobKind* out) {
  out->set_name(kind.name);
  out->set_description(kind.description);
  out->set_max_attempts(kind.max_attempts);
  out->set_priority(kind.priority);
  SetDuration(kind.backoff.initial, out->mutable_retry()->mutable_initial_backoff());
  out->mutable_retry()->set_multiplier(kind.backoff.multiplier);
  SetDuration(kind.backoff.max, out->mutable_retry()->mutable_max_backoff());
  out->mutable_retry()->set_jitter(kind.backoff.jitter);
  out->mutable_retry()->set_jitter_set(true);
  SetDuration(kind.attempt_timeout, out->mutable_attempt_timeout());
  out->set_max_concurrency(kind.max_concurrency);
  out->set_starts_per_minute(kind.starts_per_minute);
  out->set_cost_per_minute(kind.cost_per_minute);
  out->set_max_result_bytes(kind.max_result_bytes);
  SetDuration(kind.retention, out->mutable_retention());
  out->set_system(kind.system());
  if (kind.paused_until.has_value() && *kind.paused_until > absl::Now()) {
    SetTime(*kind.paused_until, out->mutable_paused_until());
  }
  SetTime(kind.created_at, out->mutable_create_time());
  SetTime(kind.updated_at, out->mutable_update_time());
}

absl::StatusOr<jobqueue::JobKind> FromProto(const v1::JobKind& in, const std::string& field) {
  jobqueue::JobKind kind;  // the defaults
  kind.name = in.name();
  kind.description = in.description();
  if (in.max_attempts() != 0) kind.max_attempts = in.max_attempts();
  kind.priority = in.priority();
  const v1::RetryPolicy& retry = in.retry();
  QUARRY_ASSIGN_OR_RETURN(kind.backoff.initial,
                          DurationOr(retry.has_initial_backoff(), retry.initial_backoff(),
                                     kind.backoff.initial, field + ".retry.initial_backoff"));
  if (retry.multiplier() != 0) kind.backoff.multiplier = retry.multiplier();
  QUARRY_ASSIGN_OR_RETURN(kind.backoff.max,
                          DurationOr(retry.has_max_backoff(), retry.max_backoff(),
                                     kind.backoff.max, field + ".retry.max_backoff"));
  if (retry.jitter() != 0 || retry.jitter_set()) kind.backoff.jitter = retry.jitter();
  QUARRY_ASSIGN_OR_RETURN(kind.attempt_timeout,
                          DurationOr(in.has_attempt_timeout(), in.attempt_timeout(),
                                     kind.attempt_timeout, field + ".attempt_timeout"));
  kind.max_concurrency = in.max_concurrency();
  kind.starts_per_minute = in.starts_per_minute();
  kind.cost_per_minute = in.cost_per_minute();
  if (in.max_result_bytes() != 0) kind.max_result_bytes = in.max_result_bytes();
  QUARRY_ASSIGN_OR_RETURN(kind.retention, DurationOr(in.has_retention(), in.retention(),
                                                     kind.retention, field + ".retention"));
  return kind;
}

void ToProto(const jobqueue::StoredSchedule& schedule, v1::Schedule* out) {
  const jobqueue::ScheduleSpec& spec = schedule.spec;
  out->set_name(spec.name);
  out->set_kind(spec.kind);
  out->set_payload_json(spec.payload_json);
  out->set_cron(spec.cron);
  if (spec.cron.empty()) SetDuration(spec.interval, out->mutable_interval());
  out->set_overlap(spec.overlap == jobqueue::OverlapPolicy::kQueue ? v1::OVERLAP_POLICY_QUEUE
                                                                   : v1::OVERLAP_POLICY_SKIP);
  out->set_catch_up(spec.catch_up);
  out->set_priority(spec.priority);
  out->set_max_attempts(spec.max_attempts);
  if (schedule.next_run_at.has_value()) SetTime(*schedule.next_run_at, out->mutable_next_run_time());
  if (schedule.last_tick_at.has_value()) {
    SetTime(*schedule.last_tick_at, out->mutable_last_tick_time());
  }
  if (schedule.last_job_id.has_value()) out->set_last_job_id(absl::StrCat(*schedule.last_job_id));
  out->set_skipped_ticks(schedule.skipped_ticks);
  out->set_last_error(schedule.last_error);
  SetTime(schedule.created_at, out->mutable_create_time());
}

absl::StatusOr<jobqueue::ScheduleSpec> FromProto(const v1::Schedule& in, const std::string& field) {
  jobqueue::ScheduleSpec spec;
  spec.name = in.name();
  spec.kind = in.kind();
  spec.payload_json = in.payload_json();
  spec.cron = in.cron();
  QUARRY_ASSIGN_OR_RETURN(spec.interval, DurationOr(in.has_interval(), in.interval(),
                                                    absl::ZeroDuration(), field + ".interval"));
  switch (in.overlap()) {
    case v1::OVERLAP_POLICY_UNSPECIFIED:
    case v1::OVERLAP_POLICY_SKIP: spec.overlap = jobqueue::OverlapPolicy::kSkip; break;
    case v1::OVERLAP_POLICY_QUEUE: spec.overlap = jobqueue::OverlapPolicy::kQueue; break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".overlap: unknown policy ", in.overlap()));
  }
  spec.catch_up = in.catch_up();
  spec.priority = in.priority();
  // 0 asks for the kind's default, which the core fills in.
  spec.max_attempts = in.max_attempts();
  return spec;
}

}  // namespace quarry::gateway
