#include "services/vector_search/distance.h"

#include <cmath>

namespace quarry::vector_search {

// Eight independent accumulators let the compiler keep the loop in vector
// registers without needing -ffast-math to reassociate a single sum.
float Dot(const float* a, const float* b, size_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (size_t j = 0; j < 8; ++j) acc[j] += a[i + j] * b[i + j];
  }
  float sum = 0;
  for (; i < n; ++i) sum += a[i] * b[i];
  for (size_t j = 0; j < 8; ++j) sum += acc[j];
  return sum;
}

float L2Squared(const float* a, const float* b, size_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (size_t j = 0; j < 8; ++j) {
      const float d = a[i + j] - b[i + j];
      acc[j] += d * d;
    }
  }
  float sum = 0;
  for (; i < n; ++i) {
    const float d = a[i] - b[i];
    sum += d * d;
  }
  for (size_t j = 0; j < 8; ++j) sum += acc[j];
  return sum;
}

void NormalizeInPlace(float* v, size_t n) {
  const float norm = std::sqrt(Dot(v, v, n));
  if (norm == 0) return;
  const float inv = 1.0f / norm;
  for (size_t i = 0; i < n; ++i) v[i] *= inv;
}

}  // namespace quarry::vector_search
