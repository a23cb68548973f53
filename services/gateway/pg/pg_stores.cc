#include "services/gateway/pg/pg_stores.h"

#include <utility>

#include "absl/strings/str_cat.h"

#include "services/common/jobqueue/pg_job_kind_store.h"
#include "services/common/jobqueue/pg_schedule_store.h"
#include "services/common/status/macros.h"
#include "services/gateway/store.h"

namespace quarry::gateway {
namespace {

// The tenant's live collection inside a write's transaction, its row locked
// until commit (see store::LockLiveCollection): a delete committed before
// this returns makes it NOT_FOUND, and a delete after it waits for the write
// and then tombstones what it wrote. So no write lands in a deleted
// collection.
absl::StatusOr<store::CollectionRecord> LockCollection(
    pqxx::work& txn, int64_t tenant_id, const std::string& name,
    store::CollectionLock lock = store::CollectionLock::kShare) {
  std::optional<store::CollectionRecord> found =
      store::LockLiveCollection(txn, tenant_id, name, lock);
  if (!found.has_value()) return CollectionNotFound(name);
  return *std::move(found);
}

}  // namespace

// ---------------------------------------------------------------- collections

absl::StatusOr<store::CollectionRecord> PgCollectionStore::Insert(
    const store::CollectionRecord& collection) {
  return pool_.WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<store::CollectionRecord> {
    return store::InsertCollection(txn, collection);
  });
}

absl::StatusOr<store::CollectionRecord> PgCollectionStore::Find(int64_t tenant_id,
                                                                const std::string& name) {
  QUARRY_ASSIGN_OR_RETURN(
      auto found,
      pool_.WithTransaction(
          [&](pqxx::work& txn) -> absl::StatusOr<std::optional<store::CollectionRecord>> {
            return store::GetCollection(txn, tenant_id, name);
          }));
  if (!found.has_value()) return CollectionNotFound(name);
  return *found;
}

absl::StatusOr<std::vector<store::CollectionRecord>> PgCollectionStore::List(
    int64_t tenant_id, const std::string& after_name, int limit) {
  return pool_.WithTransaction(
      [&](pqxx::work& txn) -> absl::StatusOr<std::vector<store::CollectionRecord>> {
        return store::ListCollections(txn, tenant_id, after_name, limit);
      });
}

absl::StatusOr<std::vector<int64_t>> PgCollectionStore::LiveIds(const std::vector<int64_t>& ids) {
  return pool_.WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<std::vector<int64_t>> {
    return store::LiveCollectionIds(txn, ids);
  });
}

absl::StatusOr<DeletedCollection> PgCollectionStore::Delete(int64_t tenant_id,
                                                            const std::string& name,
                                                            const jobqueue::JobSpec& purge) {
  return pool_.WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<DeletedCollection> {
    // Waits for the writes in flight into it; they commit first and their
    // documents are tombstoned below with the rest.
    QUARRY_ASSIGN_OR_RETURN(auto collection,
                            LockCollection(txn, tenant_id, name, store::CollectionLock::kDelete));
    DeletedCollection deleted;
    deleted.collection = collection;
    QUARRY_ASSIGN_OR_RETURN(auto purge_job, jobqueue::pgjobs::Enqueue(txn, purge));
    deleted.purge_job_id = purge_job.job.id;
    store::SoftDeleteCollection(txn, collection.id);  // Documents last (seq lock).
    return deleted;
  });
}

absl::StatusOr<store::CollectionStats> PgCollectionStore::Stats(int64_t collection_id) {
  return pool_.WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<store::CollectionStats> {
    return store::GetCollectionStats(txn, collection_id);
  });
}

// ------------------------------------------------------------------ documents

