#ifndef QUARRY_SERVICES_COMMON_JOBQUEUE_JOB_KIND_H_
#define QUARRY_SERVICES_COMMON_JOBQUEUE_JOB_KIND_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/common/jobqueue/backoff.h"

namespace quarry::jobqueue {

// A kind of job, as stored in job_kinds: what a tenant's workers (or, for a
// system kind, Quarry's worker) run, with the defaults and limits its jobs
// share. Limits of 0 mean none.
struct JobKind {
  int64_t id = 0;
  std::optional<int64_t> tenant_id;  // nullopt: a system kind
  std::string name;
  std::string description;
  int max_attempts = 5;
  int priority = 0;
  BackoffPolicy backoff;
  absl::Duration attempt_timeout = absl::Seconds(60);  // the lease per attempt
  int max_concurrency = 0;    // running at once, across the deployment
  int starts_per_minute = 0;  // in any 60 s window
  int64_t cost_per_minute = 0;  // cost units started in any 60 s window
  int max_result_bytes = 64 * 1024;
  absl::Duration retention = absl::Hours(24 * 7);
  std::optional<absl::Time> paused_until;  // after a provider's rate-limit answer
  absl::Time created_at;
  absl::Time updated_at;

  bool system() const { return !tenant_id.has_value(); }
  bool limited() const {
    return max_concurrency > 0 || starts_per_minute > 0 || cost_per_minute > 0;
  }
};

// The rules for a kind's fields, each error INVALID_ARGUMENT naming the
// field under `prefix` (e.g. "kind.name") and its limit. The table's CHECK
// constraints (migrations/0004_job_kinds.sql) hold the same bounds.
inline constexpr size_t kMaxJobKindNameBytes = 64;
inline constexpr size_t kMaxJobKindDescriptionBytes = 1024;
inline constexpr int kMaxJobKindConcurrency = 100000;
inline constexpr int kMaxJobKindStartsPerMinute = 1000000;
inline constexpr int64_t kMaxJobCost = 1000000000;
inline constexpr int kMaxResultBytesLimit = 1024 * 1024;
inline constexpr absl::Duration kMinAttemptTimeout = absl::Seconds(1);
inline constexpr absl::Duration kMaxAttemptTimeout = absl::Hours(24);
inline constexpr absl::Duration kMinRetention = absl::Minutes(1);
inline constexpr absl::Duration kMaxRetention = absl::Hours(24 * 365);
inline constexpr absl::Duration kMaxBackoff = absl::Hours(24);

// `[a-z][a-z0-9_.-]{0,63}`.
absl::Status ValidateJobKindName(absl::string_view field, absl::string_view name);
// Every field but id, tenant and times.
absl::Status ValidateJobKind(absl::string_view prefix, const JobKind& kind);

}  // namespace quarry::jobqueue

#endif  // QUARRY_SERVICES_COMMON_JOBQUEUE_JOB_KIND_H_
