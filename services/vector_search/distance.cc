#include "services/vector_search/distance.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "services/vector_search/distance_kernels.h"

namespace quarry::vector_search {
namespace {

using internal::Avx2Kernel;
using internal::Avx512Kernel;
using internal::PortableKernel;

bool CpuHasAvx512() { return __builtin_cpu_supports("avx512f"); }
bool CpuHasAvx2() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

// QUARRY_DISTANCE_KERNEL=portable|avx2 caps the choice (for comparisons).
internal::DistanceKernel Choose() {
  const char* cap = std::getenv("QUARRY_DISTANCE_KERNEL");
  const bool allow_avx512 = cap == nullptr || std::strcmp(cap, "avx512") == 0;
  const bool allow_avx2 = allow_avx512 || std::strcmp(cap, "avx2") == 0;
  if (allow_avx512 && CpuHasAvx512()) return Avx512Kernel();
  if (allow_avx2 && CpuHasAvx2()) return Avx2Kernel();
  return PortableKernel();
}

// A function-local static, so a static initialiser elsewhere can use it too.
const internal::DistanceKernel& Chosen() {
  static const internal::DistanceKernel kernel = Choose();
  return kernel;
}

}  // namespace

float Dot(const float* a, const float* b, size_t n) { return Chosen().dot(a, b, n); }

float L2Squared(const float* a, const float* b, size_t n) { return Chosen().l2(a, b, n); }

float DotU8(const float* query_scaled, const uint8_t* codes, size_t dim) {
  return Chosen().dot_u8(query_scaled, codes, dim);
}

float L2U8(const float* query_minus_offset, const float* scale, const uint8_t* codes,
           size_t dim) {
  return Chosen().l2_u8(query_minus_offset, scale, codes, dim);
}

float L2U8U8(const float* scale, const uint8_t* a, const uint8_t* b, size_t dim) {
  return Chosen().l2_u8u8(scale, a, b, dim);
}

float DotDecodedU8U8(const float* offset, const float* scale, const uint8_t* a,
                     const uint8_t* b, size_t dim) {
  return Chosen().dot_u8u8(offset, scale, a, b, dim);
}

void NormalizeInPlace(float* v, size_t n) {
  const float norm = std::sqrt(Dot(v, v, n));
  // Already unit length up to rounding: leave the bits alone, so that
  // normalising a stored vector again (snapshot reload, re-upsert) is exact.
  if (norm == 0 || std::fabs(norm - 1.0f) <= 4 * std::numeric_limits<float>::epsilon()) return;
  const float inv = 1.0f / norm;
  for (size_t i = 0; i < n; ++i) v[i] *= inv;
}

DistanceFn InnerProductDistanceFn() { return Chosen().inner_product_distance; }

DistanceFn L2DistanceFn() { return Chosen().l2_distance; }

const char* DistanceKernelName() { return Chosen().name; }

namespace internal {
std::vector<DistanceKernel> SupportedKernels() {
  std::vector<DistanceKernel> out;
  if (CpuHasAvx512()) out.push_back(Avx512Kernel());
  if (CpuHasAvx2()) out.push_back(Avx2Kernel());
  out.push_back(PortableKernel());
  return out;
}
}  // namespace internal

}  // namespace quarry::vector_search
