#ifndef QUARRY_SERVICES_COMMON_JOBQUEUE_JOB_QUEUE_H_
#define QUARRY_SERVICES_COMMON_JOBQUEUE_JOB_QUEUE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "services/common/jobqueue/job.h"

namespace quarry::jobqueue {

// What a worker needs from the durable queue. Delivery is at least once: a
// job whose lease expires (its worker died) is claimed again, so handlers
// must be idempotent. The PostgreSQL implementation is the real one; tests of
// the worker runtime use an in-memory double.
class JobQueue {
 public:
  virtual ~JobQueue() = default;

  // Claims up to `max_jobs` runnable jobs of the given kinds (queued, run_at
  // reached), highest priority first then earliest run_at, and leases
  // them to `owner` for `lease`. Each claimed job is RUNNING with its attempt
  // count incremented. Never blocks on jobs another worker is claiming.
  virtual absl::StatusOr<std::vector<Job>> Claim(const std::string& owner,
                                                 absl::Span<const std::string> kinds,
                                                 int max_jobs, absl::Duration lease) = 0;

  // The methods below act on a job as returned by Claim. The lease is the
  // (id, lease_owner, attempts) triple: the attempt number fences a stale
  // holder off even when the same owner has re-claimed the job after its own
  // lease expired. Each returns FAILED_PRECONDITION when the lease is no
  // longer held (expired and recovered or re-claimed): the caller must stop
  // working on the job and record nothing.

  // Extends the lease and reports whether cancellation was requested.
  virtual absl::StatusOr<bool> Heartbeat(const Job& claimed, absl::Duration lease) = 0;

  // Stores progress (fraction in [0, 1]); watchers are notified.
  virtual absl::Status SetProgress(const Job& claimed, double fraction,
                                   const std::string& message) = 0;

  // Ends the job: SUCCEEDED with `result_json`.
  virtual absl::Status Complete(const Job& claimed, const std::string& result_json) = 0;

  // Complete for many held jobs at once, each under its own lease fence:
  // recorded[i] says whether done[i]'s result was stored; false means its
  // lease was lost and nothing was recorded for it (Complete's
  // FAILED_PRECONDITION). An error means none was recorded. The PostgreSQL
  // queue makes it one transaction, so a worker pays one durable commit per
  // batch instead of one per job.
  struct Completion {
    const Job* claimed = nullptr;
    std::string result_json;
  };
  virtual absl::StatusOr<std::vector<bool>> CompleteBatch(absl::Span<const Completion> done) = 0;

  // Ends the attempt with `error`: back to QUEUED with run_at = now +
  // retry_delay, or DEAD when `permanent` or the attempts are used up.
  virtual absl::Status Fail(const Job& claimed, const std::string& error, bool permanent,
                            absl::Duration retry_delay) = 0;

  // Ends the job as CANCELLED (the handler saw the request and stopped).
  virtual absl::Status MarkCancelled(const Job& claimed) = 0;

  // Gives the job back unfinished (drain): QUEUED at once, this attempt not
  // counted, so another worker takes it immediately.
  virtual absl::Status Release(const Job& claimed) = 0;

  // Re-queues (or kills, when out of attempts) running jobs whose lease has
  // expired. Returns how many. Any worker may call it; it is idempotent.
  virtual absl::StatusOr<int> RecoverExpiredLeases() = 0;

  // Blocks until new work may be available or `timeout` passes: the
  // PostgreSQL queue waits for NOTIFY jobs_new, so an idle worker does not poll.
  virtual void WaitForWork(absl::Duration timeout) = 0;
};

}  // namespace quarry::jobqueue

#endif  // QUARRY_SERVICES_COMMON_JOBQUEUE_JOB_QUEUE_H_
