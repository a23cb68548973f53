#ifndef QUARRY_SERVICES_VECTOR_SEARCH_SERVING_REPLICA_H_
#define QUARRY_SERVICES_VECTOR_SEARCH_SERVING_REPLICA_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "services/common/pg/pool.h"
#include "services/common/telemetry/logger.h"
#include "services/common/telemetry/metrics.h"
#include "services/vector_search/hnsw_index.h"
#include "services/vector_search/serving/shard_service.h"
#include "services/vector_search/serving/shard_state.h"
#include "services/vector_search/serving/tailer.h"

namespace quarry::vector_search {

// How one replica of one shard keeps itself: which shard, where its
// snapshots live and how often they are written, how its indexes are built.
// Filled from the service's flags (VectorSearchOptions) and checked there.
struct ReplicaOptions {
  // This replica's shard, in [0, shard_count).
  uint32_t shard_index = 0;
  uint32_t shard_count = 1;
  // Where snapshots live (one subdirectory per shard, see snapshot_dir());
  // empty: no snapshots.
  std::string data_dir;
  // Mean time between snapshots; each interval is jittered by +/-20%.
  absl::Duration snapshot_interval = absl::Minutes(10);
  // Snapshots older than this are ignored (rebuild from PostgreSQL): the
  // workers purge tombstones older than their --purge_retention, so an older
  // snapshot could bring deleted documents back.
  absl::Duration snapshot_max_age = absl::Hours(1);
  // The graph parameters of every index (m, ef_construction, default_ef,
  // quantize_int8); dimension and metric come per collection.
  HnswOptions index;

  // data_dir/shard-<index>-of-<count>, or empty when data_dir is: a
  // different sharding never reads another's snapshot.
  std::string snapshot_dir() const;
};

// One vector-search replica: its ShardState (loaded from a fresh, intact
// snapshot when there is one), the tailer that keeps it up to date with
// PostgreSQL, the ShardService over it, and housekeeping (stats gauges,
// periodic snapshots). The start-up contract is the caller's sequence:
//
//   Replica replica(options, pool, database_url, logger, metrics);
//   auto server = runtime->StartServer({&replica.service()});  // NOT_SERVING
//   replica.CatchUpAndStart();   // blocks until caught up as of now
//   server->SetServing(true);    // only now may gateways send searches
//   runtime->ServeUntilSignal(signals, *server, [&] { replica.Drain(); });
class Replica {
 public:
  // `pool`, `logger` and `metrics` must outlive the replica. `database_url`
  // is for the tailer's LISTEN connection.
  Replica(const ReplicaOptions& options, pg::Pool& pool, std::string database_url,
          telemetry::Logger& logger, telemetry::Metrics& metrics);
  // Stops housekeeping if Drain() has not.
  ~Replica();

  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  // The gRPC service; reports not ready until CatchUpAndStart() returns.
  ShardServiceImpl& service() { return service_; }
  const ShardState& state() const { return *state_; }

  // Catches up with the change log as of the call, retrying with backoff
  // (200 ms doubling to 5 s) while PostgreSQL is unavailable, then starts
  // tailing and housekeeping and reports ready. Blocks until caught up.
  void CatchUpAndStart();

  // Stops housekeeping and writes a last snapshot (when snapshots are on),
  // so the next start only catches up on what came after. Call once, while
  // draining; the tailer keeps running until destruction.
  void Drain();

 private:
  // An empty state, or the snapshot in snapshot_dir() when it is fresh and
  // intact (a damaged one is never served: start empty and rebuild).
  static std::unique_ptr<ShardState> LoadState(const ReplicaOptions& options,
                                               telemetry::Logger& logger);
  ShardInfo MakeShardInfo();
  void Housekeeping();
  void PublishStats();
  void WriteSnapshot();

  const ReplicaOptions options_;
  const std::string snapshot_dir_;
  telemetry::Logger& logger_;
  telemetry::Metrics& metrics_;
  // Declared before what reads it: destroyed after the tailer and service.
  std::unique_ptr<ShardState> state_;
  Tailer tailer_;
  std::atomic<bool> ready_{false};
  ShardServiceImpl service_;
  absl::Notification stop_;
  std::thread housekeeping_;
};

}  // namespace quarry::vector_search

#endif  // QUARRY_SERVICES_VECTOR_SEARCH_SERVING_REPLICA_H_
