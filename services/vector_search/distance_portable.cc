// The portable kernels: plain loops for any x86-64-v2 CPU, and the reference
// the SIMD levels are tested against. distance.cc falls back to them when
// CPUID shows neither AVX2+FMA nor AVX-512.
#include "services/vector_search/distance_kernels.h"

#include <cstddef>
#include <cstdint>

namespace quarry::vector_search::internal {
namespace {

// Portable kernels. Eight independent accumulators let the compiler keep the
// loop in vector registers without -ffast-math reassociating one sum.
float DotPortable(const float* a, const float* b, size_t n) {
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

float L2Portable(const float* a, const float* b, size_t n) {
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

// uint8 codes against a float query (asymmetric) and code against code
// (symmetric, decoded), in the same eight-accumulator form. The symmetric
// ones are what ScalarQuantizer's hnswlib distances always computed.
float DotU8Portable(const float* q, const uint8_t* c, size_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (size_t j = 0; j < 8; ++j) acc[j] += q[i + j] * static_cast<float>(c[i + j]);
  }
  float sum = 0;
  for (; i < n; ++i) sum += q[i] * static_cast<float>(c[i]);
  for (size_t j = 0; j < 8; ++j) sum += acc[j];
  return sum;
}

float L2U8Portable(const float* q, const float* scale, const uint8_t* c, size_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (size_t j = 0; j < 8; ++j) {
      const float d = q[i + j] - scale[i + j] * static_cast<float>(c[i + j]);
      acc[j] += d * d;
    }
  }
  float sum = 0;
  for (; i < n; ++i) {
    const float d = q[i] - scale[i] * static_cast<float>(c[i]);
    sum += d * d;
  }
  for (size_t j = 0; j < 8; ++j) sum += acc[j];
  return sum;
}

float L2U8U8Portable(const float* scale, const uint8_t* a, const uint8_t* b, size_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (size_t j = 0; j < 8; ++j) {
      const float d = scale[i + j] * static_cast<float>(int{a[i + j]} - int{b[i + j]});
      acc[j] += d * d;
    }
  }
  float sum = 0;
  for (; i < n; ++i) {
    const float d = scale[i] * static_cast<float>(int{a[i]} - int{b[i]});
    sum += d * d;
  }
  for (size_t j = 0; j < 8; ++j) sum += acc[j];
  return sum;
}

float DotU8U8Portable(const float* offset, const float* scale, const uint8_t* a,
                      const uint8_t* b, size_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (size_t j = 0; j < 8; ++j) {
      const size_t k = i + j;
      acc[j] += (offset[k] + scale[k] * a[k]) * (offset[k] + scale[k] * b[k]);
    }
  }
  float sum = 0;
  for (; i < n; ++i) sum += (offset[i] + scale[i] * a[i]) * (offset[i] + scale[i] * b[i]);
  for (size_t j = 0; j < 8; ++j) sum += acc[j];
  return sum;
}

}  // namespace

const DistanceKernel& PortableKernel() {
  // Fields: name, dot, l2, dot_u8, l2_u8, l2_u8u8, dot_u8u8, then dot and l2
  // wrapped for hnswlib.
  static constexpr DistanceKernel kKernel{
      "portable", &DotPortable, &L2Portable, &DotU8Portable, &L2U8Portable, &L2U8U8Portable, &DotU8U8Portable,
      &HnswInnerProduct<&DotPortable>, &HnswL2<&L2Portable>};
  return kKernel;
}

}  // namespace quarry::vector_search::internal