absl::StatusOr<UpsertOutcome> PgDocumentStore::Upsert(
    int64_t tenant_id, const std::string& collection,
    const google::protobuf::RepeatedPtrField<quarry::gateway::v1::Document>& documents,
    const JobFor& job_for) {
  return pool_.WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<UpsertOutcome> {
    UpsertOutcome out;
    QUARRY_ASSIGN_OR_RETURN(out.collection, LockCollection(txn, tenant_id, collection));
    QUARRY_ASSIGN_OR_RETURN(jobqueue::JobSpec spec, job_for(out.collection));
    // The job first, so the document-order lock is held only for the rows.
    QUARRY_ASSIGN_OR_RETURN(auto job, jobqueue::pgjobs::Enqueue(txn, spec));
    out.job = std::move(job.job);
    out.result = store::UpsertDocuments(txn, out.collection, documents);
    return out;
  });
}

absl::StatusOr<std::vector<quarry::gateway::v1::Document>> PgDocumentStore::Get(
    int64_t collection_id, const std::vector<std::string>& ids) {
  return pool_.WithTransaction(
      [&](pqxx::work& txn) -> absl::StatusOr<std::vector<quarry::gateway::v1::Document>> {
        return store::GetDocuments(txn, collection_id, ids);
      });
}

absl::StatusOr<store::DeleteResult> PgDocumentStore::Delete(int64_t tenant_id,
                                                            const std::string& collection,
                                                            const std::vector<std::string>& ids) {
  return pool_.WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<store::DeleteResult> {
    QUARRY_ASSIGN_OR_RETURN(auto locked, LockCollection(txn, tenant_id, collection));
    return store::DeleteDocuments(txn, locked.id, ids);
  });
}

absl::StatusOr<int64_t> PgDocumentStore::MaxSequence(int64_t collection_id,
                                                     const std::vector<std::string>& ids) {
  return pool_.WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<int64_t> {
    return store::MaxSequence(txn, collection_id, ids);
  });
}

// ----------------------------------------------------------------------- jobs

absl::StatusOr<std::vector<jobqueue::pgjobs::EnqueueResult>> PgJobStore::Enqueue(
    std::vector<NewJob> jobs) {
  // The jobs, their kinds and the collections they name are checked in one
  // transaction, as writes of documents are.
  return pool_.WithTransaction(
      [&](pqxx::work& txn) -> absl::StatusOr<std::vector<jobqueue::pgjobs::EnqueueResult>> {
        std::vector<jobqueue::pgjobs::EnqueueResult> out;
        out.reserve(jobs.size());
        for (const NewJob& job : jobs) {
          jobqueue::JobSpec bound = job.spec;
          const int64_t tenant = bound.tenant_id.value_or(0);
          QUARRY_ASSIGN_OR_RETURN(jobqueue::JobKind kind,
                                  jobqueue::pgkinds::HoldForSubmit(txn, tenant, bound.kind));
          QUARRY_RETURN_IF_ERROR(job.rule(kind, bound));
          if (job.collection.has_value()) {
            QUARRY_ASSIGN_OR_RETURN(auto locked, LockCollection(txn, tenant, *job.collection));
            job.bind(locked, bound);
          }
          for (int earlier : job.after) bound.depends_on.push_back(out[earlier].job.id);
          QUARRY_ASSIGN_OR_RETURN(auto enqueued,
                                  jobqueue::pgjobs::Enqueue(txn, bound, job.depends_on_field));
          out.push_back(std::move(enqueued));
        }
        return out;
      });
}

absl::StatusOr<jobqueue::Job> PgJobStore::Get(int64_t tenant_id, int64_t id) {
  return queue_.Get(tenant_id, id);
}

absl::StatusOr<std::vector<jobqueue::Job>> PgJobStore::List(
    int64_t tenant_id, const jobqueue::pgjobs::ListFilter& filter) {
  return queue_.List(tenant_id, filter);
}

absl::StatusOr<jobqueue::Job> PgJobStore::Cancel(int64_t tenant_id, int64_t id) {
  return queue_.Cancel(tenant_id, id);
}

