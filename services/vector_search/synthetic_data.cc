#include "services/vector_search/synthetic_data.h"

#include <random>

namespace quarry::vector_search {

ClusteredData MakeClusteredData(size_t count, size_t queries, size_t dimension,
                                size_t clusters, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> spread(0.15f, 0.45f);
  std::vector<float> shared(dimension);
  for (float& x : shared) x = 0.5f * normal(rng);
  std::vector<float> centres(clusters * dimension);
  std::vector<float> sigma(clusters);
  for (size_t c = 0; c < clusters; ++c) {
    sigma[c] = spread(rng);
    for (size_t d = 0; d < dimension; ++d) centres[c * dimension + d] = shared[d] + normal(rng);
  }
  // Zipf-like cluster sizes: real corpora have a few big topics.
  std::vector<double> weights(clusters);
  for (size_t c = 0; c < clusters; ++c) weights[c] = 1.0 / (1.0 + 0.1 * static_cast<double>(c));
  std::discrete_distribution<size_t> pick(weights.begin(), weights.end());
  auto draw = [&](std::vector<float>& out, size_t n) {
    out.resize(n * dimension);
    for (size_t i = 0; i < n; ++i) {
      const size_t c = pick(rng);
      for (size_t d = 0; d < dimension; ++d) {
        out[i * dimension + d] = centres[c * dimension + d] + sigma[c] * normal(rng);
      }
    }
  };
  ClusteredData data;
  data.dimension = dimension;
  draw(data.vectors, count);
  draw(data.queries, queries);
  return data;
}

}  // namespace quarry::vector_search
