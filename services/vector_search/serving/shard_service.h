#ifndef QUARRY_SERVICES_VECTOR_SEARCH_SERVING_SHARD_SERVICE_H_
#define QUARRY_SERVICES_VECTOR_SEARCH_SERVING_SHARD_SERVICE_H_

#include <functional>

#include "quarry/search/v1/shard_service.grpc.pb.h"
#include "services/common/telemetry/metrics.h"
#include "services/vector_search/serving/shard_state.h"

namespace quarry::vector_search {

struct ShardInfo {
  uint32_t shard_index = 0;
  uint32_t shard_count = 1;
  // Whether the replica has caught up (what health reports).
  std::function<bool()> ready;
  // The database's latest seq and when the replica last caught up, for lag.
  std::function<int64_t()> latest_seen;
  std::function<absl::Time()> last_caught_up;
};

// quarry.search.v1.ShardService over a ShardState: validation, then the index.
class ShardServiceImpl final : public quarry::search::v1::ShardService::Service {
 public:
  // `metrics` may be null.
  ShardServiceImpl(const ShardState& state, ShardInfo info, telemetry::Metrics* metrics);

  grpc::Status SearchShard(grpc::ServerContext* context,
                           const quarry::search::v1::SearchShardRequest* request,
                           quarry::search::v1::SearchShardResponse* response) override;
  grpc::Status SearchShardBatch(grpc::ServerContext* context,
                                const quarry::search::v1::SearchShardBatchRequest* request,
                                quarry::search::v1::SearchShardBatchResponse* response) override;
  grpc::Status GetShardStatus(grpc::ServerContext* context,
                              const quarry::search::v1::GetShardStatusRequest* request,
                              quarry::search::v1::GetShardStatusResponse* response) override;
  grpc::Status WaitForWatermark(grpc::ServerContext* context,
                                const quarry::search::v1::WaitForWatermarkRequest* request,
                                quarry::search::v1::WaitForWatermarkResponse* response) override;

 private:
  // One search: validation, the index, the latency histogram.
  absl::Status Search(const quarry::search::v1::SearchShardRequest& request,
                      quarry::search::v1::SearchShardResponse* response);

  const ShardState& state_;
  const ShardInfo info_;
  telemetry::Metrics* const metrics_;
};

// Validates a search request against the collection's dimension: k in
// [1, kMaxTopK], effort 0 or in [k, kMaxEffort] (services/common/model/limits.h,
// the gateway's limits), a non-empty finite vector of the right
// dimension, a finite min_score. INVALID_ARGUMENT naming the field.
absl::Status ValidateSearchShard(const quarry::search::v1::SearchShardRequest& request,
                                 uint32_t dimension);

}  // namespace quarry::vector_search

#endif  // QUARRY_SERVICES_VECTOR_SEARCH_SERVING_SHARD_SERVICE_H_
