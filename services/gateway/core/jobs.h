#ifndef QUARRY_SERVICES_GATEWAY_CORE_JOBS_H_
#define QUARRY_SERVICES_GATEWAY_CORE_JOBS_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/gateway/core/stores.h"

namespace quarry::gateway {

// A tenant's jobs: submit (collections named by the client become ids of
// the tenant's own collections), read, cancel, re-drive and watch.
class Jobs {
 public:
  Jobs(JobStore& jobs, JobWatcher& watcher) : jobs_(jobs), watcher_(watcher) {}

  struct Submission {
    std::string kind;  // a well-formed kind name (validated by the caller)
    std::string payload_json;  // valid JSON object or empty
    int priority = 0;  // 0: the kind's default
    std::optional<absl::Time> run_at;
    int max_attempts = 0;  // 0: the kind's default
    std::string idempotency_key;
    int64_t cost = 0;  // 0: 1
    std::vector<std::string> depends_on;  // job ids, well-formed (validated by the caller)
  };
  // `created` false: the tenant already used the idempotency key; the job
  // returned is that one. NOT_FOUND naming the kind when the tenant sees no
  // kind of that name; INVALID_ARGUMENT naming `cost` when it is beyond the
  // kind's per-minute budget (such a job could never start).
  absl::StatusOr<jobqueue::pgjobs::EnqueueResult> Submit(int64_t tenant_id,
                                                         const Submission& submission);

  // One job of a batch: `ref` names it for the `after` of the others.
  struct BatchJob {
    std::string ref;
    Submission submission;
    std::vector<std::string> after;
  };
  // Submits every job of `jobs` atomically, each after the jobs its `after`
  // names. INVALID_ARGUMENT naming "jobs[i].ref" for a duplicate ref and
  // "jobs[i].after" for an unknown ref or a cycle (naming the refs in it).
  // Results are in the order of `jobs`.
  absl::StatusOr<std::vector<jobqueue::pgjobs::EnqueueResult>> SubmitBatch(
      int64_t tenant_id, const std::vector<BatchJob>& jobs);

  // The id of a job as clients write it; INVALID_ARGUMENT naming `id`.
  static absl::StatusOr<int64_t> ParseId(const std::string& id);

  absl::StatusOr<jobqueue::Job> Get(int64_t tenant_id, int64_t id);

  struct Page {
    std::vector<jobqueue::Job> jobs;
    std::optional<int64_t> next_before;  // the last id, when there are more
  };
  // `before_id` 0: from the newest.
  absl::StatusOr<Page> List(int64_t tenant_id, std::vector<jobqueue::JobState> states,
                            const std::string& kind, int64_t before_id, int size);

  // FAILED_PRECONDITION for a job that already ended.
  absl::StatusOr<jobqueue::Job> Cancel(int64_t tenant_id, int64_t id);
  // FAILED_PRECONDITION for a job that is not dead.
  absl::StatusOr<jobqueue::Job> Retry(int64_t tenant_id, int64_t id);

  // Sends the job, then each change of its state, progress, message,
  // cancellation or attempts, until it ends (OK), `send` returns false
  // (CANCELLED) or `cancelled` says so.
  absl::Status Watch(int64_t tenant_id, int64_t id,
                     const std::function<bool(const jobqueue::Job&)>& send,
                     const std::function<bool()>& cancelled);

  absl::StatusOr<std::vector<store::JobKindStatsRow>> KindStats(int64_t tenant_id);

 private:
  // The store's view of one submission; errors name fields under `prefix`
  // ("" for a single job, "jobs[i].job." in a batch).
  absl::StatusOr<JobStore::NewJob> Prepare(int64_t tenant_id, const Submission& submission,
                                           const std::string& prefix);

  JobStore& jobs_;
  JobWatcher& watcher_;
};

}  // namespace quarry::gateway

#endif  // QUARRY_SERVICES_GATEWAY_CORE_JOBS_H_
