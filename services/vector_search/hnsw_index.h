#ifndef QUARRY_SERVICES_VECTOR_SEARCH_HNSW_INDEX_H_
#define QUARRY_SERVICES_VECTOR_SEARCH_HNSW_INDEX_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "services/vector_search/snapshot.h"
#include "services/vector_search/vector_index.h"

namespace quarry::vector_search {

// The graph parameters an index accepts, wherever they come from (options,
// the service's flags, a snapshot): OK, or INVALID_ARGUMENT "must be in
// [2, 256], got 1" (the caller names the field or flag).
absl::Status ValidateM(size_t m);
absl::Status ValidateEfConstruction(size_t ef_construction);

struct HnswOptions {
  Metric metric = Metric::kCosine;
  size_t dimension = 0;  // required, 1..4096
  // Graph degree (hnswlib M; the base layer keeps 2*M links); see ValidateM.
  size_t m = 16;
  // See ValidateEfConstruction.
  size_t ef_construction = 100;
  // ef used when a request leaves effort at 0.
  size_t default_ef = 64;
  // Below this many live documents every search is exact: a scan of a few
  // thousand vectors is as fast as the graph and has perfect recall.
  size_t exact_below = 1000;
  // A filtered search goes exact when the filter's estimated match count is
  // at most this; -1 derives it per query (see DESIGN.md).
  int64_t filter_exact_threshold = -1;
  // Rebuild in the background once tombstones exceed this fraction of the
  // slots and there are at least rebuild_min_slots slots.
  double rebuild_tombstone_fraction = 0.2;
  size_t rebuild_min_slots = 1000;
  // Store int8 codes in the graph and re-rank candidates with float vectors.
  bool quantize_int8 = false;
  // int8 only: the graph starts once this many documents have arrived (the
  // quantizer is trained on them); until then searches are exact.
  size_t quantizer_train_size = 1000;
  // int8 only: directory for the memory-mapped float store used for
  // re-ranking; empty keeps the floats in process memory.
  std::string float_store_dir;
  size_t initial_capacity = 1024;
  uint64_t seed = 100;
};

namespace internal {
class IndexState;
}  // namespace internal

// HNSW index over hnswlib 0.6.2, with tombstones, background rebuilds,
// filtered search and optional int8 storage. See DESIGN.md.
// One (collection, shard) index of documents keyed by string id.
//
// Thread-safety: any number of concurrent Search/stat calls together with one
// writer (Upsert/Delete are serialised internally, so several writers are safe
// too, only not faster). Searches never wait for a background rebuild, only for
// the single write or swap in progress.
class HnswIndex {
 public:
  // INVALID_ARGUMENT for a bad option.
  static absl::StatusOr<std::unique_ptr<HnswIndex>> Create(
      const HnswOptions& options);
  // An index holding exactly the snapshot's state. The snapshot's metric and
  // dimension must match `options` (FAILED_PRECONDITION otherwise); a graph
  // section is used when present and valid for these options, else the graph
  // is rebuilt from the documents; DATA_LOSS for an inconsistent graph.
  static absl::StatusOr<std::unique_ptr<HnswIndex>> FromSnapshot(
      const HnswOptions& options, SnapshotData snapshot);

  ~HnswIndex();

  // Inserts or replaces document `id`. Writes with `seq` lower than the seq
  // already stored for `id` are stale and ignored (returns OK), so replaying
  // a change feed is idempotent. INVALID_ARGUMENT for an empty id, a wrong
  // dimension or a non-finite value. Advances the watermark to `seq`.
  absl::Status Upsert(const std::string& id, absl::Span<const float> vector,
                      const Tags& tags, const Metadata& metadata, int64_t seq);
  // Tombstones `id`: it is never returned again unless re-upserted with a
  // newer seq. Unknown ids are not an error (deletes are replayed). Stale
  // (`seq` lower than the stored one) deletes are ignored. Advances the
  // watermark to `seq`.
  absl::Status Delete(const std::string& id, int64_t seq);
  // Nearest live documents to the query. INVALID_ARGUMENT for a bad query
  // (dimension, non-finite values, k == 0).
  absl::StatusOr<SearchResult> Search(const SearchRequest& request) const;
  // Live documents.
  size_t Size() const;
  // Deleted or superseded entries still occupying the graph until a rebuild.
  size_t Tombstones() const;
  // Bytes of process memory held by vectors, graph and document records.
  size_t MemoryBytes() const;
  // Highest seq applied; every change with seq <= watermark is visible.
  int64_t Watermark() const;
  size_t Dimension() const { return options_.dimension; }
  Metric metric() const { return options_.metric; }

  // int8 float store bytes living in a file mapping (not in MemoryBytes).
  size_t MappedBytes() const;

  // A consistent copy of the state; with `include_graph` the graph too, so a
  // load skips the rebuild. Cosine vectors are the stored, normalised ones.
  SnapshotData ExportSnapshot(bool include_graph) const;

  // Rebuilds now on the calling thread (searches and writes continue; the
  // swap is atomic). For tests, benchmarks and operators.
  absl::Status RebuildNow();
  // Blocks until no background rebuild is running.
  void WaitForRebuild();
  // Completed rebuilds, and the status of the last one.
  size_t RebuildCount() const { return rebuild_count_.load(); }
  absl::Status LastRebuildStatus() const;

 private:
  struct PendingOp {
    bool is_delete = false;
    std::string id;
    std::vector<float> vector;
    Tags tags;
    Metadata metadata;
    int64_t seq = 0;
  };

  explicit HnswIndex(const HnswOptions& options);
  absl::Status ApplyAndLog(PendingOp op);
  void MaybeStartRebuild() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status RunRebuild();

  const HnswOptions options_;
  mutable absl::Mutex mu_;
  std::shared_ptr<internal::IndexState> state_ ABSL_GUARDED_BY(mu_);
  std::atomic<int64_t> watermark_{0};

  // Writes made while a rebuild copies and builds, replayed into the new
  // state before it is swapped in.
  mutable absl::Mutex log_mu_ ABSL_ACQUIRED_AFTER(mu_);
  bool logging_ ABSL_GUARDED_BY(log_mu_) = false;
  std::vector<PendingOp> log_ ABSL_GUARDED_BY(log_mu_);

  absl::Mutex rebuild_mu_;  // one rebuild at a time
  std::thread rebuild_thread_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> rebuild_running_{false};
  std::atomic<size_t> rebuild_count_{0};
  mutable absl::Mutex status_mu_;
  absl::Status last_rebuild_status_ ABSL_GUARDED_BY(status_mu_);
};

}  // namespace quarry::vector_search

#endif  // QUARRY_SERVICES_VECTOR_SEARCH_HNSW_INDEX_H_
