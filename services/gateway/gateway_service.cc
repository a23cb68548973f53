#include "services/gateway/gateway_service.h"

#include <algorithm>
#include <future>
#include <map>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "services/common/status/status.h"
#include "services/gateway/api_key.h"
#include "services/gateway/limits.h"
#include "services/gateway/merge.h"
#include "services/gateway/page_token.h"
#include "services/gateway/store.h"
#include "services/gateway/validation.h"

namespace quarry::gateway {
namespace {

using quarry::common::v1::Metric;

constexpr absl::string_view kJobKinds[] = {"index_documents", "reindex_collection",
                                           "refresh_stats", "purge_deleted"};

// Early-return helpers: the adapters read as a list of steps. A commit in
// doubt (PostgreSQL restarting under it) reaches the client as UNAVAILABLE,
// gRPC's transient code: upserts, deletes, cancels, revokes and jobs with an
// idempotency key are safe to retry, and a retried CreateCollection reports
// ALREADY_EXISTS; UNAVAILABLE's contract warns about the rest.
#define QUARRY_RETURN_IF_ERROR(expr)                                \
  do {                                                              \
    if (absl::Status _status = (expr); !_status.ok()) {             \
      return ToGrpcStatus(InDoubtAsUnavailable(std::move(_status))); \
    }                                                               \
  } while (false)

absl::Time Deadline(const grpc::ServerContext& context, absl::Duration fallback) {
  if (context.deadline() == std::chrono::system_clock::time_point::max()) {
    return absl::Now() + fallback;
  }
  return absl::FromChrono(context.deadline());
}

void SetTime(absl::Time time, google::protobuf::Timestamp* out) {
  const int64_t micros = absl::ToUnixMicros(time);
  out->set_seconds(micros / 1'000'000);
  out->set_nanos(static_cast<int32_t>(micros % 1'000'000) * 1000);
}

Metric MetricFromName(const std::string& name) {
  if (name == "dot") return quarry::common::v1::METRIC_DOT;
  if (name == "l2") return quarry::common::v1::METRIC_L2;
  return quarry::common::v1::METRIC_COSINE;
}

void ToProto(const store::CollectionRecord& record, v1::Collection* out) {
  out->set_name(record.name);
  out->set_dimension(record.dimension);
  out->set_metric(MetricFromName(record.metric));
  out->set_model(record.model);
  SetTime(record.created_at, out->mutable_create_time());
}

v1::JobState StateToProto(jobqueue::JobState state) {
  switch (state) {
    case jobqueue::JobState::kQueued: return v1::JOB_STATE_QUEUED;
    case jobqueue::JobState::kRunning: return v1::JOB_STATE_RUNNING;
    case jobqueue::JobState::kSucceeded: return v1::JOB_STATE_SUCCEEDED;
    case jobqueue::JobState::kDead: return v1::JOB_STATE_DEAD;
    case jobqueue::JobState::kCancelled: return v1::JOB_STATE_CANCELLED;
  }
  return v1::JOB_STATE_UNSPECIFIED;
}

void ToProto(const jobqueue::Job& job, v1::Job* out) {
  out->set_id(absl::StrCat(job.id));
  out->set_kind(job.kind);
  out->set_state(StateToProto(job.state));
  out->set_payload_json(job.payload_json);
  out->set_priority(job.priority);
  SetTime(job.run_at, out->mutable_run_at());
  out->set_attempts(job.attempts);
  out->set_max_attempts(job.max_attempts);
  out->set_progress(job.progress);
  out->set_progress_message(job.progress_message);
  out->set_result_json(job.result_json);
  out->set_last_error(job.last_error);
  out->set_idempotency_key(job.idempotency_key);
  out->set_cancel_requested(job.cancel_requested);
  SetTime(job.created_at, out->mutable_create_time());
  if (job.started_at) SetTime(*job.started_at, out->mutable_start_time());
  if (job.finished_at) SetTime(*job.finished_at, out->mutable_finish_time());
}

absl::Status CollectionNotFound(const std::string& name) {
  return absl::NotFoundError(absl::StrCat("collection \"", name, "\" not found"));
}

// The tenant's live collection by name; NOT_FOUND naming it otherwise (also
// for another tenant's collection: never reveal that it exists).
absl::StatusOr<store::CollectionRecord> FindCollection(pg::Pool& pool, int64_t tenant_id,
                                                       const std::string& name) {
  auto found = pool.WithTransaction(
      [&](pqxx::work& txn) -> absl::StatusOr<std::optional<store::CollectionRecord>> {
        return store::GetCollection(txn, tenant_id, name);
      });
  if (!found.ok()) return found.status();
  if (!found->has_value()) return CollectionNotFound(name);
  return **found;
}

// The same inside a write's transaction, the collection's row locked until
// it commits (see store::LockLiveCollection): a delete committed before this
// returns makes it NOT_FOUND, and a delete after it waits for the write and
// then tombstones what it wrote. So no write lands in a deleted collection.
absl::StatusOr<store::CollectionRecord> LockCollection(
    pqxx::work& txn, int64_t tenant_id, const std::string& name,
    store::CollectionLock lock = store::CollectionLock::kShare) {
  std::optional<store::CollectionRecord> found =
      store::LockLiveCollection(txn, tenant_id, name, lock);
  if (!found.has_value()) return CollectionNotFound(name);
  return *std::move(found);
}

// Asks PostgreSQL, on a thread of its own while a search embeds and fans out,
// which of the collections the search took from the CollectionCache are
// still live. Nothing to ask when `ids` is empty.
class LiveCheck {
 public:
  LiveCheck(pg::Pool& pool, std::vector<int64_t> ids) {
    if (ids.empty()) return;
    live_ = std::async(std::launch::async,
                       [&pool, ids = std::move(ids)]() -> absl::StatusOr<std::vector<int64_t>> {
                         return pool.WithTransaction(
                             [&](pqxx::work& txn) -> absl::StatusOr<std::vector<int64_t>> {
                               return store::LiveCollectionIds(txn, ids);
                             });
                       });
  }

