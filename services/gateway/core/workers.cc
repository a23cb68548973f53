#include "services/gateway/core/workers.h"

#include <algorithm>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/jobqueue/backoff.h"
#include "services/common/status/macros.h"
#include "services/gateway/validation.h"

namespace quarry::gateway {

std::string Workers::Owner(const std::string& key_id, const std::string& worker_id) {
  return absl::StrCat(key_id, "/", worker_id);
}

absl::StatusOr<std::vector<jobqueue::Job>> Workers::Claim(
    int64_t tenant_id, const std::string& key_id, const std::string& worker_id,
    const std::vector<std::string>& kinds, int max_jobs, absl::Duration wait,
    const std::function<bool()>& cancelled) {
  for (size_t i = 0; i < kinds.size(); ++i) {
    QUARRY_ASSIGN_OR_RETURN(jobqueue::JobKind kind, kinds_.Get(tenant_id, kinds[i]));
    if (kind.system()) {
      return absl::PermissionDeniedError(
          absl::StrCat("kinds[", i, "]: \"", kinds[i],
                       "\" is one of Quarry's own kinds, run by Quarry's worker"));
    }
  }
  const std::string owner = Owner(key_id, worker_id);
  const absl::Time deadline = absl::Now() + wait;
  while (true) {
    const uint64_t mark = arrivals_.Mark();
    QUARRY_ASSIGN_OR_RETURN(auto jobs, store_.Claim(tenant_id, owner, kinds, max_jobs));
    const absl::Duration left = deadline - absl::Now();
    if (!jobs.empty() || left <= absl::ZeroDuration() || cancelled()) return jobs;
    arrivals_.Wait(kinds, mark, std::min(kUnannouncedPoll, left));
  }
}

absl::StatusOr<std::pair<jobqueue::Job, jobqueue::JobKind>> Workers::HeldWithKind(
    int64_t tenant_id, const Lease& lease) {
  QUARRY_ASSIGN_OR_RETURN(
      jobqueue::Job job,
      store_.Held(tenant_id, lease.job_id, Owner(lease.key_id, lease.worker_id), lease.attempt));
  QUARRY_ASSIGN_OR_RETURN(jobqueue::JobKind kind, kinds_.Get(tenant_id, job.kind));
  return std::make_pair(std::move(job), std::move(kind));
}

absl::StatusOr<Workers::Beat> Workers::Heartbeat(int64_t tenant_id, const Lease& lease,
                                                 double progress, const std::string& message) {
  QUARRY_ASSIGN_OR_RETURN(auto held, HeldWithKind(tenant_id, lease));
  const absl::Time now = absl::Now();
  QUARRY_ASSIGN_OR_RETURN(bool cancel, store_.Heartbeat(held.first, held.second.attempt_timeout,
                                                        progress, message));
  return Beat{now + held.second.attempt_timeout, cancel};
}

absl::Status Workers::Complete(int64_t tenant_id, const Lease& lease,
                               const std::string& result_json) {
  QUARRY_ASSIGN_OR_RETURN(auto held, HeldWithKind(tenant_id, lease));
  const jobqueue::JobKind& kind = held.second;
  if (result_json.size() > static_cast<size_t>(kind.max_result_bytes)) {
    return absl::InvalidArgumentError(absl::StrCat("result_json: ", result_json.size(),
                                                   " bytes is over kind \"", kind.name,
                                                   "\"'s limit of ", kind.max_result_bytes));
  }
  QUARRY_RETURN_IF_ERROR(ValidatePayloadJson("result_json", result_json));
  return store_.Complete(held.first, result_json);
}

absl::Status Workers::Fail(int64_t tenant_id, const Lease& lease, const std::string& error,
                           Failure failure, absl::Duration retry_after) {
  QUARRY_ASSIGN_OR_RETURN(auto held, HeldWithKind(tenant_id, lease));
  const jobqueue::Job& job = held.first;
  const jobqueue::JobKind& kind = held.second;
  switch (failure) {
    case Failure::kPermanent:
      return store_.Fail(job, error, /*permanent=*/true, absl::ZeroDuration());
    case Failure::kRateLimited:
      if (retry_after <= absl::ZeroDuration()) {
        return absl::InvalidArgumentError(
            "retry_after: required for RATE_LIMITED (how long the provider asked to wait)");
      }
      return store_.PauseKind(job, kind.id, error, absl::Now() + retry_after);
    case Failure::kRetryable:
      break;
  }
  absl::Duration delay = retry_after;
  if (delay <= absl::ZeroDuration()) {
    absl::BitGen random;
    delay = jobqueue::RetryDelay(job.attempts, kind.backoff, random);
  }
  return store_.Fail(job, error, /*permanent=*/false, delay);
}

absl::Status Workers::Release(int64_t tenant_id, const Lease& lease) {
  QUARRY_ASSIGN_OR_RETURN(auto held, HeldWithKind(tenant_id, lease));
  return store_.Release(held.first);
}

absl::Status Workers::AcknowledgeCancel(int64_t tenant_id, const Lease& lease) {
  QUARRY_ASSIGN_OR_RETURN(auto held, HeldWithKind(tenant_id, lease));
  if (!held.first.cancel_requested) {
    return absl::FailedPreconditionError(
        absl::StrCat("lease: job ", lease.job_id, " was not cancelled; finish or fail it"));
  }
  return store_.MarkCancelled(held.first);
}

}  // namespace quarry::gateway
