#ifndef QUARRY_SERVICES_VECTOR_SEARCH_SERVING_TAILER_H_
#define QUARRY_SERVICES_VECTOR_SEARCH_SERVING_TAILER_H_

#include <atomic>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "services/common/pg/pool.h"
#include "services/vector_search/serving/shard_state.h"

namespace quarry::vector_search {

struct TailerOptions {
  uint32_t shard_index = 0;
  uint32_t shard_count = 1;
  // Rows per read: bounds memory and keeps each transaction short.
  int batch_rows = 2000;
  // Longest sleep without a notification: a lost NOTIFY only adds this much latency.
  absl::Duration poll_interval = absl::Seconds(1);
};

// Keeps a ShardState up to date with the documents table: reads the rows of
// this shard with seq above the watermark, in seq order, in batches, and
// applies them. Woken by NOTIFY documents_changed, with a polling fallback.
//
// Correctness rests on the schema's guarantee that documents commit in seq
// order: in one snapshot, every row with seq <= max(seq) is visible, so after
// reading all of this shard's rows up to that maximum the watermark may move
// there even if the last rows belonged to other shards.
class Tailer {
 public:
  Tailer(pg::Pool& pool, std::string conninfo, ShardState& state, TailerOptions options);
  ~Tailer();

  // Reads and applies until caught up with the database as of the call.
  absl::Status CatchUp();

  // Runs CatchUp in the background whenever notified (or every
  // poll_interval) until destruction.
  void Start();

  // The database's latest seq seen by the last read, and when the replica
  // was last fully caught up, for lag metrics.
  int64_t latest_seen() const { return latest_seen_.load(); }
  absl::Time last_caught_up() const;
  // Consecutive failed reads (database down); 0 when healthy.
  int failures() const { return failures_.load(); }

 private:
  // One batch; sets *more when the batch was full.
  absl::Status ReadBatch(bool* more);
  absl::Status RefreshCollections();
  void Loop();

  pg::Pool& pool_;
  const std::string conninfo_;
  ShardState& state_;
  const TailerOptions options_;
  std::atomic<int64_t> latest_seen_{0};
  std::atomic<int64_t> last_caught_up_micros_{0};
  std::atomic<int> failures_{0};
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace quarry::vector_search

#endif  // QUARRY_SERVICES_VECTOR_SEARCH_SERVING_TAILER_H_
