#ifndef QUARRY_SERVICES_GATEWAY_TESTING_FAKES_H_
#define QUARRY_SERVICES_GATEWAY_TESTING_FAKES_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "services/common/embedding_client/embedding_client.h"
#include "services/gateway/core/stores.h"

namespace quarry::gateway::testing {

// In-memory stores for unit tests of core/: the semantics of the SQL that
// the core relies on (tenant scoping, NOT_FOUND wording, unchanged documents
// left alone, idempotency keys), none of PostgreSQL's locking. Thread-safe.

class FakeCollectionStore final : public CollectionStore {
 public:
  absl::StatusOr<store::CollectionRecord> Insert(
      const store::CollectionRecord& collection) override;
  absl::StatusOr<store::CollectionRecord> Find(int64_t tenant_id,
                                               const std::string& name) override;
  absl::StatusOr<std::vector<store::CollectionRecord>> List(int64_t tenant_id,
                                                            const std::string& after_name,
                                                            int limit) override;
  absl::StatusOr<std::vector<int64_t>> LiveIds(const std::vector<int64_t>& ids) override;
  // Enqueues nothing: the purge job gets a made-up id.
  absl::StatusOr<DeletedCollection> Delete(int64_t tenant_id, const std::string& name,
                                           const jobqueue::JobSpec& purge) override;
  absl::StatusOr<store::CollectionStats> Stats(int64_t collection_id) override;

 private:
  absl::Mutex mu_;
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<int64_t, store::CollectionRecord> live_ ABSL_GUARDED_BY(mu_);
};

// The system kinds are there from the start, as the migration seeds them.
class FakeJobKindStore final : public JobKindStore {
 public:
  FakeJobKindStore();
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
  absl::Mutex mu_;
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  // By (tenant, name); tenant 0 holds the system kinds.
  std::map<std::pair<int64_t, std::string>, jobqueue::JobKind> kinds_ ABSL_GUARDED_BY(mu_);
};

// Ticks nothing (the scheduler is the worker's): next_run_at is the first
// tick after the real clock, as PgScheduleStore computes it.
class FakeScheduleStore final : public ScheduleStore {
 public:
  absl::StatusOr<jobqueue::StoredSchedule> Create(const jobqueue::ScheduleSpec& spec) override;
  absl::StatusOr<jobqueue::StoredSchedule> Get(int64_t tenant_id,
                                              const std::string& name) override;
  absl::StatusOr<std::vector<jobqueue::StoredSchedule>> List(int64_t tenant_id,
                                                             const std::string& after_name,
                                                             int limit) override;
  absl::Status Delete(int64_t tenant_id, const std::string& name) override;

 private:
  absl::Mutex mu_;
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<std::pair<int64_t, std::string>, jobqueue::StoredSchedule> schedules_
      ABSL_GUARDED_BY(mu_);
};

class FakeJobStore final : public JobStore {
 public:
  FakeJobStore(CollectionStore& collections, JobKindStore& kinds)
      : collections_(collections), kinds_(kinds) {}
  // All or none, as one transaction; dependencies are checked as the SQL
  // does (the tenant's, not ended DEAD or CANCELLED) but never released:
  // SetState does not touch the jobs waiting for a job.
  absl::StatusOr<std::vector<jobqueue::pgjobs::EnqueueResult>> Enqueue(
      std::vector<NewJob> jobs) override;
  absl::StatusOr<jobqueue::Job> Get(int64_t tenant_id, int64_t id) override;
  absl::StatusOr<std::vector<jobqueue::Job>> List(
      int64_t tenant_id, const jobqueue::pgjobs::ListFilter& filter) override;
  absl::StatusOr<jobqueue::Job> Cancel(int64_t tenant_id, int64_t id) override;
  absl::StatusOr<jobqueue::Job> Retry(int64_t tenant_id, int64_t id) override;
  absl::StatusOr<std::vector<store::JobKindStatsRow>> KindStats(int64_t tenant_id) override;

  // Every job enqueued, in order (for assertions).
  std::vector<jobqueue::Job> All();
  // What a worker would do: moves the job to `state`.
  void SetState(int64_t id, jobqueue::JobState state);

 private:
  jobqueue::Job Insert(const jobqueue::JobSpec& spec) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  CollectionStore& collections_;
  JobKindStore& kinds_;
  absl::Mutex mu_;
  std::vector<jobqueue::Job> jobs_ ABSL_GUARDED_BY(mu_);  // id = index + 1
};

class FakeDocumentStore final : public DocumentStore {
 public:
  FakeDocumentStore(CollectionStore& collections, FakeJobStore& jobs)
      : collections_(collections), jobs_(jobs) {}
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
  struct Row {
    quarry::gateway::v1::Document document;
    int64_t seq = 0;
  };
  CollectionStore& collections_;
  FakeJobStore& jobs_;
  absl::Mutex mu_;
  int64_t seq_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::pair<int64_t, std::string>, Row> rows_ ABSL_GUARDED_BY(mu_);
};

// Versions never move; Wait returns at once (callers re-read either way).
class FakeJobWatcher final : public JobWatcher {
 public:
  uint64_t Version(int64_t) override { return 0; }
  void Wait(int64_t, uint64_t, absl::Duration) override {}
};

// Shards answering what a test scripts: per shard, a status (OK: its hits).
class FakeShards final : public ShardClient {
 public:
  struct Script {
    absl::Status status;
    std::vector<std::pair<std::string, float>> hits;  // id, score
  };
  explicit FakeShards(std::vector<Script> shards) : shards_(std::move(shards)) {}

  std::vector<ShardAnswer> Search(const quarry::search::v1::SearchShardRequest& request,
                                  absl::Time deadline) override;
  std::vector<std::vector<ShardAnswer>> SearchBatch(
      const quarry::search::v1::SearchShardBatchRequest& request, absl::Time deadline) override;
  absl::Status WaitForWatermark(int64_t, absl::Time) override { return absl::OkStatus(); }
  absl::StatusOr<int64_t> MinWatermark(absl::Time) override { return 0; }

  // The requests each Search sent (one per call, as every shard got it).
  std::vector<quarry::search::v1::SearchShardRequest> requests();

 private:
  const std::vector<Script> shards_;
  absl::Mutex mu_;
  std::vector<quarry::search::v1::SearchShardRequest> requests_ ABSL_GUARDED_BY(mu_);
};

// Serves one model; a text's vector is its length in every component.
class FakeEmbedder final : public EmbeddingClient {
 public:
  FakeEmbedder(std::string model, int dimension) : model_(std::move(model)), dimension_(dimension) {}
  absl::StatusOr<std::vector<std::vector<float>>> Embed(const std::string& model, int dimension,
                                                        const std::vector<std::string>& texts,
                                                        absl::Duration timeout) override;
  absl::StatusOr<std::pair<std::string, int>> ModelInfo(absl::Duration) override {
    return std::make_pair(model_, dimension_);
  }
  int calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  const std::string model_;
  const int dimension_;
  absl::Mutex mu_;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace quarry::gateway::testing

#endif  // QUARRY_SERVICES_GATEWAY_TESTING_FAKES_H_
