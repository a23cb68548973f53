#ifndef QUARRY_SERVICES_COMMON_JOBQUEUE_PG_JOB_QUEUE_H_
#define QUARRY_SERVICES_COMMON_JOBQUEUE_PG_JOB_QUEUE_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "services/common/jobqueue/job_queue.h"
#include "services/common/jobqueue/pg_job_store.h"
#include "services/common/pg/listener.h"
#include "services/common/pg/pool.h"

namespace quarry::jobqueue {

// The durable queue in PostgreSQL: the worker side (JobQueue) and the
// client side (enqueue, get, list, cancel, re-drive) the gateway uses.
class PgJobQueue final : public JobQueue {
 public:
  // `conninfo` is for the LISTEN connection that wakes idle workers.
  PgJobQueue(pg::Pool& pool, std::string conninfo);

  // Worker side (see JobQueue).
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

  // Client side. A tenant's jobs only; another tenant's job is NOT_FOUND.
  absl::StatusOr<pgjobs::EnqueueResult> Enqueue(const JobSpec& spec);
  absl::StatusOr<Job> Get(std::optional<int64_t> tenant_id, int64_t id);
  absl::StatusOr<Job> Cancel(std::optional<int64_t> tenant_id, int64_t id);
  absl::StatusOr<Job> Retry(std::optional<int64_t> tenant_id, int64_t id);
  absl::StatusOr<std::vector<Job>> List(std::optional<int64_t> tenant_id,
                                        const pgjobs::ListFilter& filter);

 private:
  // Runs one lease-fenced update (returning whether the lease was still
  // held); FAILED_PRECONDITION when it was not.
  template <typename Update>
  absl::Status Fenced(const Job& claimed, Update update);

  pg::Pool& pool_;
  const std::string conninfo_;
  absl::Mutex listener_mu_;
  std::unique_ptr<pg::Listener> listener_ ABSL_GUARDED_BY(listener_mu_);
};

}  // namespace quarry::jobqueue

#endif  // QUARRY_SERVICES_COMMON_JOBQUEUE_PG_JOB_QUEUE_H_
