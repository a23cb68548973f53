#ifndef QUARRY_SERVICES_VECTOR_SEARCH_VECTOR_INDEX_H_
#define QUARRY_SERVICES_VECTOR_SEARCH_VECTOR_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "services/vector_search/filter.h"

namespace quarry::vector_search {

// How vectors are compared; numbering matches quarry.common.v1.Metric. Every
// score is "higher is more similar": cosine similarity, inner product, or
// -squared Euclidean distance.
enum class Metric : uint32_t {
  kCosine = 1,
  kDot = 2,
  kL2 = 3,
};

// One search result.
struct Hit {
  std::string id;
  float score = 0;
};

struct SearchRequest {
  // Query vector; its length must equal the index dimension, values finite.
  std::vector<float> query;
  // Hits wanted, >= 1.
  size_t k = 10;
  // Only documents matching this filter; empty matches all.
  Filter filter;
  // Graph search breadth (HNSW ef); 0 means the index default. Raised to k.
  size_t effort = 0;
  // Brute force over every live (matching) document instead of the graph.
  bool exact = false;
  // Hits scoring below this are dropped.
  std::optional<float> min_score;
};

struct SearchResult {
  // At most k hits, best first; ties broken by id for determinism.
  std::vector<Hit> hits;
  // Whether brute force answered (asked for, small index, or selective filter).
  bool exact_used = false;
  // The index watermark when the search ran.
  int64_t watermark = 0;
};

// One (collection, shard) index of documents keyed by string id.
//
// Thread-safety: any number of concurrent Search/stat calls together with one
// writer (Upsert/Delete are serialised internally, so several writers are safe
// too, only not faster). Searches never wait for a background rebuild, only for
// the single write or swap in progress.
class VectorIndex {
 public:
  virtual ~VectorIndex() = default;

  // Inserts or replaces document `id`. Writes with `seq` lower than the seq
  // already stored for `id` are stale and ignored (returns OK), so replaying
  // a change feed is idempotent. INVALID_ARGUMENT for an empty id, a wrong
  // dimension or a non-finite value. Advances the watermark to `seq`.
  virtual absl::Status Upsert(const std::string& id,
                              absl::Span<const float> vector, const Tags& tags,
                              const Metadata& metadata, int64_t seq) = 0;

  // Tombstones `id`: it is never returned again unless re-upserted with a
  // newer seq. Unknown ids are not an error (deletes are replayed). Stale
  // (`seq` lower than the stored one) deletes are ignored. Advances the
  // watermark to `seq`.
  virtual absl::Status Delete(const std::string& id, int64_t seq) = 0;

  // Nearest live documents to the query. INVALID_ARGUMENT for a bad query
  // (dimension, non-finite values, k == 0).
  virtual absl::StatusOr<SearchResult> Search(
      const SearchRequest& request) const = 0;

  // Live documents.
  virtual size_t Size() const = 0;
  // Deleted or superseded entries still occupying the graph until a rebuild.
  virtual size_t Tombstones() const = 0;
  // Bytes of process memory held by vectors, graph and document records.
  virtual size_t MemoryBytes() const = 0;
  // Highest seq applied; every change with seq <= watermark is visible.
  virtual int64_t Watermark() const = 0;
  virtual size_t Dimension() const = 0;
  virtual Metric metric() const = 0;
};

}  // namespace quarry::vector_search

#endif  // QUARRY_SERVICES_VECTOR_SEARCH_VECTOR_INDEX_H_
