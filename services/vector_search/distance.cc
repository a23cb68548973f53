#include "services/vector_search/distance.h"

#include <immintrin.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace quarry::vector_search {
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

// AVX2 + FMA: two 8-wide accumulators hide the FMA latency.
__attribute__((target("avx2,fma"))) float HorizontalSum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma"))) float DotAvx2(const float* a, const float* b, size_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  }
  float sum = HorizontalSum256(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

__attribute__((target("avx2,fma"))) float L2Avx2(const float* a, const float* b, size_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    const __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
    acc0 = _mm256_fmadd_ps(d0, d0, acc0);
    acc1 = _mm256_fmadd_ps(d1, d1, acc1);
  }
  for (; i + 8 <= n; i += 8) {
    const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    acc0 = _mm256_fmadd_ps(d, d, acc0);
  }
  float sum = HorizontalSum256(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) {
    const float d = a[i] - b[i];
    sum += d * d;
  }
  return sum;
}

// AVX-512: the tail under 16 floats is done with a masked load. The final
// sum goes through memory: GCC 12's _mm512_reduce_add_ps trips
// -Wuninitialized inside its own header.
__attribute__((target("avx512f"))) float HorizontalSum512(__m512 v) {
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, v);
  float sum = 0;
  for (float lane : lanes) sum += lane;
  return sum;
}

__attribute__((target("avx512f"))) float DotAvx512(const float* a, const float* b, size_t n) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
  }
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
  }
  if (i < n) {
    const __mmask16 mask = static_cast<__mmask16>((1u << (n - i)) - 1);
    acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, a + i), _mm512_maskz_loadu_ps(mask, b + i),
                           acc1);
  }
  return HorizontalSum512(_mm512_add_ps(acc0, acc1));
}

__attribute__((target("avx512f"))) float L2Avx512(const float* a, const float* b, size_t n) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
    const __m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
    acc0 = _mm512_fmadd_ps(d0, d0, acc0);
    acc1 = _mm512_fmadd_ps(d1, d1, acc1);
  }
  for (; i + 16 <= n; i += 16) {
    const __m512 d = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
    acc0 = _mm512_fmadd_ps(d, d, acc0);
  }
  if (i < n) {
    const __mmask16 mask = static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512 d =
        _mm512_sub_ps(_mm512_maskz_loadu_ps(mask, a + i), _mm512_maskz_loadu_ps(mask, b + i));
    acc1 = _mm512_fmadd_ps(d, d, acc1);
  }
  return HorizontalSum512(_mm512_add_ps(acc0, acc1));
}

constexpr internal::DistanceKernel kAvx512{"avx512", &DotAvx512, &L2Avx512};
constexpr internal::DistanceKernel kAvx2{"avx2", &DotAvx2, &L2Avx2};
constexpr internal::DistanceKernel kPortable{"portable", &DotPortable, &L2Portable};

bool CpuHasAvx512() { return __builtin_cpu_supports("avx512f"); }
bool CpuHasAvx2() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

// QUARRY_DISTANCE_KERNEL=portable|avx2 caps the choice (for comparisons).
internal::DistanceKernel Choose() {
  const char* cap = std::getenv("QUARRY_DISTANCE_KERNEL");
  const bool allow_avx512 = cap == nullptr || std::strcmp(cap, "avx512") == 0;
  const bool allow_avx2 = allow_avx512 || std::strcmp(cap, "avx2") == 0;
  if (allow_avx512 && CpuHasAvx512()) return kAvx512;
  if (allow_avx2 && CpuHasAvx2()) return kAvx2;
  return kPortable;
}

// A function-local static, so a static initialiser elsewhere can use it too.
const internal::DistanceKernel& Chosen() {
  static const internal::DistanceKernel kernel = Choose();
  return kernel;
}

template <float (*Kernel)(const float*, const float*, size_t)>
float InnerProductDistance(const void* a, const void* b, const void* dim) {
  return 1.0f - Kernel(static_cast<const float*>(a), static_cast<const float*>(b),
                       *static_cast<const size_t*>(dim));
}

template <float (*Kernel)(const float*, const float*, size_t)>
float L2Distance(const void* a, const void* b, const void* dim) {
  return Kernel(static_cast<const float*>(a), static_cast<const float*>(b),
                *static_cast<const size_t*>(dim));
}

}  // namespace

float Dot(const float* a, const float* b, size_t n) { return Chosen().dot(a, b, n); }

float L2Squared(const float* a, const float* b, size_t n) { return Chosen().l2(a, b, n); }

void NormalizeInPlace(float* v, size_t n) {
  const float norm = std::sqrt(Dot(v, v, n));
  // Already unit length up to rounding: leave the bits alone, so that
  // normalising a stored vector again (snapshot reload, re-upsert) is exact.
  if (norm == 0 || std::fabs(norm - 1.0f) <= 4 * std::numeric_limits<float>::epsilon()) return;
  const float inv = 1.0f / norm;
  for (size_t i = 0; i < n; ++i) v[i] *= inv;
}

DistanceFn InnerProductDistanceFn() {
  if (Chosen().dot == &DotAvx512) return &InnerProductDistance<&DotAvx512>;
  if (Chosen().dot == &DotAvx2) return &InnerProductDistance<&DotAvx2>;
  return &InnerProductDistance<&DotPortable>;
}

DistanceFn L2DistanceFn() {
  if (Chosen().l2 == &L2Avx512) return &L2Distance<&L2Avx512>;
  if (Chosen().l2 == &L2Avx2) return &L2Distance<&L2Avx2>;
  return &L2Distance<&L2Portable>;
}

const char* DistanceKernelName() { return Chosen().name; }

namespace internal {
std::vector<DistanceKernel> SupportedKernels() {
  std::vector<DistanceKernel> out;
  if (CpuHasAvx512()) out.push_back(kAvx512);
  if (CpuHasAvx2()) out.push_back(kAvx2);
  out.push_back(kPortable);
  return out;
}
}  // namespace internal

}  // namespace quarry::vector_search
