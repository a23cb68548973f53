#ifndef QUARRY_SERVICES_VECTOR_SEARCH_DISTANCE_H_
#define QUARRY_SERVICES_VECTOR_SEARCH_DISTANCE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "services/vector_search/vector_index.h"

namespace quarry::vector_search {

// Dot product and squared L2 distance, computed by the widest SIMD kernel the
// CPU supports (AVX-512, AVX2+FMA, or portable loops), chosen once at start.
// Binaries stay built for x86-64-v2; only these kernels use wider units.
float Dot(const float* a, const float* b, size_t n);
float L2Squared(const float* a, const float* b, size_t n);

// Asymmetric distances between a float query and uint8 codes of a scalar
// quantizer (x[d] ~= offset[d] + scale[d] * codes[d]), same dispatch. The
// caller folds the quantizer into the query once per query:
//   DotU8 = sum_d query_scaled[d] * codes[d], with query_scaled = query * scale
//     (the inner product is then sum(query * offset) + DotU8);
//   L2U8 = sum_d (query_minus_offset[d] - scale[d] * codes[d])^2.
float DotU8(const float* query_scaled, const uint8_t* codes, size_t dim);
float L2U8(const float* query_minus_offset, const float* scale, const uint8_t* codes,
           size_t dim);

// Symmetric distances between two code vectors, in the decoded space (what
// hnswlib computes while building an int8 graph), same dispatch:
//   L2U8U8 = sum_d (scale[d] * (a[d] - b[d]))^2 (the offsets cancel);
//   DotDecodedU8U8 = sum_d (offset[d] + scale[d] * a[d]) * (offset[d] + scale[d] * b[d]).
float L2U8U8(const float* scale, const uint8_t* a, const uint8_t* b, size_t dim);
float DotDecodedU8U8(const float* offset, const float* scale, const uint8_t* a,
                     const uint8_t* b, size_t dim);

// Scales `v` to unit length; a zero vector is left as is (it scores 0), and
// so is one already of unit length up to rounding (idempotent).
void NormalizeInPlace(float* v, size_t n);

// Similarity under `metric`, higher is closer. For kCosine both vectors must
// already be normalised (the index stores and queries them that way).
inline float Score(Metric metric, const float* a, const float* b, size_t n) {
  return metric == Metric::kL2 ? -L2Squared(a, b, n) : Dot(a, b, n);
}

// Distances in hnswlib's calling convention: the third argument points at
// the dimension (size_t). Inner-product distance is 1 - dot.
using DistanceFn = float (*)(const void*, const void*, const void*);
DistanceFn InnerProductDistanceFn();
DistanceFn L2DistanceFn();

// "avx512", "avx2" or "portable": the kernel in use.
const char* DistanceKernelName();

namespace internal {
struct DistanceKernel {
  const char* name;
  float (*dot)(const float*, const float*, size_t);
  float (*l2)(const float*, const float*, size_t);
  float (*dot_u8)(const float*, const uint8_t*, size_t);
  float (*l2_u8)(const float*, const float*, const uint8_t*, size_t);
  float (*l2_u8u8)(const float*, const uint8_t*, const uint8_t*, size_t);
  float (*dot_u8u8)(const float*, const float*, const uint8_t*, const uint8_t*, size_t);
  // dot and l2 in hnswlib's calling convention (see DistanceFn).
  DistanceFn inner_product_distance;
  DistanceFn l2_distance;
};
// Every kernel this CPU can run, widest first (tests compare them).
std::vector<DistanceKernel> SupportedKernels();
}  // namespace internal

}  // namespace quarry::vector_search

#endif  // QUARRY_SERVICES_VECTOR_SEARCH_DISTANCE_H_
