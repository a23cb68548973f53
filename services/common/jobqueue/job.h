#ifndef QUARRY_SERVICES_COMMON_JOBQUEUE_JOB_H_
#define QUARRY_SERVICES_COMMON_JOBQUEUE_JOB_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace quarry::jobqueue {

// The life of a job. QUEUED -> RUNNING -> SUCCEEDED | (QUEUED again after a
// retryable failure) | DEAD; QUEUED or RUNNING -> CANCELLED; DEAD -> QUEUED
// when re-driven. Stored as the lower-case names in jobs.state.
// kWaiting: not claimable until every job it depends on has succeeded.
enum class JobState { kQueued, kRunning, kSucceeded, kDead, kCancelled, kWaiting };

absl::string_view JobStateName(JobState state);
absl::StatusOr<JobState> ParseJobState(absl::string_view name);
bool IsTerminal(JobState state);

// What a client or a service asks to run.
struct JobSpec {
  std::optional<int64_t> tenant_id;  // nullopt: a system job
  std::string kind;
  std::string payload_json = "{}";  // a JSON object
  int priority = 0;                 // higher runs first
  std::optional<absl::Time> run_at;  // nullopt: now
  int max_attempts = 5;
  std::string idempotency_key;  // empty: none
  int64_t cost = 1;  // against the kind's cost_per_minute
  // Jobs (of the same tenant) that must all succeed before this one runs.
  std::vector<int64_t> depends_on;
  // The W3C traceparent of the submit, continued by the job's run; "" for none.
  std::string traceparent;
};

// A job as stored.
struct Job {
  int64_t id = 0;
  std::optional<int64_t> tenant_id;
  std::string kind;
  std::string payload_json;
  JobState state = JobState::kQueued;
  int priority = 0;
  absl::Time run_at;
  int attempts = 0;
  int max_attempts = 0;
  std::string lease_owner;
  std::optional<absl::Time> lease_expires_at;
  std::string idempotency_key;
  double progress = 0;
  std::string progress_message;
  std::string result_json;
  std::string last_error;
  bool cancel_requested = false;
  absl::Time created_at;
  std::optional<absl::Time> started_at;
  std::optional<absl::Time> finished_at;
  int64_t cost = 1;
  std::vector<int64_t> depends_on;
  std::string traceparent;
};

// The job `spec` becomes when stored as `id` at `now`, before any attempt:
// what the in-memory doubles of the queue store (PostgreSQL fills the same
// fields from the column defaults).
Job NewQueuedJob(int64_t id, const JobSpec& spec, absl::Time now);

}  // namespace quarry::jobqueue

#endif  // QUARRY_SERVICES_COMMON_JOBQUEUE_JOB_H_
