#ifndef QUARRY_SERVICES_VECTOR_SEARCH_QUANTIZER_H_
#define QUARRY_SERVICES_VECTOR_SEARCH_QUANTIZER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "services/vector_search/vector_index.h"

namespace quarry::vector_search {

// 8-bit scalar quantizer with a per-dimension affine map
// x[i] ~= offset[i] + scale[i] * code[i], code in [0, 255], trained from the
// per-dimension min/max. Values outside the trained range are clamped, which
// is why the index retrains on every rebuild.
class ScalarQuantizer {
 public:
  // Learns min/max over `count` vectors; `vector_at(i)` returns vector i
  // (dimension floats). A dimension that never varies gets scale 0 (its code
  // is always 0 and decodes to the constant).
  static ScalarQuantizer Train(size_t dimension, size_t count,
                               const std::function<const float*(size_t)>& vector_at);
  // From stored parameters (snapshot); both spans must have `dimension` floats.
  ScalarQuantizer(std::vector<float> offset, std::vector<float> scale);

  size_t dimension() const { return offset_.size(); }
  // Writes dimension() codes.
  void Encode(const float* vector, uint8_t* codes) const;
  const std::vector<float>& offset() const { return offset_; }
  const std::vector<float>& scale() const { return scale_; }

  // Distances between two code vectors, in the decoded space, with the
  // conventions of hnswlib's spaces (smaller is closer): squared L2, or
  // 1 - inner product. `params` points at this quantizer.
  static float L2Distance(const void* a, const void* b, const void* params);
  static float IpDistance(const void* a, const void* b, const void* params);

 private:
  std::vector<float> offset_;
  std::vector<float> scale_;
};

}  // namespace quarry::vector_search

#endif  // QUARRY_SERVICES_VECTOR_SEARCH_QUANTIZER_H_