  // Waits for the answer: the checked ids that are still live.
  absl::StatusOr<absl::flat_hash_set<int64_t>> Live() {
    absl::flat_hash_set<int64_t> live;
    if (!live_.valid()) return live;
    absl::StatusOr<std::vector<int64_t>> ids = live_.get();
    if (!ids.ok()) return ids.status();
    live.insert(ids->begin(), ids->end());
    return live;
  }

 private:
  // The destructor of a std::async future waits: the thread never outlives
  // the search.
  std::future<absl::StatusOr<std::vector<int64_t>>> live_;
};

absl::StatusOr<int64_t> ParseJobId(const std::string& id) {
  if (absl::Status s = ValidateJobId("id", id); !s.ok()) return s;
  int64_t value;
  if (!absl::SimpleAtoi(id, &value)) return absl::InvalidArgumentError("id: out of range");
  return value;
}

// Waits for a job to finish successfully; FAILED_PRECONDITION if it ended
// otherwise, DEADLINE_EXCEEDED at the deadline.
absl::Status WaitForJob(const GatewayCore& core, int64_t tenant_id, int64_t job_id,
                        absl::Time deadline) {
  while (true) {
    const uint64_t version = core.watch_hub->Version(job_id);
    auto job = core.jobs->Get(tenant_id, job_id);
    if (!job.ok()) return job.status();
    if (job->state == jobqueue::JobState::kSucceeded) return absl::OkStatus();
    if (jobqueue::IsTerminal(job->state)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the write is durable but its indexing job ", job_id, " ended ",
          jobqueue::JobStateName(job->state), ": ", job->last_error));
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "the write is durable but not yet indexed (job ", job_id, " is ",
          jobqueue::JobStateName(job->state), ")"));
    }
    core.watch_hub->Wait(job_id, version, std::min(absl::Milliseconds(250), deadline - absl::Now()));
  }
}

}  // namespace

std::optional<store::CollectionRecord> CollectionCache::Get(int64_t tenant_id,
                                                            const std::string& name) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(std::make_pair(tenant_id, name));
  if (it == entries_.end() || it->second.second < absl::Now()) return std::nullopt;
  return it->second.first;
}

void CollectionCache::Put(const store::CollectionRecord& collection) {
  absl::MutexLock lock(&mu_);
  if (entries_.size() > 10000) entries_.clear();  // Bounded; refills on demand.
  entries_[std::make_pair(collection.tenant_id, collection.name)] = {collection,
                                                                     absl::Now() + ttl_};
}

void CollectionCache::Forget(const store::CollectionRecord& collection) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(std::make_pair(collection.tenant_id, collection.name));
  if (it != entries_.end() && it->second.first.id == collection.id) entries_.erase(it);
}

// ---------------------------------------------------------------- collections

grpc::Status CollectionServiceImpl::CreateCollection(grpc::ServerContext* context,
                                                     const v1::CreateCollectionRequest* request,
                                                     v1::CreateCollectionResponse* response) {
  auto caller = core_.gate->Admit(*context, Scope::kWrite);
  QUARRY_RETURN_IF_ERROR(caller.status());
  QUARRY_RETURN_IF_ERROR(ValidateCreateCollection(*request));
  const v1::Collection& wanted = request->collection();
  store::CollectionRecord record;
  record.tenant_id = (*caller)->tenant_id;
  record.name = wanted.name();
  record.dimension = static_cast<int>(wanted.dimension());
  record.model = wanted.model();
  record.metric = wanted.metric() == quarry::common::v1::METRIC_DOT  ? "dot"
                  : wanted.metric() == quarry::common::v1::METRIC_L2 ? "l2"
                                                                      : "cosine";
  // Only the served model can embed the collection's documents and queries:
  // a collection of another would be created and then fail at every upsert
  // and search, so it is refused here, and so is a create that cannot check.
  auto served = core_.embedder->ModelInfo(absl::Seconds(5));
  if (!served.ok()) {
    return ToGrpcStatus(absl::UnavailableError(absl::StrCat(
        "collection.model: the embedding service cannot say which models it serves: ",
        served.status().message())));
  }
  if (!record.model.empty() && record.model != served->first) {
    return ToGrpcStatus(absl::FailedPreconditionError(absl::StrCat(
        "collection.model: \"", record.model,
        "\" is not served by the embedding service; served models: ", served->first,
        " (or leave it empty for the default)")));
  }
  if (record.dimension != 0 && record.dimension != served->second) {
    return ToGrpcStatus(absl::FailedPreconditionError(absl::StrCat(
        "collection.dimension is ", record.dimension, " but model ", served->first,
        " produces dimension ", served->second)));
  }
  record.model = served->first;
  record.dimension = served->second;
  auto created = core_.pool->WithTransaction(
      [&](pqxx::work& txn) -> absl::StatusOr<store::CollectionRecord> {
        return store::InsertCollection(txn, record);
      });
  if (created.status().code() == absl::StatusCode::kAlreadyExists) {
    return ToGrpcStatus(absl::AlreadyExistsError(
        absl::StrCat("collection \"", record.name, "\" already exists")));
  }
  QUARRY_RETURN_IF_ERROR(created.status());
  ToProto(*created, response->mutable_collection());
  return grpc::Status::OK;
}

grpc::Status CollectionServiceImpl::GetCollection(grpc::ServerContext* context,
                                                  const v1::GetCollectionRequest* request,
                                                  v1::GetCollectionResponse* response) {
  auto caller = core_.gate->Admit(*context, Scope::kRead);
  QUARRY_RETURN_IF_ERROR(caller.status());
  QUARRY_RETURN_IF_ERROR(ValidateCollectionName("name", request->name()));
  auto collection = FindCollection(*core_.pool, (*caller)->tenant_id, request->name());
  QUARRY_RETURN_IF_ERROR(collection.status());
  ToProto(*collection, response->mutable_collection());
  return grpc::Status::OK;
}

