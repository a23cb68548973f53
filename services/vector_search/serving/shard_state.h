#ifndef QUARRY_SERVICES_VECTOR_SEARCH_SERVING_SHARD_STATE_H_
#define QUARRY_SERVICES_VECTOR_SEARCH_SERVING_SHARD_STATE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/vector_search/hnsw_index.h"

namespace quarry::vector_search {

// What the replica knows of a collection (from the collections table).
struct CollectionSpec {
  int64_t id = 0;
  Metric metric = Metric::kCosine;
  uint32_t dimension = 0;
};

// One row of the document change feed, already filtered to this shard.
struct DocumentChange {
  int64_t collection_id = 0;
  std::string doc_id;
  int64_t seq = 0;
  // Tombstoned (or its collection deleted): remove from the index.
  bool deleted = false;
  // Empty: no vector yet (the worker has not embedded it); nothing to index.
  std::vector<float> vector;
  Tags tags;
  Metadata metadata;
};

struct ShardStats {
  int64_t vectors = 0;
  int64_t deleted = 0;
  int64_t memory_bytes = 0;
  // Background rebuilds completed (tombstones compacted), over all indexes.
  int64_t rebuilds = 0;
  struct Collection {
    int64_t id;
    int64_t vectors, deleted, memory_bytes;
  };
  std::vector<Collection> collections;
};

// The replica's in-memory state: one HNSW index per collection, and the
// replica watermark (every change with seq <= watermark is applied). The
// tailer is the only writer; searches run concurrently.
class ShardState {
 public:
  explicit ShardState(HnswOptions base_options) : base_options_(base_options) {}

  // Registers or refreshes collection specs (dimension and metric are fixed
  // per collection, so an existing index is kept).
  void SetCollections(const std::vector<CollectionSpec>& specs);
  bool KnowsCollection(int64_t id) const;

  // Applies a batch of changes in seq order, then moves the watermark to
  // `watermark` (>= every change's seq: the feed position) and wakes
  // WaitForWatermark callers. Atomic with respect to snapshots. A change for
  // an unknown collection is FAILED_PRECONDITION (refresh the specs first);
  // a change the index rejects is INTERNAL (the database's trigger checks
  // dimensions, so this is a bug, not bad input).
  absl::Status ApplyBatch(const std::vector<DocumentChange>& changes, int64_t watermark);
  int64_t watermark() const;
  // True once the watermark reaches `seq`; false at `deadline`.
  bool WaitForWatermark(int64_t seq, absl::Time deadline) const;

  // NOT_FOUND for a collection the replica does not know; an empty result
  // for a known collection with no documents on this shard.
  absl::StatusOr<SearchResult> Search(int64_t collection_id, const SearchRequest& request) const;
  // The collection's dimension, or NOT_FOUND.
  absl::StatusOr<uint32_t> Dimension(int64_t collection_id) const;

  ShardStats Stats() const;

  // Writes one snapshot per collection plus a manifest (watermark, files)
  // into `dir`, atomically file by file and manifest last, so a crash leaves
  // the previous manifest, which names only complete files.
  absl::Status WriteSnapshot(const std::string& dir) const;
  // Loads the state written by WriteSnapshot. Any missing, truncated or
  // corrupt file fails the whole load (the caller rebuilds from the database):
  // a partial index is never served.
  absl::Status LoadSnapshot(const std::string& dir);

 private:
  absl::Status Apply(const DocumentChange& change) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  HnswIndex* FindIndex(int64_t collection_id) const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  const HnswOptions base_options_;
  mutable absl::Mutex mu_;
  std::map<int64_t, CollectionSpec> specs_ ABSL_GUARDED_BY(mu_);
  std::map<int64_t, std::unique_ptr<HnswIndex>> indexes_ ABSL_GUARDED_BY(mu_);
  int64_t watermark_ ABSL_GUARDED_BY(mu_) = 0;
  // Serialises writers and snapshots: a snapshot sees no half-applied batch.
  mutable absl::Mutex write_mu_;
};

}  // namespace quarry::vector_search

#endif  // QUARRY_SERVICES_VECTOR_SEARCH_SERVING_SHARD_STATE_H_
