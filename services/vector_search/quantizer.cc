#include "services/vector_search/quantizer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace quarry::vector_search {

ScalarQuantizer ScalarQuantizer::Train(
    size_t dimension, size_t count,
    const std::function<const float*(size_t)>& vector_at) {
  std::vector<float> lo(dimension, std::numeric_limits<float>::max());
  std::vector<float> hi(dimension, std::numeric_limits<float>::lowest());
  for (size_t i = 0; i < count; ++i) {
    const float* v = vector_at(i);
    for (size_t d = 0; d < dimension; ++d) {
      lo[d] = std::min(lo[d], v[d]);
      hi[d] = std::max(hi[d], v[d]);
    }
  }
  std::vector<float> scale(dimension, 0.0f);
  for (size_t d = 0; d < dimension; ++d) {
    if (count == 0) lo[d] = hi[d] = 0;
    scale[d] = (hi[d] - lo[d]) / 255.0f;
  }
  return ScalarQuantizer(std::move(lo), std::move(scale));
}

ScalarQuantizer::ScalarQuantizer(std::vector<float> offset,
                                 std::vector<float> scale)
    : offset_(std::move(offset)), scale_(std::move(scale)) {}

void ScalarQuantizer::Encode(const float* vector, uint8_t* codes) const {
  for (size_t d = 0; d < offset_.size(); ++d) {
    if (scale_[d] <= 0) {
      codes[d] = 0;
      continue;
    }
    const float q = std::nearbyint((vector[d] - offset_[d]) / scale_[d]);
    codes[d] = static_cast<uint8_t>(std::clamp(q, 0.0f, 255.0f));
  }
}

float ScalarQuantizer::L2Distance(const void* a, const void* b,
                                  const void* params) {
  const auto* q = static_cast<const ScalarQuantizer*>(params);
  const auto* x = static_cast<const uint8_t*>(a);
  const auto* y = static_cast<const uint8_t*>(b);
  const float* scale = q->scale_.data();
  const size_t n = q->offset_.size();
  // The offsets cancel in a difference, leaving scale * (code difference).
  // Eight accumulators so the loop vectorises without -ffast-math.
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t d = 0;
  for (; d + 8 <= n; d += 8) {
    for (size_t j = 0; j < 8; ++j) {
      const float diff = scale[d + j] * static_cast<float>(int{x[d + j]} - int{y[d + j]});
      acc[j] += diff * diff;
    }
  }
  float sum = 0;
  for (; d < n; ++d) {
    const float diff = scale[d] * static_cast<float>(int{x[d]} - int{y[d]});
    sum += diff * diff;
  }
  for (float a : acc) sum += a;
  return sum;
}

float ScalarQuantizer::IpDistance(const void* a, const void* b,
                                  const void* params) {
  const auto* q = static_cast<const ScalarQuantizer*>(params);
  const auto* x = static_cast<const uint8_t*>(a);
  const auto* y = static_cast<const uint8_t*>(b);
  const float* scale = q->scale_.data();
  const float* offset = q->offset_.data();
  const size_t n = q->offset_.size();
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t d = 0;
  for (; d + 8 <= n; d += 8) {
    for (size_t j = 0; j < 8; ++j) {
      const size_t k = d + j;
      acc[j] += (offset[k] + scale[k] * x[k]) * (offset[k] + scale[k] * y[k]);
    }
  }
  float sum = 0;
  for (; d < n; ++d) sum += (offset[d] + scale[d] * x[d]) * (offset[d] + scale[d] * y[d]);
  for (float a : acc) sum += a;
  return 1.0f - sum;
}

}  // namespace quarry::vector_search
