#ifndef QUARRY_SERVICES_VECTOR_SEARCH_INDEX_STATE_H_
#define QUARRY_SERVICES_VECTOR_SEARCH_INDEX_STATE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/vector_search/float_store.h"
#include "services/vector_search/graph_codec.h"
#include "services/vector_search/hnsw_index.h"
#include "services/vector_search/postings.h"
#include "services/vector_search/quantizer.h"
#include "services/vector_search/snapshot.h"

// Declared, not included: hnswlib 0.6.2's headers define non-inline
// functions and globals, so index_state.cc is the one translation unit that
// includes them.
namespace hnswlib {
template <typename dist_t>
class HierarchicalNSW;
template <typename MTYPE>
class SpaceInterface;
}  // namespace hnswlib

namespace quarry::vector_search::internal {

using Graph = hnswlib::HierarchicalNSW<float>;

// The index proper, not thread-safe: HnswIndex adds locking, watermark and
// rebuilds. Invariant: when the graph exists it holds exactly the slots
// [0, slots_.size()) and graph internal id == label == slot, so vectors and
// results need no translation table.
class IndexState {
 public:
  struct Slot {
    std::string id;
    Tags tags;
    Metadata metadata;
    int64_t seq = 0;
    bool live = false;
  };

  explicit IndexState(const HnswOptions& options);
  ~IndexState();  // out of line: Graph is incomplete here

  static absl::StatusOr<std::unique_ptr<IndexState>> Create(
      const HnswOptions& options, size_t capacity);
  // Bulk build from live documents (rebuilds, snapshot loads without graph).
  // int8 trains on all of them first instead of on the first few.
  static absl::StatusOr<std::unique_ptr<IndexState>> Build(
      const HnswOptions& options, std::vector<SnapshotDoc> docs);
  // Restores a state whose snapshot carries a graph section.
  static absl::StatusOr<std::unique_ptr<IndexState>> Import(
      const HnswOptions& options, SnapshotData data);

  absl::Status Upsert(const std::string& id, const float* vector,
                      const Tags& tags, const Metadata& metadata, int64_t seq);
  absl::Status Delete(const std::string& id, int64_t seq);
  SearchResult Search(const SearchRequest& request, const float* query) const;

  size_t live() const { return live_; }
  size_t slots() const { return slots_.size(); }
  size_t MemoryBytes() const;
  size_t MappedBytes() const { return floats_ != nullptr ? floats_->MappedBytes() : 0; }

  std::vector<SnapshotDoc> LiveDocs() const;
  SnapshotData Export(bool include_graph) const;

 private:
  const float* FloatVector(uint32_t slot) const;
  absl::Status NewGraph(size_t capacity);
  void EnsureGraphCapacity(size_t n);
  // What the graph stores for a float vector: itself, or its codes.
  const void* GraphPoint(const float* vector, std::vector<uint8_t>* codes) const;
  absl::Status AddToGraph(uint32_t slot, const float* vector);
  absl::Status UpsertImpl(const std::string& id, const float* vector,
                          const Tags& tags, const Metadata& metadata, int64_t seq);
  // int8 only: the quantizer needs data before codes mean anything.
  absl::Status TrainAndBuildGraph();
  absl::Status RestoreSlots(std::vector<SnapshotDoc> docs);
  // The graph's members as the snapshot codec sees them.
  GraphLayout Layout() const;

  HnswOptions options_;
  const size_t dim_;
  std::unique_ptr<ScalarQuantizer> quantizer_;
  std::unique_ptr<hnswlib::SpaceInterface<float>> space_;
  std::unique_ptr<Graph> graph_;
  std::unique_ptr<FloatStore> floats_;  // int8 only
  std::vector<Slot> slots_;
  absl::flat_hash_map<std::string, uint32_t> by_id_;  // live ids only
  Postings postings_;
  size_t live_ = 0;
};

}  // namespace quarry::vector_search::internal

#endif  // QUARRY_SERVICES_VECTOR_SEARCH_INDEX_STATE_H_
