#ifndef QUARRY_SERVICES_COMMON_JOBQUEUE_PG_JOB_STORE_H_
#define QUARRY_SERVICES_COMMON_JOBQUEUE_PG_JOB_STORE_H_

#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "services/common/jobqueue/job.h"
#include "services/common/jobqueue/job_queue.h"
#include "services/common/jobqueue/pg_job_types.h"

namespace quarry::jobqueue {

// The job queue's SQL, over the jobs table of the first migration. Every
// function runs inside a transaction it is given and may throw libpqxx
// exceptions: call them only through pg::Pool (which catches and maps them),
// or inside a caller's transaction, as the gateway does to enqueue a job
// together with the documents it indexes. EnqueueResult and ListFilter, the
// values they take and return, are in pg_job_types.h.
namespace pgjobs {

// Inserts a job: queued, or waiting when some of spec.depends_on (jobs of
// the same tenant) have not succeeded yet; migration 0006's trigger queues
// it when they all have, and ends it DEAD when one ends DEAD or CANCELLED.
// A dependency not found is NOT_FOUND and one already DEAD or CANCELLED is
// FAILED_PRECONDITION, both naming `depends_on_field`. With an idempotency
// key already used by the tenant, returns that job instead; concurrent
// submits with one key wait for each other on the unique index and all
// return the one job.
absl::StatusOr<EnqueueResult> Enqueue(pqxx::work& txn, const JobSpec& spec,
                                      absl::string_view depends_on_field = "depends_on");

// See JobQueue::Claim. FOR UPDATE SKIP LOCKED lets many workers claim at once
// without waiting on each other's rows. Kinds registered in job_kinds with
// limits (max concurrency, starts or cost per minute) or paused after a
// rate-limit answer are claimed under their kind's row lock, which makes the
// limits hold across every gateway and worker; other kinds take one batched
// statement. Without `tenant_id` the jobs of every tenant are claimed and the
// system kinds' limits apply (Quarry's worker); with it, only that tenant's
// jobs and its own kinds' limits (an external worker), each job leased for
// its kind's attempt timeout when `lease_from_kind`.
struct ClaimRequest {
  std::string owner;
  std::vector<std::string> kinds;
  int max_jobs = 1;
  absl::Duration lease = absl::Seconds(30);
  std::optional<int64_t> tenant_id;
  bool lease_from_kind = false;
};
std::vector<Job> Claim(pqxx::work& txn, const ClaimRequest& request);
std::vector<Job> Claim(pqxx::work& txn, const std::string& owner,
                       const std::vector<std::string>& kinds, int max_jobs, absl::Duration lease);

// Gives the attempt back uncounted, due again at `run_at` with `error` kept:
// for a provider's rate-limit answer, which says nothing about the job.
bool Postpone(pqxx::work& txn, const Job& claimed, const std::string& error, absl::Time run_at);

// The lease-fenced updates of JobQueue; each returns false when `claimed`'s
// lease (id, owner, attempt) is no longer held.
std::optional<bool> Heartbeat(pqxx::work& txn, const Job& claimed, absl::Duration lease);
bool SetProgress(pqxx::work& txn, const Job& claimed, double fraction, const std::string& message);
bool Complete(pqxx::work& txn, const Job& claimed, const std::string& result_json);
// Complete for many jobs in one UPDATE, each row under the same fence;
// recorded[i] is false when done[i]'s lease was no longer held. The row
// triggers (notifications, releasing dependents) fire per row as for Complete.
std::vector<bool> CompleteBatch(pqxx::work& txn, absl::Span<const JobQueue::Completion> done);
bool Fail(pqxx::work& txn, const Job& claimed, const std::string& error, bool permanent,
          absl::Duration retry_delay);
bool MarkCancelled(pqxx::work& txn, const Job& claimed);
bool Release(pqxx::work& txn, const Job& claimed);
int RecoverExpiredLeases(pqxx::work& txn);

// Client-facing operations, scoped to a tenant (nullopt: system jobs only).
// A job of another tenant is indistinguishable from a missing one.
std::optional<Job> Get(pqxx::work& txn, std::optional<int64_t> tenant_id, int64_t id);
// Cancels a waiting or queued job at once or flags a running one; returns the job after,
// nullopt if not found. Finished jobs are returned unchanged.
std::optional<Job> Cancel(pqxx::work& txn, std::optional<int64_t> tenant_id, int64_t id);
// Re-queues a DEAD job with its attempts reset (waiting again if some of
// its dependencies have not succeeded); returns the job after,
// nullopt if not found. Jobs in other states are returned unchanged.
std::optional<Job> Retry(pqxx::work& txn, std::optional<int64_t> tenant_id, int64_t id);

// Newest first (by id, which follows creation order).
std::vector<Job> List(pqxx::work& txn, std::optional<int64_t> tenant_id, const ListFilter& filter);

}  // namespace pgjobs
}  // namespace quarry::jobqueue

#endif  // QUARRY_SERVICES_COMMON_JOBQUEUE_PG_JOB_STORE_H_
