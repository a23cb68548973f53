#include "services/vector_search/quantizer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "services/vector_search/distance.h"

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

// hnswlib calls these for every pair it compares while building the graph;
// the SIMD kernels (distance_avx2.cc, distance_avx512.cc) compute the same sums (to float rounding).
float ScalarQuantizer::L2Distance(const void* a, const void* b,
                                  const void* params) {
  const auto* q = static_cast<const ScalarQuantizer*>(params);
  // The offsets cancel in a difference, leaving scale * (code difference).
  return L2U8U8(q->scale_.data(), static_cast<const uint8_t*>(a),
                static_cast<const uint8_t*>(b), q->offset_.size());
}

float ScalarQuantizer::IpDistance(const void* a, const void* b,
                                  const void* params) {
  const auto* q = static_cast<const ScalarQuantizer*>(params);
  return 1.0f - DotDecodedU8U8(q->offset_.data(), q->scale_.data(),
                               static_cast<const uint8_t*>(a),
                               static_cast<const uint8_t*>(b), q->offset_.size());
}

}  // namespace quarry::vector_search