grpc::Status CollectionServiceImpl::ListCollections(grpc::ServerContext* context,
                                                    const v1::ListCollectionsRequest* request,
                                                    v1::ListCollectionsResponse* response) {
  auto caller = core_.gate->Admit(*context, Scope::kRead);
  QUARRY_RETURN_IF_ERROR(caller.status());
  auto size = PageSize("page", request->page());
  QUARRY_RETURN_IF_ERROR(size.status());
  auto after = DecodePageToken("page.page_token", "collections", request->page().page_token());
  QUARRY_RETURN_IF_ERROR(after.status());
  auto rows = core_.pool->WithTransaction(
      [&](pqxx::work& txn) -> absl::StatusOr<std::vector<store::CollectionRecord>> {
        return store::ListCollections(txn, (*caller)->tenant_id, *after, *size + 1);
      });
  QUARRY_RETURN_IF_ERROR(rows.status());
  for (int i = 0; i < std::min<int>(*size, rows->size()); ++i) {
    ToProto((*rows)[i], response->add_collections());
  }
  if (static_cast<int>(rows->size()) > *size) {
    response->mutable_page()->set_next_page_token(
        EncodePageToken("collections", (*rows)[*size - 1].name));
  }
  return grpc::Status::OK;
}

grpc::Status CollectionServiceImpl::DeleteCollection(grpc::ServerContext* context,
                                                     const v1::DeleteCollectionRequest* request,
                                                     v1::DeleteCollectionResponse* response) {
  auto caller = core_.gate->Admit(*context, Scope::kAdmin);
  QUARRY_RETURN_IF_ERROR(caller.status());
  QUARRY_RETURN_IF_ERROR(ValidateCollectionName("name", request->name()));
  std::optional<store::CollectionRecord> deleted;
  auto job = core_.pool->WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<int64_t> {
    // Waits for the writes in flight into it; they commit first and their
    // documents are tombstoned below with the rest.
    auto collection = LockCollection(txn, (*caller)->tenant_id, request->name(),
                                     store::CollectionLock::kDelete);
    if (!collection.ok()) return collection.status();
    deleted = *collection;
    jobqueue::JobSpec purge;
    purge.tenant_id = (*caller)->tenant_id;
    purge.kind = "purge_deleted";
    purge.run_at = absl::Now() + core_.options.purge_delay;
    const int64_t id = jobqueue::pgjobs::Enqueue(txn, purge).job.id;
    store::SoftDeleteCollection(txn, collection->id);  // Documents last (seq lock).
    return id;
  });
  QUARRY_RETURN_IF_ERROR(job.status());
  // Spares this gateway's next search the detour; other gateways find out
  // by their own check (see CollectionCache).
  core_.collection_cache->Forget(*deleted);
  response->set_purge_job_id(absl::StrCat(*job));
  return grpc::Status::OK;
}

// ------------------------------------------------------------------ documents

grpc::Status DocumentServiceImpl::UpsertDocuments(grpc::ServerContext* context,
                                                  const v1::UpsertDocumentsRequest* request,
                                                  v1::UpsertDocumentsResponse* response) {
  auto caller = core_.gate->Admit(*context, Scope::kWrite);
  QUARRY_RETURN_IF_ERROR(caller.status());
  QUARRY_RETURN_IF_ERROR(ValidateUpsert(*request));

  nlohmann::json ids = nlohmann::json::array();
  for (const auto& doc : request->documents()) ids.push_back(doc.id());
  // The collection (locked), the documents and their indexing job commit
  // together or not at all; the job is inserted before the documents so the
  // document-order lock is held only for the rows.
  struct Written {
    store::CollectionRecord collection;
    jobqueue::Job job;
    store::UpsertResult result;
  };
  auto written = core_.pool->WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<Written> {
    Written w;
    auto collection = LockCollection(txn, (*caller)->tenant_id, request->collection());
    if (!collection.ok()) return collection.status();
    w.collection = *std::move(collection);
    if (absl::Status s = ValidateUpsertVectors(*request, w.collection.dimension); !s.ok()) {
      return s;
    }
    jobqueue::JobSpec spec;
    spec.tenant_id = (*caller)->tenant_id;
    spec.kind = "index_documents";
    spec.payload_json =
        nlohmann::json{{"collection_id", w.collection.id}, {"ids", ids}}.dump();
    w.job = jobqueue::pgjobs::Enqueue(txn, spec).job;
    w.result = store::UpsertDocuments(txn, w.collection, request->documents());
    return w;
  });
  QUARRY_RETURN_IF_ERROR(written.status());
  const store::CollectionRecord* collection = &written->collection;
  ToProto(written->job, response->mutable_job());
  response->set_inserted(written->result.inserted);
  response->set_updated(written->result.updated);
  response->set_unchanged(written->result.unchanged);
  response->set_sequence(written->result.max_seq);

  if (request->wait_for_indexed()) {
    const absl::Time deadline = Deadline(*context, core_.options.default_deadline);
    QUARRY_RETURN_IF_ERROR(WaitForJob(core_, (*caller)->tenant_id, written->job.id, deadline));
    std::vector<std::string> id_list(ids.begin(), ids.end());
    auto sequence = core_.pool->WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<int64_t> {
      return store::MaxSequence(txn, collection->id, id_list);
    });
    QUARRY_RETURN_IF_ERROR(sequence.status());
    QUARRY_RETURN_IF_ERROR(core_.shards->WaitForWatermark(*sequence, deadline));
    response->set_sequence(*sequence);
    auto finished = core_.jobs->Get((*caller)->tenant_id, written->job.id);
    if (finished.ok()) ToProto(*finished, response->mutable_job());
  }
  return grpc::Status::OK;
}