absl::StatusOr<jobqueue::Job> PgJobStore::Retry(int64_t tenant_id, int64_t id) {
  return queue_.Retry(tenant_id, id);
}

absl::StatusOr<std::vector<store::JobKindStatsRow>> PgJobStore::KindStats(int64_t tenant_id) {
  return pool_.WithTransaction(
      [&](pqxx::work& txn) -> absl::StatusOr<std::vector<store::JobKindStatsRow>> {
        return store::JobStats(txn, tenant_id);
      });
}

// ----------------------------------------------------------------------- keys

absl::StatusOr<store::KeyRecord> PgKeyStore::Insert(const store::KeyRecord& key,
                                                    const std::string& key_hash) {
  return pool_.WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<store::KeyRecord> {
    return store::InsertKey(txn, key, key_hash);
  });
}

absl::StatusOr<std::vector<store::KeyRecord>> PgKeyStore::List(int64_t tenant_id) {
  return pool_.WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<std::vector<store::KeyRecord>> {
    return store::ListKeys(txn, tenant_id);
  });
}

absl::StatusOr<std::optional<store::KeyRecord>> PgKeyStore::Revoke(int64_t tenant_id,
                                                                   const std::string& id) {
  return pool_.WithTransaction(
      [&](pqxx::work& txn) -> absl::StatusOr<std::optional<store::KeyRecord>> {
        return store::RevokeKey(txn, tenant_id, id);
      });
}


// ------------------------------------------------------------------ job kinds

absl::StatusOr<jobqueue::JobKind> PgJobKindStore::Create(int64_t tenant_id,
                                                         const jobqueue::JobKind& kind) {
  return pool_.WithTransaction([&](pqxx::work& txn) {
    return jobqueue::pgkinds::Create(txn, tenant_id, kind, "kind.name");
  });
}

absl::StatusOr<jobqueue::JobKind> PgJobKindStore::Get(int64_t tenant_id, const std::string& name) {
  return pool_.WithTransaction(
      [&](pqxx::work& txn) { return jobqueue::pgkinds::Get(txn, tenant_id, name); });
}

absl::StatusOr<std::vector<jobqueue::JobKind>> PgJobKindStore::List(int64_t tenant_id,
                                                                    const std::string& after_name,
                                                                    int limit) {
  return pool_.WithTransaction(
      [&](pqxx::work& txn) -> absl::StatusOr<std::vector<jobqueue::JobKind>> {
        return jobqueue::pgkinds::List(txn, tenant_id, after_name, limit);
      });
}

absl::StatusOr<jobqueue::JobKind> PgJobKindStore::Update(int64_t tenant_id,
                                                         const jobqueue::JobKind& kind) {
  return pool_.WithTransaction(
      [&](pqxx::work& txn) { return jobqueue::pgkinds::Update(txn, tenant_id, kind); });
}

absl::Status PgJobKindStore::Delete(int64_t tenant_id, const std::string& name) {
  return pool_.WithTransaction(
      [&](pqxx::work& txn) { return jobqueue::pgkinds::Delete(txn, tenant_id, name); });
}

// ------------------------------------------------------------------ schedules

absl::StatusOr<jobqueue::StoredSchedule> PgScheduleStore::Create(
    const jobqueue::ScheduleSpec& spec) {
  return pool_.WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<jobqueue::StoredSchedule> {
    // The unique index decides a race; this names the schedule otherwise.
    if (jobqueue::pgschedules::Get(txn, spec.tenant_id, spec.name).has_value()) {
      return absl::AlreadyExistsError(absl::StrCat("schedule \"", spec.name, "\" already exists"));
    }
    return jobqueue::pgschedules::Create(txn, spec, absl::Now());
  });
}

