#ifndef QUARRY_SERVICES_GATEWAY_SHARDS_H_
#define QUARRY_SERVICES_GATEWAY_SHARDS_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "quarry/search/v1/shard_service.grpc.pb.h"
#include "services/gateway/core/stores.h"
#include "services/gateway/merge.h"
#include "services/gateway/replica_set.h"

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

// The vector-search shards. Searches go through one channel per shard,
// balanced over its healthy replicas by the channel itself; a read-your-writes
// wait goes to every replica of every shard, each on its own channel, since
// the search that follows may land on any of them.
class ShardFanout final : public ShardClient {
 public:
  // One shard per target, in shard order (see ParseReplicaTargets for the
  // forms). `balanced_channel` makes a shard's search channel from its
  // target; `replica_channel` a channel to one replica that does not skip
  // it for its health (see ReplicaSet). INVALID_ARGUMENT naming a target
  // whose replicas cannot be listed.
  static absl::StatusOr<std::unique_ptr<ShardFanout>> Create(
      const std::vector<std::string>& targets, const ChannelFactory& balanced_channel,
      const ChannelFactory& replica_channel);

  size_t shard_count() const { return stubs_.size(); }

  // Searches every shard in parallel, each call bounded by
  // ShardCallDeadline(now, deadline), so that a shard that does not answer
  // (stalled, partitioned away) is reported as timed out while the caller
  // still has time to answer with the others; returns one answer per shard
  // (failures included, in the answer).
  std::vector<ShardAnswer> Search(const quarry::search::v1::SearchShardRequest& request,
                                  absl::Time deadline) override;

  // As Search, for several queries: one SearchShardBatch call per shard.
  // Returns, per query in request order, one answer per shard; a shard whose
  // batch call failed gives every query the same failure.
  std::vector<std::vector<ShardAnswer>> SearchBatch(
      const quarry::search::v1::SearchShardBatchRequest& request, absl::Time deadline) override;

  // Waits until the watermark of every replica of every shard reaches
  // `sequence` (read-your-writes: whichever replica answers the next search
  // has applied the write). A dns: shard target is resolved again for each
  // wait, so replicas that came up since are included. DEADLINE_EXCEEDED at
  // the deadline and UNAVAILABLE for any other failure, both naming the
  // shard and the replica's address.
  absl::Status WaitForWatermark(int64_t sequence, absl::Time deadline) override;

  // The lowest watermark over the shards (one replica of each, through the
  // balanced channel), or an error if one did not answer.
  absl::StatusOr<int64_t> MinWatermark(absl::Time deadline) override;

 private:
  ShardFanout() = default;

  // Per shard, in shard order.
  std::vector<std::unique_ptr<quarry::search::v1::ShardService::Stub>> stubs_;
  std::vector<std::unique_ptr<ReplicaSet>> replicas_;
};

}  // namespace quarry::gateway

#endif  // QUARRY_SERVICES_GATEWAY_SHARDS_H_
