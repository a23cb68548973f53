#ifndef QUARRY_SERVICES_GATEWAY_CORE_STORES_H_
#define QUARRY_SERVICES_GATEWAY_CORE_STORES_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "quarry/gateway/v1/document_service.pb.h"
#include "services/common/jobqueue/job.h"
#include "services/common/jobqueue/job_kind.h"
#include "services/common/jobqueue/pg_job_types.h"
#include "services/common/jobqueue/schedule_spec.h"
#include "services/gateway/merge.h"
#include "services/gateway/records.h"

namespace quarry::gateway {

// What the gateway's domain logic (core/) needs from the outside world, as
// interfaces: PostgreSQL implementations in pg/pg_stores.h, in-memory fakes
// for unit tests in testing/fakes.h. Each method is one unit of work: where a
// write must be atomic (a collection locked while documents and their job are
// written) the whole write is one method, run in one transaction.
//
// The records are records.h's (store::CollectionRecord, ...), which the SQL
// in store.h fills; core/ sees them without libpqxx. A tenant's collection is
// always named by (tenant id, name), and a collection of another tenant is
// NOT_FOUND, never revealed.

// NOT_FOUND for the collection `name`, in the one wording every store uses.
absl::Status CollectionNotFound(const std::string& name);

struct DeletedCollection {
  store::CollectionRecord collection;
  int64_t purge_job_id = 0;
};

class CollectionStore {
 public:
  virtual ~CollectionStore() = default;
  // ALREADY_EXISTS when the tenant has a live collection of that name.
  virtual absl::StatusOr<store::CollectionRecord> Insert(
      const store::CollectionRecord& collection) = 0;
  // The tenant's live collection; CollectionNotFound otherwise.
  virtual absl::StatusOr<store::CollectionRecord> Find(int64_t tenant_id,
                                                       const std::string& name) = 0;
  // Live collections by name, after `after_name`, at most `limit`.
  virtual absl::StatusOr<std::vector<store::CollectionRecord>> List(
      int64_t tenant_id, const std::string& after_name, int limit) = 0;
  // Which of `ids` are live collections (any order).
  virtual absl::StatusOr<std::vector<int64_t>> LiveIds(const std::vector<int64_t>& ids) = 0;
  // In one transaction: the tenant's live collection, locked so that the
  // writes in flight into it commit first and no new one starts; `purge`
  // enqueued; the collection soft-deleted and its documents tombstoned.
  virtual absl::StatusOr<DeletedCollection> Delete(int64_t tenant_id, const std::string& name,
                                                   const jobqueue::JobSpec& purge) = 0;
  virtual absl::StatusOr<store::CollectionStats> Stats(int64_t collection_id) = 0;
};

struct UpsertOutcome {
  store::CollectionRecord collection;
  jobqueue::Job job;
  store::UpsertResult result;
};

class DocumentStore {
 public:
  virtual ~DocumentStore() = default;
  // In one transaction: the tenant's live collection, locked against a
  // delete until commit; `job_for` checks the write against it and returns
  // the indexing job, enqueued first; then the documents (last: they take
  // the seq lock). All commit or none; `job_for`'s error aborts the write.
  using JobFor =
      std::function<absl::StatusOr<jobqueue::JobSpec>(const store::CollectionRecord&)>;
  virtual absl::StatusOr<UpsertOutcome> Upsert(
      int64_t tenant_id, const std::string& collection,
      const google::protobuf::RepeatedPtrField<quarry::gateway::v1::Document>& documents,
      const JobFor& job_for) = 0;
  // Live documents by id (any order).
  virtual absl::StatusOr<std::vector<quarry::gateway::v1::Document>> Get(
      int64_t collection_id, const std::vector<std::string>& ids) = 0;
  // Tombstones the documents of the tenant's live collection (locked as for
  // an upsert).
  virtual absl::StatusOr<store::DeleteResult> Delete(int64_t tenant_id,
                                                     const std::string& collection,
                                                     const std::vector<std::string>& ids) = 0;
  // The highest seq of the given live documents, 0 if none.
  virtual absl::StatusOr<int64_t> MaxSequence(int64_t collection_id,
                                              const std::vector<std::string>& ids) = 0;
};

class JobStore {
 public:
  virtual ~JobStore() = default;
  // One job to enqueue. With `collection`, the tenant's live collection of
  // that name is locked in the same transaction and `bind` completes the
  // spec from it (CollectionNotFound otherwise). The job's kind (the
  // tenant's own or a system kind; NOT_FOUND naming it otherwise) is held
  // in the same transaction, so it cannot be deleted under the job, and
  // `rule` completes or refuses the spec from it. `after` names earlier
  // entries of the same call whose ids join spec.depends_on once they have
  // them; errors about spec.depends_on name `depends_on_field`.
  using Bind = std::function<void(const store::CollectionRecord&, jobqueue::JobSpec&)>;
  using KindRule = std::function<absl::Status(const jobqueue::JobKind&, jobqueue::JobSpec&)>;
  struct NewJob {
    jobqueue::JobSpec spec;
    std::optional<std::string> collection;
    Bind bind;
    KindRule rule;
    std::vector<int> after;
    std::string depends_on_field = "depends_on";
  };
  // Enqueues every job of `jobs` in one transaction, all or none, in order
  // (so each `after` index must be below its own). An idempotency key the
  // tenant already used returns that job, created = false. The results are
  // in the order of `jobs`.
  virtual absl::StatusOr<std::vector<jobqueue::pgjobs::EnqueueResult>> Enqueue(
      std::vector<NewJob> jobs) = 0;
  // NOT_FOUND for a job of another tenant.
  virtual absl::StatusOr<jobqueue::Job> Get(int64_t tenant_id, int64_t id) = 0;
  virtual absl::StatusOr<std::vector<jobqueue::Job>> List(
      int64_t tenant_id, const jobqueue::pgjobs::ListFilter& filter) = 0;
  virtual absl::StatusOr<jobqueue::Job> Cancel(int64_t tenant_id, int64_t id) = 0;
  virtual absl::StatusOr<jobqueue::Job> Retry(int64_t tenant_id, int64_t id) = 0;
  // The tenant's rows of the job_success_rates view.
  virtual absl::StatusOr<std::vector<store::JobKindStatsRow>> KindStats(int64_t tenant_id) = 0;
};

// The job kinds a tenant sees: its own and the system kinds (see
// jobqueue/pg_job_kind_store.h for each method's errors).
class JobKindStore {
 public:
  virtual ~JobKindStore() = default;
  virtual absl::StatusOr<jobqueue::JobKind> Create(int64_t tenant_id,
                                                   const jobqueue::JobKind& kind) = 0;
  virtual absl::StatusOr<jobqueue::JobKind> Get(int64_t tenant_id, const std::string& name) = 0;
  // By name, after `after_name`.
  virtual absl::StatusOr<std::vector<jobqueue::JobKind>> List(int64_t tenant_id,
                                                              const std::string& after_name,
                                                              int limit) = 0;
  virtual absl::StatusOr<jobqueue::JobKind> Update(int64_t tenant_id,
                                                   const jobqueue::JobKind& kind) = 0;
  virtual absl::Status Delete(int64_t tenant_id, const std::string& name) = 0;
};

// A tenant's periodic jobs, by name (see jobqueue/pg_schedule_store.h).
class ScheduleStore {
 public:
  virtual ~ScheduleStore() = default;
  // ALREADY_EXISTS when the tenant has a schedule of that name; the first
  // tick is the first one after the store's clock.
  virtual absl::StatusOr<jobqueue::StoredSchedule> Create(const jobqueue::ScheduleSpec& spec) = 0;
  virtual absl::StatusOr<jobqueue::StoredSchedule> Get(int64_t tenant_id,
                                                      const std::string& name) = 0;
  // By name, after `after_name`.
  virtual absl::StatusOr<std::vector<jobqueue::StoredSchedule>> List(
      int64_t tenant_id, const std::string& after_name, int limit) = 0;
  virtual absl::Status Delete(int64_t tenant_id, const std::string& name) = 0;
};

// NOT_FOUND for the schedule `name`, in the one wording every store uses.
absl::Status ScheduleNotFound(const std::string& name);

// The worker side of the queue for a tenant's own workers. A held job is
// the (id, lease owner, attempt) triple; every method but Claim and Held
// is FAILED_PRECONDITION once that lease is no longer held, and records
// nothing then.
class WorkerStore {
 public:
  virtual ~WorkerStore() = default;
  // The tenant's runnable jobs of its own `kinds`, within each kind's
  // limits, each leased for its kind's attempt timeout.
  virtual absl::StatusOr<std::vector<jobqueue::Job>> Claim(int64_t tenant_id,
                                                           const std::string& owner,
                                                           const std::vector<std::string>& kinds,
                                                           int max_jobs) = 0;
  // The job as stored, if `owner` holds its attempt `attempt`: NOT_FOUND for
  // no such job of the tenant, FAILED_PRECONDITION for a lease not held.
  virtual absl::StatusOr<jobqueue::Job> Held(int64_t tenant_id, int64_t id,
                                             const std::string& owner, int attempt) = 0;
  // Renews the lease for `lease` and stores the progress; whether a client
  // asked to cancel.
  virtual absl::StatusOr<bool> Heartbeat(const jobqueue::Job& held, absl::Duration lease,
                                         double progress, const std::string& message) = 0;
  virtual absl::Status Complete(const jobqueue::Job& held, const std::string& result_json) = 0;
  virtual absl::Status Fail(const jobqueue::Job& held, const std::string& error, bool permanent,
                            absl::Duration retry_delay) = 0;
  // Pauses the kind until `until` and gives the job back, uncounted, due then.
  virtual absl::Status PauseKind(const jobqueue::Job& held, int64_t kind_id,
                                 const std::string& error, absl::Time until) = 0;
  virtual absl::Status Release(const jobqueue::Job& held) = 0;
  virtual absl::Status MarkCancelled(const jobqueue::Job& held) = 0;
};

class KeyStore {
 public:
  virtual ~KeyStore() = default;
  virtual absl::StatusOr<store::KeyRecord> Insert(const store::KeyRecord& key,
                                                  const std::string& key_hash) = 0;
  virtual absl::StatusOr<std::vector<store::KeyRecord>> List(int64_t tenant_id) = 0;
  // nullopt if the tenant has no such key.
  virtual absl::StatusOr<std::optional<store::KeyRecord>> Revoke(int64_t tenant_id,
                                                                 const std::string& id) = 0;
};

// Job state changes as they happen (JobWatchHub: LISTEN job_changed).
class JobWatcher {
 public:
  virtual ~JobWatcher() = default;
  // The job's change counter now.
  virtual uint64_t Version(int64_t job_id) = 0;
  // Until the counter moves past `seen`, or `timeout`; callers re-read the
  // job either way.
  virtual void Wait(int64_t job_id, uint64_t seen, absl::Duration timeout) = 0;
};

// The vector-search shards (ShardFanout; see shards.h for the semantics).
class ShardClient {
 public:
  virtual ~ShardClient() = default;
  // One answer per shard, failures included.
  virtual std::vector<ShardAnswer> Search(
      const quarry::search::v1::SearchShardRequest& request, absl::Time deadline) = 0;
  // Per query, one answer per shard.
  virtual std::vector<std::vector<ShardAnswer>> SearchBatch(
      const quarry::search::v1::SearchShardBatchRequest& request, absl::Time deadline) = 0;
  // Until every replica of every shard has applied `sequence`.
  virtual absl::Status WaitForWatermark(int64_t sequence, absl::Time deadline) = 0;
  virtual absl::StatusOr<int64_t> MinWatermark(absl::Time deadline) = 0;
};

}  // namespace quarry::gateway

#endif  // QUARRY_SERVICES_GATEWAY_CORE_STORES_H_