absl::StatusOr<jobqueue::StoredSchedule> PgScheduleStore::Get(int64_t tenant_id,
                                                              const std::string& name) {
  return pool_.WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<jobqueue::StoredSchedule> {
    std::optional<jobqueue::StoredSchedule> found =
        jobqueue::pgschedules::Get(txn, tenant_id, name);
    if (!found.has_value()) return ScheduleNotFound(name);
    return *std::move(found);
  });
}

absl::StatusOr<std::vector<jobqueue::StoredSchedule>> PgScheduleStore::List(
    int64_t tenant_id, const std::string& after_name, int limit) {
  return pool_.WithTransaction(
      [&](pqxx::work& txn) -> absl::StatusOr<std::vector<jobqueue::StoredSchedule>> {
        return jobqueue::pgschedules::List(txn, tenant_id, after_name, limit);
      });
}

absl::Status PgScheduleStore::Delete(int64_t tenant_id, const std::string& name) {
  return pool_.WithTransaction([&](pqxx::work& txn) -> absl::Status {
    if (!jobqueue::pgschedules::Delete(txn, tenant_id, name)) return ScheduleNotFound(name);
    return absl::OkStatus();
  });
}

// -------------------------------------------------------------------- workers

absl::StatusOr<std::vector<jobqueue::Job>> PgWorkerStore::Claim(
    int64_t tenant_id, const std::string& owner, const std::vector<std::string>& kinds,
    int max_jobs) {
  jobqueue::pgjobs::ClaimRequest request;
  request.owner = owner;
  request.kinds = kinds;
  request.max_jobs = max_jobs;
  request.tenant_id = tenant_id;
  request.lease_from_kind = true;
  return pool_.WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<std::vector<jobqueue::Job>> {
    return jobqueue::pgjobs::Claim(txn, request);
  });
}

absl::StatusOr<jobqueue::Job> PgWorkerStore::Held(int64_t tenant_id, int64_t id,
                                                  const std::string& owner, int attempt) {
  QUARRY_ASSIGN_OR_RETURN(jobqueue::Job job, queue_.Get(tenant_id, id));
  // Expiry is not judged here, on the gateway's clock: the fenced update
  // that follows compares it with PostgreSQL's.
  if (job.state != jobqueue::JobState::kRunning || job.lease_owner != owner ||
      job.attempts != attempt) {
    return absl::FailedPreconditionError(
        absl::StrCat("lease: attempt ", attempt, " of job ", id,
                     " is not held by this worker (the lease expired, or the job moved on); "
                     "stop working on it"));
  }
  return job;
}

absl::StatusOr<bool> PgWorkerStore::Heartbeat(const jobqueue::Job& held, absl::Duration lease,
                                              double progress, const std::string& message) {
  QUARRY_RETURN_IF_ERROR(queue_.SetProgress(held, progress, message));
  return queue_.Heartbeat(held, lease);
}

absl::Status PgWorkerStore::Complete(const jobqueue::Job& held, const std::string& result_json) {
  return queue_.Complete(held, result_json);
}

absl::Status PgWorkerStore::Fail(const jobqueue::Job& held, const std::string& error,
                                 bool permanent, absl::Duration retry_delay) {
  return queue_.Fail(held, error, permanent, retry_delay);
}

absl::Status PgWorkerStore::PauseKind(const jobqueue::Job& held, int64_t kind_id,
                                      const std::string& error, absl::Time until) {
  return pool_.WithTransaction([&](pqxx::work& txn) -> absl::Status {
    if (!jobqueue::pgjobs::Postpone(txn, held, error, until)) {
      return absl::FailedPreconditionError(
          absl::StrCat("lease: job ", held.id, " is no longer held by this worker"));
    }
    jobqueue::pgkinds::PauseUntil(txn, kind_id, until);
    return absl::OkStatus();
  });
}

absl::Status PgWorkerStore::Release(const jobqueue::Job& held) { return queue_.Release(held); }

absl::Status PgWorkerStore::MarkCancelled(const jobqueue::Job& held) {
  return queue_.MarkCancelled(held);
}

}  // namespace quarry::gateway
