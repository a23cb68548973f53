#ifndef QUARRY_SERVICES_VECTOR_SEARCH_VECTOR_INDEX_H_
#define QUARRY_SERVICES_VECTOR_SEARCH_VECTOR_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "services/common/model/metric.h"
#include "services/vector_search/filter.h"

namespace quarry::vector_search {

// The types of a search, shared by the index, the snapshot format and the
// serving code. (There is one index implementation, HnswIndex, and nothing
// is written against an abstract one, so there is no interface class.)

// How vectors are compared: the model's enum (numbering, score direction and
// stored spellings are defined there), so the tailer reads collections.metric
// straight into it.
using Metric = model::Metric;

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

}  // namespace quarry::vector_search

#endif  // QUARRY_SERVICES_VECTOR_SEARCH_VECTOR_INDEX_H_
