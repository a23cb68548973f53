#ifndef QUARRY_SERVICES_GATEWAY_CORE_SEARCH_H_
#define QUARRY_SERVICES_GATEWAY_CORE_SEARCH_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "quarry/gateway/v1/search_service.pb.h"
#include "services/common/cache/lru_cache.h"
#include "services/common/embedding_client/embedding_client.h"
#include "services/gateway/core/catalog.h"
#include "services/gateway/core/stores.h"

namespace quarry::gateway {

// A search: validate, resolve the collection (CollectionCache, checked
// against PostgreSQL while the search runs), the query vector (given, from
// the query LRU, or embedded), fan out to every shard, merge the answers
// (merge.h) and fetch the payloads asked for.
class Searcher {
 public:
  Searcher(CollectionStore& collections, DocumentStore& documents, EmbeddingClient& embedder,
           ShardClient& shards, CollectionCache& collection_cache,
           LruCache<std::vector<float>, FloatVectorSizer>& query_cache)
      : collections_(collections),
        documents_(documents),
        embedder_(embedder),
        shards_(shards),
        collection_cache_(collection_cache),
        query_cache_(query_cache) {}

  absl::Status Search(int64_t tenant_id, const quarry::gateway::v1::SearchRequest& request,
                      absl::Time deadline, quarry::gateway::v1::SearchResponse* response);
  // As Search for up to kMaxBatchQueries queries: one embedding call per
  // model and one shard call per shard. A failure names its query.
  absl::Status SearchBatch(int64_t tenant_id,
                           const quarry::gateway::v1::SearchBatchRequest& request,
                           absl::Time deadline, quarry::gateway::v1::SearchBatchResponse* response);

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
  absl::StatusOr<Prepared> Prepare(int64_t tenant_id,
                                   const quarry::gateway::v1::SearchRequest& request,
                                   bool use_cache);
  // Embedding, fan-out and merge of one prepared query.
  absl::Status Run(const quarry::gateway::v1::SearchRequest& request, Prepared& prepared,
                   absl::Time deadline, quarry::gateway::v1::SearchResponse* response);
  // The same for a batch, one embedding call per model and one shard call.
  absl::Status RunBatch(const quarry::gateway::v1::SearchBatchRequest& request,
                        std::vector<Prepared>& prepared, absl::Time deadline,
                        quarry::gateway::v1::SearchBatchResponse* response);
  // Embeds `texts` with one model (one call), caches each vector under its
  // query's embed_key and completes that query's shard request. Returns the
  // call's latency in microseconds.
  absl::StatusOr<uint32_t> Embed(const std::string& model, int dimension,
                                 const std::vector<std::string>& texts,
                                 const std::vector<Prepared*>& queries, absl::Time deadline);
  // Merges the shards' answers and fetches payloads into `response`.
  absl::Status Respond(const quarry::gateway::v1::SearchRequest& request,
                       const Prepared& prepared, std::vector<ShardAnswer> answers,
                       quarry::gateway::v1::SearchResponse* response);

  CollectionStore& collections_;
  DocumentStore& documents_;
  EmbeddingClient& embedder_;
  ShardClient& shards_;
  CollectionCache& collection_cache_;
  LruCache<std::vector<float>, FloatVectorSizer>& query_cache_;
};

}  // namespace quarry::gateway

#endif  // QUARRY_SERVICES_GATEWAY_CORE_SEARCH_H_
