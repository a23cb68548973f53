#ifndef QUARRY_SERVICES_VECTOR_SEARCH_DISTANCE_H_
#define QUARRY_SERVICES_VECTOR_SEARCH_DISTANCE_H_

#include <cstddef>

#include "services/vector_search/vector_index.h"

namespace quarry::vector_search {

// Plain loops written so GCC vectorises them (see the copts in BUILD).
float Dot(const float* a, const float* b, size_t n);
float L2Squared(const float* a, const float* b, size_t n);

// Scales `v` to unit length; a zero vector is left as is (it scores 0).
void NormalizeInPlace(float* v, size_t n);

// Similarity under `metric`, higher is closer. For kCosine both vectors must
// already be normalised (the index stores and queries them that way).
inline float Score(Metric metric, const float* a, const float* b, size_t n) {
  return metric == Metric::kL2 ? -L2Squared(a, b, n) : Dot(a, b, n);
}

}  // namespace quarry::vector_search

#endif  // QUARRY_SERVICES_VECTOR_SEARCH_DISTANCE_H_
