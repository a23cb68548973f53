#ifndef QUARRY_SERVICES_COMMON_JOBQUEUE_TESTING_IN_MEMORY_JOB_QUEUE_H_
#define QUARRY_SERVICES_COMMON_JOBQUEUE_TESTING_IN_MEMORY_JOB_QUEUE_H_

#include <map>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "services/common/jobqueue/job_queue.h"

namespace quarry::jobqueue {

// A JobQueue in memory with the same state machine as the PostgreSQL one,
// for unit tests of the worker runtime. Not durable, single process.
class InMemoryJobQueue final : public JobQueue {
 public:
  int64_t Enqueue(const JobSpec& spec);
  Job Get(int64_t id) const;
  // Asks for cancellation like the public API: queued -> cancelled at once,
  // running -> cancel_requested.
  void RequestCancel(int64_t id);
  // Makes every lease expire now, as if its worker had died.
  void ExpireAllLeases();
  // The progress fractions stored for a job, in order.
  std::vector<double> ProgressHistory(int64_t id) const;

  absl::StatusOr<std::vector<Job>> Claim(const std::string& owner,
                                         absl::Span<const std::string> kinds, int max_jobs,
                                         absl::Duration lease) override;
  absl::StatusOr<bool> Heartbeat(const Job& claimed, absl::Duration lease) override;
  absl::Status SetProgress(const Job& claimed, double fraction,
                           const std::string& message) override;
  absl::Status Complete(const Job& claimed, const std::string& result_json) override;
  absl::StatusOr<std::vector<bool>> CompleteBatch(absl::Span<const Completion> done) override;
  absl::Status Fail(const Job& claimed, const std::string& error, bool permanent,
                    absl::Duration retry_delay) override;
  absl::Status MarkCancelled(const Job& claimed) override;
  absl::Status Release(const Job& claimed) override;
  absl::StatusOr<int> RecoverExpiredLeases() override;
  void WaitForWork(absl::Duration timeout) override;

 private:
  void CompleteHeld(Job& job, const std::string& result_json) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The stored job if `claimed`'s lease is still held, else FAILED_PRECONDITION.
  absl::StatusOr<Job*> Held(const Job& claimed) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<int64_t, Job> jobs_ ABSL_GUARDED_BY(mu_);
  std::map<int64_t, std::vector<double>> progress_ ABSL_GUARDED_BY(mu_);
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace quarry::jobqueue

#endif  // QUARRY_SERVICES_COMMON_JOBQUEUE_TESTING_IN_MEMORY_JOB_QUEUE_H_