grpc::Status DocumentServiceImpl::GetDocuments(grpc::ServerContext* context,
                                               const v1::GetDocumentsRequest* request,
                                               v1::GetDocumentsResponse* response) {
  auto caller = core_.gate->Admit(*context, Scope::kRead);
  QUARRY_RETURN_IF_ERROR(caller.status());
  QUARRY_RETURN_IF_ERROR(ValidateCollectionName("collection", request->collection()));
  QUARRY_RETURN_IF_ERROR(ValidateDocumentIds("ids", request->ids()));
  auto collection = FindCollection(*core_.pool, (*caller)->tenant_id, request->collection());
  QUARRY_RETURN_IF_ERROR(collection.status());
  std::vector<std::string> ids(request->ids().begin(), request->ids().end());
  auto docs = core_.pool->WithTransaction(
      [&](pqxx::work& txn) -> absl::StatusOr<std::vector<v1::Document>> {
        return store::GetDocuments(txn, collection->id, ids);
      });
  QUARRY_RETURN_IF_ERROR(docs.status());
  std::map<std::string, v1::Document*> by_id;
  for (auto& doc : *docs) by_id[doc.id()] = &doc;
  for (const std::string& id : ids) {
    auto it = by_id.find(id);
    if (it == by_id.end()) {
      response->add_missing_ids(id);
    } else {
      *response->add_documents() = *it->second;
    }
  }
  return grpc::Status::OK;
}

grpc::Status DocumentServiceImpl::DeleteDocuments(grpc::ServerContext* context,
                                                  const v1::DeleteDocumentsRequest* request,
                                                  v1::DeleteDocumentsResponse* response) {
  auto caller = core_.gate->Admit(*context, Scope::kWrite);
  QUARRY_RETURN_IF_ERROR(caller.status());
  QUARRY_RETURN_IF_ERROR(ValidateCollectionName("collection", request->collection()));
  QUARRY_RETURN_IF_ERROR(ValidateDocumentIds("ids", request->ids()));
  std::vector<std::string> ids(request->ids().begin(), request->ids().end());
  auto deleted = core_.pool->WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<store::DeleteResult> {
    auto collection = LockCollection(txn, (*caller)->tenant_id, request->collection());
    if (!collection.ok()) return collection.status();
    return store::DeleteDocuments(txn, collection->id, ids);
  });
  QUARRY_RETURN_IF_ERROR(deleted.status());
  response->set_deleted(deleted->deleted);
  response->set_sequence(deleted->max_seq);
  if (request->wait_for_indexed() && deleted->max_seq > 0) {
    QUARRY_RETURN_IF_ERROR(core_.shards->WaitForWatermark(
        deleted->max_seq, Deadline(*context, core_.options.default_deadline)));
  }
  return grpc::Status::OK;
}

// --------------------------------------------------------------------- search

absl::StatusOr<SearchServiceImpl::Prepared> SearchServiceImpl::Prepare(
    int64_t tenant_id, const v1::SearchRequest& request, bool use_cache) {
  if (absl::Status status = ValidateSearch(request); !status.ok()) return status;
  Prepared prepared;
  std::optional<store::CollectionRecord> cached;
  if (use_cache) cached = core_.collection_cache->Get(tenant_id, request.collection());
  if (cached.has_value()) {
    prepared.collection = *std::move(cached);
    prepared.from_cache = true;
  } else {
    auto collection = FindCollection(*core_.pool, tenant_id, request.collection());
    if (!collection.ok()) return collection.status();
    prepared.collection = *std::move(collection);
    core_.collection_cache->Put(prepared.collection);
  }
  quarry::search::v1::SearchShardRequest& shard_request = prepared.shard_request;
  shard_request.set_collection_id(prepared.collection.id);
  if (request.has_vector()) {
    if (absl::Status status =
            ValidateVector("vector", request.vector(), prepared.collection.dimension);
        !status.ok()) {
      return status;
    }
    *shard_request.mutable_vector() = request.vector();
  } else {
    // Recent query texts skip the embedding call.
    std::string key = absl::StrCat(prepared.collection.model, "\n", request.text());
    if (std::optional<std::vector<float>> vector = core_.query_cache->Get(key)) {
      shard_request.mutable_vector()->mutable_values()->Add(vector->begin(), vector->end());
    } else {
      prepared.embed_key = std::move(key);
    }
  }
  prepared.top_k = EffectiveTopK(request);
  shard_request.set_k(prepared.top_k);
  *shard_request.mutable_filter() = request.filter();
  shard_request.set_effort(request.effort());
  shard_request.set_exact(request.exact());
  if (request.has_min_score()) shard_request.set_min_score(request.min_score());
  return prepared;
}

absl::StatusOr<uint32_t> SearchServiceImpl::Embed(const std::string& model, int dimension,
                                                  const std::vector<std::string>& texts,
                                                  const std::vector<Prepared*>& queries,
                                                  absl::Time deadline) {
  const absl::Time start = absl::Now();
  auto embedded = core_.embedder->Embed(model, dimension, texts, deadline - absl::Now());
  if (!embedded.ok()) return embedded.status();
  for (size_t j = 0; j < queries.size(); ++j) {
    const std::vector<float>& vector = (*embedded)[j];
    core_.query_cache->Put(*queries[j]->embed_key, vector);
    queries[j]->shard_request.mutable_vector()->mutable_values()->Add(vector.begin(),
                                                                      vector.end());
  }
  return static_cast<uint32_t>(absl::ToInt64Microseconds(absl::Now() - start));
}

