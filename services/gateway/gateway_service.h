#ifndef QUARRY_SERVICES_GATEWAY_GATEWAY_SERVICE_H_
#define QUARRY_SERVICES_GATEWAY_GATEWAY_SERVICE_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "quarry/gateway/v1/admin_service.grpc.pb.h"
#include "quarry/gateway/v1/collection_service.grpc.pb.h"
#include "quarry/gateway/v1/document_service.grpc.pb.h"
#include "quarry/gateway/v1/job_service.grpc.pb.h"
#include "quarry/gateway/v1/search_service.grpc.pb.h"
#include "quarry/gateway/v1/stats_service.grpc.pb.h"
#include "services/common/cache/lru_cache.h"
#include "services/common/embedding_client/embedding_client.h"
#include "services/common/pg/pool.h"
#include "services/common/telemetry/metrics.h"
#include "services/gateway/auth.h"
#include "services/gateway/job_watch_hub.h"
#include "services/gateway/shards.h"
#include "services/gateway/store.h"
#include "services/jobqueue/pg_job_queue.h"

namespace quarry::gateway {

// Recently looked-up collections for the search path, so that a search can
// embed its query and fan out to the shards without waiting for PostgreSQL.
//
// An entry may be stale: another gateway may have deleted the collection (and
// a client re-created the name) a moment ago. Invalidation cannot fix that in
// time: a delete returns to its client as soon as it commits, and a LISTEN /
// NOTIFY message (or any message) reaches the other gateways some time later,
// so a search arriving there just after the delete returned would still use
// the dead collection. Only asking PostgreSQL during the request is
// authoritative. So the cache only saves waiting: a search from the cache
// checks, while it embeds and fans out, that the collection is still live,
// and starts over from PostgreSQL when it is not (SearchServiceImpl).
// Writes never use it: they look the collection up and lock its row inside
// their own transaction (store::LockLiveCollection), which costs the one
// statement a check of a cached entry would cost anyway.
class CollectionCache {
 public:
  explicit CollectionCache(absl::Duration ttl) : ttl_(ttl) {}
  std::optional<store::CollectionRecord> Get(int64_t tenant_id, const std::string& name);
  void Put(const store::CollectionRecord& collection);
  // Drops the entry of `collection`'s name if it still holds that collection
  // (not a newer one of the same name that another call has put meanwhile).
  void Forget(const store::CollectionRecord& collection);

 private:
  const absl::Duration ttl_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::pair<int64_t, std::string>,
                      std::pair<store::CollectionRecord, absl::Time>>
      entries_ ABSL_GUARDED_BY(mu_);
};

struct GatewayOptions {
  // Deadline used when a client sends none.
  absl::Duration default_deadline = absl::Seconds(30);
  // Purge of a deleted collection's documents runs this long after the delete,
  // once every replica has certainly dropped them.
  absl::Duration purge_delay = absl::Hours(1);
};

// What every public service of the gateway shares. Not owned.
struct GatewayCore {
  pg::Pool* pool;
  jobqueue::PgJobQueue* jobs;
  EmbeddingClient* embedder;
  ShardFanout* shards;
  Gatekeeper* gate;
  JobWatchHub* watch_hub;
  LruCache<std::vector<float>, FloatVectorSizer>* query_cache;
  CollectionCache* collection_cache;
  telemetry::Metrics* metrics;  // may be null
  GatewayOptions options;
};

// The public API, one thin adapter per service: admit (key, rate, scope),
// validate, do the work through the stores and clients, map the status.
class CollectionServiceImpl final : public quarry::gateway::v1::CollectionService::Service {
 public:
  explicit CollectionServiceImpl(GatewayCore core) : core_(core) {}
  grpc::Status CreateCollection(grpc::ServerContext*, const v1::CreateCollectionRequest*,
                                v1::CreateCollectionResponse*) override;
  grpc::Status GetCollection(grpc::ServerContext*, const v1::GetCollectionRequest*,
                             v1::GetCollectionResponse*) override;
  grpc::Status ListCollections(grpc::ServerContext*, const v1::ListCollectionsRequest*,
                               v1::ListCollectionsResponse*) override;
  grpc::Status DeleteCollection(grpc::ServerContext*, const v1::DeleteCollectionRequest*,
                                v1::DeleteCollectionResponse*) override;

 private:
  GatewayCore core_;
};

class DocumentServiceImpl final : public quarry::gateway::v1::DocumentService::Service {
 public:
  explicit DocumentServiceImpl(GatewayCore core) : core_(core) {}
  grpc::Status UpsertDocuments(grpc::ServerContext*, const v1::UpsertDocumentsRequest*,
                               v1::UpsertDocumentsResponse*) override;
  grpc::Status GetDocuments(grpc::ServerContext*, const v1::GetDocumentsRequest*,
                            v1::GetDocumentsResponse*) override;
  grpc::Status DeleteDocuments(grpc::ServerContext*, const v1::DeleteDocumentsRequest*,
                               v1::DeleteDocumentsResponse*) override;

