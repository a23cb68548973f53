#ifndef QUARRY_SERVICES_GATEWAY_SHARDS_H_
#define QUARRY_SERVICES_GATEWAY_SHARDS_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "quarry/search/v1/shard_service.grpc.pb.h"
#include "services/gateway/merge.h"

namespace quarry::gateway {

// "a;b" (one gRPC target per shard; a target may name several replicas, e.g.
// "ipv4:127.0.0.1:50071,127.0.0.1:50072") or, without ';', "a,b" (one
// dns:/// target per shard, as in Kubernetes).
std::vector<std::string> SplitShardTargets(const std::string& flag);

// When a shard search must have answered for a call due at `call_deadline`:
// a little earlier (a tenth of the time left, between 20 and 250 ms), leaving
// the gateway time to merge, fetch payloads and reply before the caller gives
// up. A shard that times out then costs its hits, not the whole call.
absl::Time ShardCallDeadline(absl::Time now, absl::Time call_deadline);

// The vector-search shards: one channel per shard, balanced over its
// healthy replicas by the channel itself.
class ShardFanout {
 public:
  explicit ShardFanout(std::vector<std::shared_ptr<grpc::Channel>> channels);

  size_t shard_count() const { return stubs_.size(); }

  // Searches every shard in parallel, each call bounded by
  // ShardCallDeadline(now, deadline), so that a shard that does not answer
  // (stalled, partitioned away) is reported as timed out while the caller
  // still has time to answer with the others; returns one answer per shard
  // (failures included, in the answer).
  std::vector<ShardAnswer> Search(const quarry::search::v1::SearchShardRequest& request,
                                  absl::Time deadline);

  // As Search, for several queries: one SearchShardBatch call per shard.
  // Returns, per query in request order, one answer per shard; a shard whose
  // batch call failed gives every query the same failure.
  std::vector<std::vector<ShardAnswer>> SearchBatch(
      const quarry::search::v1::SearchShardBatchRequest& request, absl::Time deadline);

  // Waits until every shard's watermark reaches `sequence` (read-your-writes).
  // DEADLINE_EXCEEDED at the deadline; UNAVAILABLE naming a shard that failed.
  absl::Status WaitForWatermark(int64_t sequence, absl::Time deadline);

  // The lowest watermark over the shards, or an error if one did not answer.
  absl::StatusOr<int64_t> MinWatermark(absl::Time deadline);

 private:
  std::vector<std::unique_ptr<quarry::search::v1::ShardService::Stub>> stubs_;
};

}  // namespace quarry::gateway

#endif  // QUARRY_SERVICES_GATEWAY_SHARDS_H_