absl::Status SearchServiceImpl::Respond(const v1::SearchRequest& request,
                                        const Prepared& prepared,
                                        std::vector<ShardAnswer> answers,
                                        v1::SearchResponse* response) {
  MergeResult merged = MergeShardAnswers(std::move(answers), prepared.top_k,
                                         request.has_min_score()
                                             ? std::optional<float>(request.min_score())
                                             : std::nullopt);
  if (merged.partial && request.require_all_shards()) {
    for (const auto& report : merged.reports) {
      if (report.outcome() != v1::SHARD_OUTCOME_ANSWERED) {
        return absl::UnavailableError(absl::StrCat("shard ", report.shard(),
                                                   " did not answer (require_all_shards): ",
                                                   report.message()));
      }
    }
  }
  const bool want_payload = request.include_text() || request.include_metadata();
  std::map<std::string, v1::Document> payloads;
  if (want_payload && !merged.hits.empty()) {
    std::vector<std::string> ids;
    for (const auto& hit : merged.hits) ids.push_back(hit.id);
    auto docs = core_.pool->WithTransaction(
        [&](pqxx::work& txn) -> absl::StatusOr<std::vector<v1::Document>> {
          return store::GetDocuments(txn, prepared.collection.id, ids);
        });
    if (!docs.ok()) return docs.status();
    for (auto& doc : *docs) payloads[doc.id()] = std::move(doc);
  }
  for (const auto& hit : merged.hits) {
    auto payload = payloads.find(hit.id);
    // Deleted after the shard last caught up: never return it.
    if (want_payload && payload == payloads.end()) continue;
    auto* out = response->add_hits();
    out->set_id(hit.id);
    out->set_score(hit.score);
    out->set_shard(hit.shard);
    if (payload != payloads.end()) {
      if (request.include_text()) out->set_text(payload->second.text());
      if (request.include_metadata()) {
        *out->mutable_metadata() = payload->second.metadata();
        *out->mutable_tags() = payload->second.tags();
      }
    }
  }
  for (auto& report : merged.reports) *response->add_shards() = std::move(report);
  response->set_partial(merged.partial);
  return absl::OkStatus();
}

absl::Status SearchServiceImpl::Run(const v1::SearchRequest& request, Prepared& prepared,
                                    absl::Time deadline, v1::SearchResponse* response) {
  if (prepared.embed_key.has_value()) {
    auto latency_us = Embed(prepared.collection.model, prepared.collection.dimension,
                            {request.text()}, {&prepared}, deadline);
    if (!latency_us.ok()) return latency_us.status();
    response->set_embed_latency_us(*latency_us);
  }
  return Respond(request, prepared, core_.shards->Search(prepared.shard_request, deadline),
                 response);
}

grpc::Status SearchServiceImpl::Search(grpc::ServerContext* context,
                                       const v1::SearchRequest* request,
                                       v1::SearchResponse* response) {
  auto caller = core_.gate->Admit(*context, Scope::kRead);
  QUARRY_RETURN_IF_ERROR(caller.status());
  const absl::Time deadline = Deadline(*context, core_.options.default_deadline);
  // A collection from the cache is checked while the search runs (see
  // CollectionCache); if it was deleted, the search starts over with the
  // collection PostgreSQL now has under that name, or NOT_FOUND. The second
  // round reads PostgreSQL first, so there is no third.
  for (const bool use_cache : {true, false}) {
    auto prepared = Prepare((*caller)->tenant_id, *request, use_cache);
    QUARRY_RETURN_IF_ERROR(prepared.status());
    LiveCheck check(*core_.pool, prepared->from_cache
                                     ? std::vector<int64_t>{prepared->collection.id}
                                     : std::vector<int64_t>{});
    // Even a failure is only reported for a collection known to be live.
    const absl::Status ran = Run(*request, *prepared, deadline, response);
    auto live = check.Live();
    QUARRY_RETURN_IF_ERROR(live.status());
    if (prepared->from_cache && !live->contains(prepared->collection.id)) {
      core_.collection_cache->Forget(prepared->collection);
      response->Clear();
      continue;
    }
    QUARRY_RETURN_IF_ERROR(ran);
    return grpc::Status::OK;
  }
  return ToGrpcStatus(absl::InternalError("search: the collection lookup did not settle"));
}

grpc::Status SearchServiceImpl::SearchBatch(grpc::ServerContext* context,
                                            const v1::SearchBatchRequest* request,
                                            v1::SearchBatchResponse* response) {
  auto caller = core_.gate->Admit(*context, Scope::kRead);
  QUARRY_RETURN_IF_ERROR(caller.status());
  const int n = request->queries_size();
  if (n < 1 || n > kMaxBatchQueries) {
    return ToGrpcStatus(absl::InvalidArgumentError(absl::StrCat(
        "queries: must hold 1 to ", kMaxBatchQueries, " searches, got ", n)));
  }
  const absl::Time deadline = Deadline(*context, core_.options.default_deadline);
  // As in Search: collections from the cache are checked while the batch
  // runs, and if one was deleted the whole batch starts over from PostgreSQL.
  for (const bool use_cache : {true, false}) {
    std::vector<Prepared> prepared;
    int hits = 0;
    for (int i = 0; i < n; ++i) {
      auto one = Prepare((*caller)->tenant_id, request->queries(i), use_cache);
      // A failure names the query it belongs to (queries[2].top_k: ...).
      QUARRY_RETURN_IF_ERROR(ForElement("queries", i, one.status()));
      hits += one->top_k;
      prepared.push_back(*std::move(one));
    }
    // A batch returns no more hits than one Search may.
    if (hits > kMaxTopK) {
      return ToGrpcStatus(absl::InvalidArgumentError(
          absl::StrCat("queries: the top_k of all queries add up to ", hits, ", at most ",
                       kMaxTopK, " (0 counts as ", kDefaultTopK, ")")));
    }
    std::vector<int64_t> cached_ids;
    for (const Prepared& one : prepared) {
      if (one.from_cache) cached_ids.push_back(one.collection.id);
    }
    std::sort(cached_ids.begin(), cached_ids.end());
    cached_ids.erase(std::unique(cached_ids.begin(), cached_ids.end()), cached_ids.end());
    LiveCheck check(*core_.pool, std::move(cached_ids));
    const absl::Status ran = RunBatch(*request, prepared, deadline, response);
    auto live = check.Live();
    QUARRY_RETURN_IF_ERROR(live.status());
    bool stale = false;
    for (const Prepared& one : prepared) {
      if (one.from_cache && !live->contains(one.collection.id)) {
        core_.collection_cache->Forget(one.collection);
        stale = true;
      }
    }
    if (stale) {
      response->Clear();
      continue;
    }
    QUARRY_RETURN_IF_ERROR(ran);
    return grpc::Status::OK;
  }
  return ToGrpcStatus(absl::InternalError("queries: the collection lookups did not settle"));
}

