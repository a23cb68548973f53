#ifndef QUARRY_SERVICES_VECTOR_SEARCH_SYNTHETIC_DATA_H_
#define QUARRY_SERVICES_VECTOR_SEARCH_SYNTHETIC_DATA_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace quarry::vector_search {

// Synthetic embeddings for tests and benchmarks. Uniform noise is a poor
// stand-in for real embeddings (all distances concentrate, so every index
// looks bad); these are drawn around `clusters` Gaussian centres with a
// per-cluster spread, plus a shared offset, which gives the skewed, clumpy
// neighbourhoods text embeddings have.
struct ClusteredData {
  size_t dimension = 0;
  std::vector<float> vectors;  // row-major, count x dimension
  std::vector<float> queries;  // drawn from the same distribution
  const float* row(size_t i) const { return &vectors[i * dimension]; }
  const float* query(size_t i) const { return &queries[i * dimension]; }
  size_t count() const { return dimension == 0 ? 0 : vectors.size() / dimension; }
  size_t query_count() const { return dimension == 0 ? 0 : queries.size() / dimension; }
};

ClusteredData MakeClusteredData(size_t count, size_t queries, size_t dimension,
                                size_t clusters, uint64_t seed);

}  // namespace quarry::vector_search

#endif  // QUARRY_SERVICES_VECTOR_SEARCH_SYNTHETIC_DATA_H_
