#include "services/common/jobqueue/job.h"

#include "absl/strings/str_cat.h"

namespace quarry::jobqueue {

absl::string_view JobStateName(JobState state) {
  switch (state) {
    case JobState::kQueued:
      return "queued";
    case JobState::kRunning:
      return "running";
    case JobState::kSucceeded:
      return "succeeded";
    case JobState::kDead:
      return "dead";
    case JobState::kCancelled:
      return "cancelled";
    case JobState::kWaiting:
      return "waiting";
  }
  return "unknown";
}

absl::StatusOr<JobState> ParseJobState(absl::string_view name) {
  for (JobState state : {JobState::kQueued, JobState::kRunning, JobState::kSucceeded,
                         JobState::kDead, JobState::kCancelled, JobState::kWaiting}) {
    if (JobStateName(state) == name) return state;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown job state \"", name, "\""));
}

bool IsTerminal(JobState state) {
  return state == JobState::kSucceeded || state == JobState::kDead ||
         state == JobState::kCancelled;
}

Job NewQueuedJob(int64_t id, const JobSpec& spec, absl::Time now) {
  Job job;
  job.id = id;
  job.tenant_id = spec.tenant_id;
  job.kind = spec.kind;
  job.payload_json = spec.payload_json;
  job.priority = spec.priority;
  job.run_at = spec.run_at.value_or(now);
  job.max_attempts = spec.max_attempts;
  job.idempotency_key = spec.idempotency_key;
  job.cost = spec.cost;
  job.depends_on = spec.depends_on;
  job.traceparent = spec.traceparent;
  job.created_at = now;
  return job;
}

}  // namespace quarry::jobqueue