absl::Status SearchServiceImpl::RunBatch(const v1::SearchBatchRequest& request,
                                         std::vector<Prepared>& prepared, absl::Time deadline,
                                         v1::SearchBatchResponse* response) {
  const int n = request.queries_size();
  response->mutable_results()->Reserve(n);
  for (int i = 0; i < n; ++i) response->add_results();

  // Texts not in the query cache: one embedding call per model.
  std::map<std::pair<std::string, int>, std::vector<int>> to_embed;
  for (int i = 0; i < n; ++i) {
    if (prepared[i].embed_key.has_value()) {
      to_embed[{prepared[i].collection.model, prepared[i].collection.dimension}].push_back(i);
    }
  }
  for (const auto& [model, queries] : to_embed) {
    std::vector<std::string> texts;
    std::vector<Prepared*> targets;
    for (int i : queries) {
      texts.push_back(request.queries(i).text());
      targets.push_back(&prepared[i]);
    }
    auto latency_us = Embed(model.first, model.second, texts, targets, deadline);
    if (absl::Status s = ForElement("queries", queries[0], latency_us.status()); !s.ok()) {
      return s;
    }
    for (int i : queries) response->mutable_results(i)->set_embed_latency_us(*latency_us);
  }

  quarry::search::v1::SearchShardBatchRequest shard_batch;
  for (const Prepared& one : prepared) *shard_batch.add_queries() = one.shard_request;
  std::vector<std::vector<ShardAnswer>> answers = core_.shards->SearchBatch(shard_batch, deadline);
  for (int i = 0; i < n; ++i) {
    absl::Status answered = Respond(request.queries(i), prepared[i], std::move(answers[i]),
                                    response->mutable_results(i));
    if (absl::Status s = ForElement("queries", i, answered); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// ----------------------------------------------------------------------- jobs

grpc::Status JobServiceImpl::SubmitJob(grpc::ServerContext* context,
                                       const v1::SubmitJobRequest* request,
                                       v1::SubmitJobResponse* response) {
  auto caller = core_.gate->Admit(*context, Scope::kWrite);
  QUARRY_RETURN_IF_ERROR(caller.status());
  QUARRY_RETURN_IF_ERROR(ValidateSubmitJob(*request, kJobKinds));
  nlohmann::json payload = nlohmann::json::parse(
      request->payload_json().empty() ? "{}" : request->payload_json(), nullptr, false);
  // Collections are named by clients; jobs carry the tenant's collection id,
  // so a job can never reach another tenant's collection.
  std::optional<std::string> collection_name;
  if (request->kind() == "index_documents" || request->kind() == "reindex_collection") {
    if (!payload.contains("collection") || !payload["collection"].is_string()) {
      return ToGrpcStatus(absl::InvalidArgumentError(
          "payload_json.collection: a collection name is required for this kind"));
    }
    collection_name = payload["collection"].get<std::string>();
    payload.erase("collection");
  } else if (payload.contains("collection_id")) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        "payload_json.collection_id: name the collection with \"collection\" instead"));
  }
  jobqueue::JobSpec spec;
  spec.tenant_id = (*caller)->tenant_id;
  spec.kind = request->kind();
  spec.priority = request->priority();
  if (request->has_run_at()) {
    spec.run_at = absl::FromUnixSeconds(request->run_at().seconds()) +
                  absl::Nanoseconds(request->run_at().nanos());
  }
  spec.max_attempts = request->max_attempts() == 0 ? kDefaultMaxAttempts : request->max_attempts();
  spec.idempotency_key = request->idempotency_key();
  // The job and the collection it names are checked in one transaction, as
  // writes of documents are (LockCollection).
  auto result = core_.pool->WithTransaction(
      [&](pqxx::work& txn) -> absl::StatusOr<jobqueue::pgjobs::EnqueueResult> {
        if (collection_name.has_value()) {
          auto collection = LockCollection(txn, (*caller)->tenant_id, *collection_name);
          if (!collection.ok()) return collection.status();
          payload["collection_id"] = collection->id;
        }
        spec.payload_json = payload.dump();
        return jobqueue::pgjobs::Enqueue(txn, spec);
      });
  QUARRY_RETURN_IF_ERROR(result.status());
  ToProto(result->job, response->mutable_job());
  response->set_created(result->created);
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::GetJob(grpc::ServerContext* context, const v1::GetJobRequest* request,
                                    v1::GetJobResponse* response) {
  auto caller = core_.gate->Admit(*context, Scope::kRead);
  QUARRY_RETURN_IF_ERROR(caller.status());
  auto id = ParseJobId(request->id());
  QUARRY_RETURN_IF_ERROR(id.status());
  auto job = core_.jobs->Get((*caller)->tenant_id, *id);
  QUARRY_RETURN_IF_ERROR(job.status());
  ToProto(*job, response->mutable_job());
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::ListJobs(grpc::ServerContext* context,
                                      const v1::ListJobsRequest* request,
                                      v1::ListJobsResponse* response) {
  auto caller = core_.gate->Admit(*context, Scope::kRead);
  QUARRY_RETURN_IF_ERROR(caller.status());
  QUARRY_RETURN_IF_ERROR(ValidateListJobs(*request, kJobKinds));
  auto size = PageSize("page", request->page());
  QUARRY_RETURN_IF_ERROR(size.status());
  auto cursor = DecodePageToken("page.page_token", "jobs", request->page().page_token());
  QUARRY_RETURN_IF_ERROR(cursor.status());
  jobqueue::pgjobs::ListFilter filter;
  if (!cursor->empty() && !absl::SimpleAtoi(*cursor, &filter.before_id)) {
    return ToGrpcStatus(absl::InvalidArgumentError("page.page_token: malformed cursor"));
  }
  for (int state : request->states()) {
    switch (static_cast<v1::JobState>(state)) {
      case v1::JOB_STATE_QUEUED: filter.states.push_back(jobqueue::JobState::kQueued); break;
      case v1::JOB_STATE_RUNNING: filter.states.push_back(jobqueue::JobState::kRunning); break;
      case v1::JOB_STATE_SUCCEEDED: filter.states.push_back(jobqueue::JobState::kSucceeded); break;
      case v1::JOB_STATE_DEAD: filter.states.push_back(jobqueue::JobState::kDead); break;
      case v1::JOB_STATE_CANCELLED: filter.states.push_back(jobqueue::JobState::kCancelled); break;
      default:
        return ToGrpcStatus(
            absl::InvalidArgumentError(absl::StrCat("states: unknown job state ", state)));
    }
  }
  filter.kind = request->kind();
  filter.limit = *size + 1;
  auto jobs = core_.jobs->List((*caller)->tenant_id, filter);
  QUARRY_RETURN_IF_ERROR(jobs.status());
  for (int i = 0; i < std::min<int>(*size, jobs->size()); ++i) {
    ToProto((*jobs)[i], response->add_jobs());
  }
  if (static_cast<int>(jobs->size()) > *size) {
    response->mutable_page()->set_next_page_token(
        EncodePageToken("jobs", absl::StrCat((*jobs)[*size - 1].id)));
  }
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::CancelJob(grpc::ServerContext* context,
                                       const v1::CancelJobRequest* request,
                                       v1::CancelJobResponse* response) {
  auto caller = core_.gate->Admit(*context, Scope::kWrite);
  QUARRY_RETURN_IF_ERROR(caller.status());
  auto id = ParseJobId(request->id());
  QUARRY_RETURN_IF_ERROR(id.status());
  auto before = core_.jobs->Get((*caller)->tenant_id, *id);
  QUARRY_RETURN_IF_ERROR(before.status());
  if (jobqueue::IsTerminal(before->state)) {
    return ToGrpcStatus(absl::FailedPreconditionError(absl::StrCat(
        "job ", *id, " already ended (", jobqueue::JobStateName(before->state), ")")));
  }
  auto job = core_.jobs->Cancel((*caller)->tenant_id, *id);
  QUARRY_RETURN_IF_ERROR(job.status());
  ToProto(*job, response->mutable_job());
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::RetryJob(grpc::ServerContext* context,
                                      const v1::RetryJobRequest* request,
                                      v1::RetryJobResponse* response) {
  auto caller = core_.gate->Admit(*context, Scope::kAdmin);
  QUARRY_RETURN_IF_ERROR(caller.status());
  auto id = ParseJobId(request->id());
  QUARRY_RETURN_IF_ERROR(id.status());
  auto before = core_.jobs->Get((*caller)->tenant_id, *id);
  QUARRY_RETURN_IF_ERROR(before.status());
  if (before->state != jobqueue::JobState::kDead) {
    return ToGrpcStatus(absl::FailedPreconditionError(absl::StrCat(
        "only dead jobs can be re-driven; job ", *id, " is ",
        jobqueue::JobStateName(before->state))));
  }
  auto job = core_.jobs->Retry((*caller)->tenant_id, *id);
  QUARRY_RETURN_IF_ERROR(job.status());
  ToProto(*job, response->mutable_job());
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::WatchJob(grpc::ServerContext* context,
                                      const v1::WatchJobRequest* request,
                                      grpc::ServerWriter<v1::WatchJobResponse>* writer) {
  auto caller = core_.gate->Admit(*context, Scope::kRead);
  QUARRY_RETURN_IF_ERROR(caller.status());
  auto id = ParseJobId(request->id());
  QUARRY_RETURN_IF_ERROR(id.status());
  std::string last_sent;
  while (!context->IsCancelled()) {
    const uint64_t version = core_.watch_hub->Version(*id);
    auto job = core_.jobs->Get((*caller)->tenant_id, *id);
    QUARRY_RETURN_IF_ERROR(job.status());
    v1::WatchJobResponse update;
    ToProto(*job, update.mutable_job());
    // Send only changes: state, progress, message, cancellation.
    const std::string fingerprint =
        absl::StrCat(update.job().state(), "/", update.job().progress(), "/",
                     update.job().progress_message(), "/", update.job().cancel_requested(), "/",
                     update.job().attempts());
    if (fingerprint != last_sent) {
      if (!writer->Write(update)) return grpc::Status::CANCELLED;
      last_sent = fingerprint;
    }
    if (jobqueue::IsTerminal(job->state)) return grpc::Status::OK;
    core_.watch_hub->Wait(*id, version, absl::Seconds(1));
  }
  return grpc::Status(grpc::StatusCode::CANCELLED, "watch cancelled by the client");
}

// ---------------------------------------------------------------------- stats

grpc::Status StatsServiceImpl::GetCollectionStats(grpc::ServerContext* context,
                                                  const v1::GetCollectionStatsRequest* request,
                                                  v1::GetCollectionStatsResponse* response) {
  auto caller = core_.gate->Admit(*context, Scope::kRead);
  QUARRY_RETURN_IF_ERROR(caller.status());
  QUARRY_RETURN_IF_ERROR(ValidateCollectionName("collection", request->collection()));
  auto collection = FindCollection(*core_.pool, (*caller)->tenant_id, request->collection());
  QUARRY_RETURN_IF_ERROR(collection.status());
  auto stats = core_.pool->WithTransaction(
      [&](pqxx::work& txn) -> absl::StatusOr<store::CollectionStats> {
        return store::GetCollectionStats(txn, collection->id);
      });
  QUARRY_RETURN_IF_ERROR(stats.status());
  response->set_documents(stats->documents);
  response->set_indexed(stats->indexed);
  response->set_pending(stats->pending);
  response->set_deleted(stats->deleted);
  response->set_latest_sequence(stats->latest_sequence);
  // Best effort: stats still answer while a shard is down.
  auto watermark = core_.shards->MinWatermark(absl::Now() + absl::Seconds(2));
  response->set_min_watermark(watermark.ok() ? *watermark : -1);
  return grpc::Status::OK;
}

grpc::Status StatsServiceImpl::GetJobStats(grpc::ServerContext* context,
                                           const v1::GetJobStatsRequest* request,
                                           v1::GetJobStatsResponse* response) {
  auto caller = core_.gate->Admit(*context, Scope::kRead);
  QUARRY_RETURN_IF_ERROR(caller.status());
  auto rows = core_.pool->WithTransaction(
      [&](pqxx::work& txn) -> absl::StatusOr<std::vector<store::JobKindStatsRow>> {
        return store::JobStats(txn, (*caller)->tenant_id);
      });
  QUARRY_RETURN_IF_ERROR(rows.status());
  for (const auto& row : *rows) {
    auto* out = response->add_kinds();
    out->set_kind(row.kind);
    out->set_queued(row.queued);
    out->set_running(row.running);
    out->set_succeeded(row.succeeded);
    out->set_dead(row.dead);
    out->set_cancelled(row.cancelled);
    out->set_success_rate(row.success_rate);
    out->set_mean_attempts(row.mean_attempts);
    response->set_refreshed_at(row.refreshed_at);
  }
  return grpc::Status::OK;
}

// ---------------------------------------------------------------------- admin

namespace {

// `limit`: the one in force (Gatekeeper::LimitInForce), not what is stored,
// which is nothing for a key on the defaults.
void ToProto(const store::KeyRecord& key, const RateLimit& limit, v1::ApiKey* out) {
  out->set_id(key.id);
  out->set_name(key.name);
  for (const std::string& scope : key.scopes) {
    out->add_scopes(scope == "admin"   ? v1::SCOPE_ADMIN
                    : scope == "write" ? v1::SCOPE_WRITE
                                       : v1::SCOPE_READ);
  }
  out->set_rate_limit_per_second(limit.rate_per_second);
  out->set_burst(limit.burst);
  SetTime(key.created_at, out->mutable_create_time());
  if (key.revoked_at) SetTime(*key.revoked_at, out->mutable_revoke_time());
}

}  // namespace

grpc::Status AdminServiceImpl::CreateApiKey(grpc::ServerContext* context,
                                            const v1::CreateApiKeyRequest* request,
                                            v1::CreateApiKeyResponse* response) {
  auto caller = core_.gate->Admit(*context, Scope::kAdmin);
  QUARRY_RETURN_IF_ERROR(caller.status());
  QUARRY_RETURN_IF_ERROR(ValidateCreateApiKey(*request));
  const NewApiKey secret = GenerateApiKey();
  store::KeyRecord key;
  key.id = secret.id;
  key.tenant_id = (*caller)->tenant_id;
  key.name = request->key().name();
  for (int scope : request->key().scopes()) {
    key.scopes.push_back(scope == v1::SCOPE_ADMIN   ? "admin"
                         : scope == v1::SCOPE_WRITE ? "write"
                                                    : "read");
  }
  if (key.scopes.empty()) key.scopes.push_back("read");
  if (request->key().rate_limit_per_second() > 0) {
    key.rate_limit_per_second = request->key().rate_limit_per_second();
  }
  if (request->key().burst() > 0) key.burst = request->key().burst();
  auto stored = core_.pool->WithTransaction([&](pqxx::work& txn) -> absl::StatusOr<store::KeyRecord> {
    return store::InsertKey(txn, key, secret.hash);
  });
  QUARRY_RETURN_IF_ERROR(stored.status());
  ToProto(*stored, core_.gate->LimitInForce(*stored), response->mutable_key());
  response->set_secret(secret.secret);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::ListApiKeys(grpc::ServerContext* context,
                                           const v1::ListApiKeysRequest* request,
                                           v1::ListApiKeysResponse* response) {
  auto caller = core_.gate->Admit(*context, Scope::kAdmin);
  QUARRY_RETURN_IF_ERROR(caller.status());
  auto keys = core_.pool->WithTransaction(
      [&](pqxx::work& txn) -> absl::StatusOr<std::vector<store::KeyRecord>> {
        return store::ListKeys(txn, (*caller)->tenant_id);
      });
  QUARRY_RETURN_IF_ERROR(keys.status());
  for (const auto& key : *keys) ToProto(key, core_.gate->LimitInForce(key), response->add_keys());
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::RevokeApiKey(grpc::ServerContext* context,
                                            const v1::RevokeApiKeyRequest* request,
                                            v1::RevokeApiKeyResponse* response) {
  auto caller = core_.gate->Admit(*context, Scope::kAdmin);
  QUARRY_RETURN_IF_ERROR(caller.status());
  QUARRY_RETURN_IF_ERROR(ValidateApiKeyId("id", request->id()));
  auto key = core_.pool->WithTransaction(
      [&](pqxx::work& txn) -> absl::StatusOr<std::optional<store::KeyRecord>> {
        return store::RevokeKey(txn, (*caller)->tenant_id, request->id());
      });
  QUARRY_RETURN_IF_ERROR(key.status());
  if (!key->has_value()) {
    return ToGrpcStatus(absl::NotFoundError(absl::StrCat("API key ", request->id(), " not found")));
  }
  ToProto(**key, core_.gate->LimitInForce(**key), response->mutable_key());
  return grpc::Status::OK;
}

}  // namespace quarry::gateway
