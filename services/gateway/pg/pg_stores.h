#ifndef QUARRY_SERVICES_GATEWAY_PG_PG_STORES_H_
#define QUARRY_SERVICES_GATEWAY_PG_PG_STORES_H_

#include "services/common/jobqueue/pg_job_queue.h"
#include "services/common/pg/pool.h"
#include "services/gateway/core/stores.h"

namespace quarry::gateway {

// The stores of core/stores.h on PostgreSQL: each method is one
// pg::Pool::WithTransaction over the SQL of store.h (gateway tables) and
// jobqueue::pgjobs (the jobs table), which maps libpqxx exceptions to
// absl::Status. Writes into a collection lock its row first
// (store::LockLiveCollection) and write documents last (the seq lock).

class PgCollectionStore final : public CollectionStore {
 public:
  explicit PgCollectionStore(pg::Pool& pool) : pool_(pool) {}
  absl::StatusOr<store::CollectionRecord> Insert(
      const store::CollectionRecord& collection) override;
  absl::StatusOr<store::CollectionRecord> Find(int64_t tenant_id,
                                               const std::string& name) override;
  absl::StatusOr<std::vector<store::CollectionRecord>> List(int64_t tenant_id,
                                                            const std::string& after_name,
                                                            int limit) override;
  absl::StatusOr<std::vector<int64_t>> LiveIds(const std::vector<int64_t>& ids) override;
  absl::StatusOr<DeletedCollection> Delete(int64_t tenant_id, const std::string& name,
                                           const jobqueue::JobSpec& purge) override;
  absl::StatusOr<store::CollectionStats> Stats(int64_t collection_id) override;

 private:
  pg::Pool& pool_;
};

class PgDocumentStore final : public DocumentStore {
 public:
  explicit PgDocumentStore(pg::Pool& pool) : pool_(pool) {}
  absl::StatusOr<UpsertOutcome> Upsert(
      int64_t tenant_id, const std::string& collection,
      const google::protobuf::RepeatedPtrField<quarry::gateway::v1::Document>& documents,
      const JobFor& job_for) override;
  absl::StatusOr<std::vector<quarry::gateway::v1::Document>> Get(
      int64_t collection_id, const std::vector<std::string>& ids) override;
  absl::StatusOr<store::DeleteResult> Delete(int64_t tenant_id, const std::string& collection,
                                             const std::vector<std::string>& ids) override;
  absl::StatusOr<int64_t> MaxSequence(int64_t collection_id,
                                      const std::vector<std::string>& ids) override;

 private:
  pg::Pool& pool_;
};

// Reads and state changes go through PgJobQueue (tenant-scoped); enqueues
// that must lock a collection run their own transaction.
class PgJobStore final : public JobStore {
 public:
  PgJobStore(pg::Pool& pool, jobqueue::PgJobQueue& queue) : pool_(pool), queue_(queue) {}
  absl::StatusOr<std::vector<jobqueue::pgjobs::EnqueueResult>> Enqueue(
      std::vector<NewJob> jobs) override;
  absl::StatusOr<jobqueue::Job> Get(int64_t tenant_id, int64_t id) override;
  absl::StatusOr<std::vector<jobqueue::Job>> List(
      int64_t tenant_id, const jobqueue::pgjobs::ListFilter& filter) override;
  absl::StatusOr<jobqueue::Job> Cancel(int64_t tenant_id, int64_t id) override;
  absl::StatusOr<jobqueue::Job> Retry(int64_t tenant_id, int64_t id) override;
  absl::StatusOr<std::vector<store::JobKindStatsRow>> KindStats(int64_t tenant_id) override;

 private:
  pg::Pool& pool_;
  jobqueue::PgJobQueue& queue_;
};

class PgJobKindStore final : public JobKindStore {
 public:
  explicit PgJobKindStore(pg::Pool& pool) : pool_(pool) {}
  absl::StatusOr<jobqueue::JobKind> Create(int64_t tenant_id,
                                           const jobqueue::JobKind& kind) override;
  absl::StatusOr<jobqueue::JobKind> Get(int64_t tenant_id, const std::string& name) override;
  absl::StatusOr<std::vector<jobqueue::JobKind>> List(int64_t tenant_id,
                                                      const std::string& after_name,
                                                      int limit) override;
  absl::StatusOr<jobqueue::JobKind> Update(int64_t tenant_id,
                                           const jobqueue::JobKind& kind) override;
  absl::Status Delete(int64_t tenant_id, const std::string& name) override;

 private:
  pg::Pool& pool_;
};

class PgScheduleStore final : public ScheduleStore {
 public:
  explicit PgScheduleStore(pg::Pool& pool) : pool_(pool) {}
  absl::StatusOr<jobqueue::StoredSchedule> Create(const jobqueue::ScheduleSpec& spec) override;
  absl::StatusOr<jobqueue::StoredSchedule> Get(int64_t tenant_id,
                                              const std::string& name) override;
  absl::StatusOr<std::vector<jobqueue::StoredSchedule>> List(int64_t tenant_id,
                                                             const std::string& after_name,
                                                             int limit) override;
  absl::Status Delete(int64_t tenant_id, const std::string& name) override;

 private:
  pg::Pool& pool_;
};

class PgWorkerStore final : public WorkerStore {
 public:
  PgWorkerStore(pg::Pool& pool, jobqueue::PgJobQueue& queue) : pool_(pool), queue_(queue) {}
  absl::StatusOr<std::vector<jobqueue::Job>> Claim(int64_t tenant_id, const std::string& owner,
                                                   const std::vector<std::string>& kinds,
                                                   int max_jobs) override;
  absl::StatusOr<jobqueue::Job> Held(int64_t tenant_id, int64_t id, const std::string& owner,
                                     int attempt) override;
  absl::StatusOr<bool> Heartbeat(const jobqueue::Job& held, absl::Duration lease, double progress,
                                 const std::string& message) override;
  absl::Status Complete(const jobqueue::Job& held, const std::string& result_json) override;
  absl::Status Fail(const jobqueue::Job& held, const std::string& error, bool permanent,
                    absl::Duration retry_delay) override;
  absl::Status PauseKind(const jobqueue::Job& held, int64_t kind_id, const std::string& error,
                         absl::Time until) override;
  absl::Status Release(const jobqueue::Job& held) override;
  absl::Status MarkCancelled(const jobqueue::Job& held) override;

 private:
  pg::Pool& pool_;
  jobqueue::PgJobQueue& queue_;
};

class PgKeyStore final : public KeyStore {
 public:
  explicit PgKeyStore(pg::Pool& pool) : pool_(pool) {}
  absl::StatusOr<store::KeyRecord> Insert(const store::KeyRecord& key,
                                          const std::string& key_hash) override;
  absl::StatusOr<std::vector<store::KeyRecord>> List(int64_t tenant_id) override;
  absl::StatusOr<std::optional<store::KeyRecord>> Revoke(int64_t tenant_id,
                                                         const std::string& id) override;

 private:
  pg::Pool& pool_;
};

}  // namespace quarry::gateway

#endif  // QUARRY_SERVICES_GATEWAY_PG_PG_STORES_H_