 private:
  GatewayCore core_;
};

class SearchServiceImpl final : public quarry::gateway::v1::SearchService::Service {
 public:
  explicit SearchServiceImpl(GatewayCore core) : core_(core) {}
  grpc::Status Search(grpc::ServerContext*, const v1::SearchRequest*,
                      v1::SearchResponse*) override;
  // Counts as one call against the key's rate limit, as an upsert of many
  // documents does.
  grpc::Status SearchBatch(grpc::ServerContext*, const v1::SearchBatchRequest*,
                           v1::SearchBatchResponse*) override;

 private:
  // A validated query on its way to the shards.
  struct Prepared {
    store::CollectionRecord collection;
    quarry::search::v1::SearchShardRequest shard_request;  // vector empty until embedded
    int top_k = 0;
    // Text queries whose vector was not cached: the query cache's key.
    std::optional<std::string> embed_key;
    // The collection came from the CollectionCache and must be checked.
    bool from_cache = false;
  };

  // Validation, the collection (from the CollectionCache if `use_cache`,
  // else from PostgreSQL), and the query vector when it is given or cached.
  absl::StatusOr<Prepared> Prepare(int64_t tenant_id, const v1::SearchRequest& request,
                                   bool use_cache);
  // Embedding, fan-out and merge of one prepared query.
  absl::Status Run(const v1::SearchRequest& request, Prepared& prepared, absl::Time deadline,
                   v1::SearchResponse* response);
  // The same for a batch, one embedding call per model and one shard call.
  absl::Status RunBatch(const v1::SearchBatchRequest& request, std::vector<Prepared>& prepared,
                        absl::Time deadline, v1::SearchBatchResponse* response);
  // Embeds `texts` with one model (one call), caches each vector under its
  // query's embed_key and completes that query's shard request. Returns the
  // call's latency in microseconds.
  absl::StatusOr<uint32_t> Embed(const std::string& model, int dimension,
                                 const std::vector<std::string>& texts,
                                 const std::vector<Prepared*>& queries, absl::Time deadline);
  // Merges the shards' answers and fetches payloads into `response`.
  absl::Status Respond(const v1::SearchRequest& request, const Prepared& prepared,
                       std::vector<ShardAnswer> answers, v1::SearchResponse* response);

  GatewayCore core_;
};

class JobServiceImpl final : public quarry::gateway::v1::JobService::Service {
 public:
  explicit JobServiceImpl(GatewayCore core) : core_(core) {}
  grpc::Status SubmitJob(grpc::ServerContext*, const v1::SubmitJobRequest*,
                         v1::SubmitJobResponse*) override;
  grpc::Status GetJob(grpc::ServerContext*, const v1::GetJobRequest*, v1::GetJobResponse*) override;
  grpc::Status ListJobs(grpc::ServerContext*, const v1::ListJobsRequest*,
                        v1::ListJobsResponse*) override;
  grpc::Status CancelJob(grpc::ServerContext*, const v1::CancelJobRequest*,
                         v1::CancelJobResponse*) override;
  grpc::Status RetryJob(grpc::ServerContext*, const v1::RetryJobRequest*,
                        v1::RetryJobResponse*) override;
  grpc::Status WatchJob(grpc::ServerContext*, const v1::WatchJobRequest*,
                        grpc::ServerWriter<v1::WatchJobResponse>*) override;

 private:
  GatewayCore core_;
};

class StatsServiceImpl final : public quarry::gateway::v1::StatsService::Service {
 public:
  explicit StatsServiceImpl(GatewayCore core) : core_(core) {}
  grpc::Status GetCollectionStats(grpc::ServerContext*, const v1::GetCollectionStatsRequest*,
                                  v1::GetCollectionStatsResponse*) override;
  grpc::Status GetJobStats(grpc::ServerContext*, const v1::GetJobStatsRequest*,
                           v1::GetJobStatsResponse*) override;

 private:
  GatewayCore core_;
};

class AdminServiceImpl final : public quarry::gateway::v1::AdminService::Service {
 public:
  explicit AdminServiceImpl(GatewayCore core) : core_(core) {}
  grpc::Status CreateApiKey(grpc::ServerContext*, const v1::CreateApiKeyRequest*,
                            v1::CreateApiKeyResponse*) override;
  grpc::Status ListApiKeys(grpc::ServerContext*, const v1::ListApiKeysRequest*,
                           v1::ListApiKeysResponse*) override;
  grpc::Status RevokeApiKey(grpc::ServerContext*, const v1::RevokeApiKeyRequest*,
                            v1::RevokeApiKeyResponse*) override;

 private:
  GatewayCore core_;
};

}  // namespace quarry::gateway

#endif  // QUARRY_SERVICES_GATEWAY_GATEWAY_SERVICE_H_
