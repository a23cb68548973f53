// Kernels of one instruction-set level; distance.cc picks one by CPUID at
// run time. Every function carries its own target attribute instead of a
// per-file -m flag, so nothing here (or inlined from a header) can run on a
// CPU without the instructions.
#include "services/vector_search/distance_kernels.h"

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

namespace quarry::vector_search::internal {
namespace {

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

// Eight codes widened to floats (vpmovzxbd + vcvtdq2ps).
__attribute__((target("avx2,fma"))) __m256 LoadU8x8(const uint8_t* p) {
  const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
  return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes));
}

// Tails under 8 codes run scalar. The dot product is one FMA a step on top
// of the widening, so the accumulator chain limits it: four accumulators.
__attribute__((target("avx2,fma"))) float DotU8Avx2(const float* q, const uint8_t* c, size_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), LoadU8x8(c + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), LoadU8x8(c + i + 8), acc1);
    acc2 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 16), LoadU8x8(c + i + 16), acc2);
    acc3 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 24), LoadU8x8(c + i + 24), acc3);
  }
  for (; i + 8 <= n; i += 8) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), LoadU8x8(c + i), acc0);
  }
  const __m256 acc = _mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3));
  float sum = HorizontalSum256(acc);
  for (; i < n; ++i) sum += q[i] * static_cast<float>(c[i]);
  return sum;
}

__attribute__((target("avx2,fma"))) float L2U8Avx2(const float* q, const float* scale,
                                                   const uint8_t* c, size_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  size_t i = 0;
  // d = q - scale * code, one fnmadd.
  for (; i + 16 <= n; i += 16) {
    const __m256 d0 =
        _mm256_fnmadd_ps(_mm256_loadu_ps(scale + i), LoadU8x8(c + i), _mm256_loadu_ps(q + i));
    const __m256 d1 = _mm256_fnmadd_ps(_mm256_loadu_ps(scale + i + 8), LoadU8x8(c + i + 8),
                                       _mm256_loadu_ps(q + i + 8));
    acc0 = _mm256_fmadd_ps(d0, d0, acc0);
    acc1 = _mm256_fmadd_ps(d1, d1, acc1);
  }
  for (; i + 8 <= n; i += 8) {
    const __m256 d =
        _mm256_fnmadd_ps(_mm256_loadu_ps(scale + i), LoadU8x8(c + i), _mm256_loadu_ps(q + i));
    acc0 = _mm256_fmadd_ps(d, d, acc0);
  }
  float sum = HorizontalSum256(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) {
    const float d = q[i] - scale[i] * static_cast<float>(c[i]);
    sum += d * d;
  }
  return sum;
}

// Symmetric: the code difference is exact in int32, then scaled.
__attribute__((target("avx2,fma"))) __m256 CodeDiff8(const uint8_t* a, const uint8_t* b) {
  const __m256i ia = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(a)));
  const __m256i ib = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(b)));
  return _mm256_cvtepi32_ps(_mm256_sub_epi32(ia, ib));
}

__attribute__((target("avx2,fma"))) float L2U8U8Avx2(const float* scale, const uint8_t* a,
                                                     const uint8_t* b, size_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 d0 = _mm256_mul_ps(_mm256_loadu_ps(scale + i), CodeDiff8(a + i, b + i));
    const __m256 d1 =
        _mm256_mul_ps(_mm256_loadu_ps(scale + i + 8), CodeDiff8(a + i + 8, b + i + 8));
    acc0 = _mm256_fmadd_ps(d0, d0, acc0);
    acc1 = _mm256_fmadd_ps(d1, d1, acc1);
  }
  for (; i + 8 <= n; i += 8) {
    const __m256 d = _mm256_mul_ps(_mm256_loadu_ps(scale + i), CodeDiff8(a + i, b + i));
    acc0 = _mm256_fmadd_ps(d, d, acc0);
  }
  float sum = HorizontalSum256(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) {
    const float d = scale[i] * static_cast<float>(int{a[i]} - int{b[i]});
    sum += d * d;
  }
  return sum;
}

__attribute__((target("avx2,fma"))) float DotU8U8Avx2(const float* offset, const float* scale,
                                                      const uint8_t* a, const uint8_t* b,
                                                      size_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  size_t i = 0;
  // Decode both (offset + scale * code, one FMA each), then multiply-add.
  for (; i + 16 <= n; i += 16) {
    const __m256 o0 = _mm256_loadu_ps(offset + i), s0 = _mm256_loadu_ps(scale + i);
    const __m256 o1 = _mm256_loadu_ps(offset + i + 8), s1 = _mm256_loadu_ps(scale + i + 8);
    acc0 = _mm256_fmadd_ps(_mm256_fmadd_ps(s0, LoadU8x8(a + i), o0),
                           _mm256_fmadd_ps(s0, LoadU8x8(b + i), o0), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_fmadd_ps(s1, LoadU8x8(a + i + 8), o1),
                           _mm256_fmadd_ps(s1, LoadU8x8(b + i + 8), o1), acc1);
  }
  for (; i + 8 <= n; i += 8) {
    const __m256 o = _mm256_loadu_ps(offset + i), s = _mm256_loadu_ps(scale + i);
    acc0 = _mm256_fmadd_ps(_mm256_fmadd_ps(s, LoadU8x8(a + i), o),
                           _mm256_fmadd_ps(s, LoadU8x8(b + i), o), acc0);
  }
  float sum = HorizontalSum256(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) sum += (offset[i] + scale[i] * a[i]) * (offset[i] + scale[i] * b[i]);
  return sum;
}

}  // namespace

const DistanceKernel& Avx2Kernel() {
  // Fields: name, dot, l2, dot_u8, l2_u8, l2_u8u8, dot_u8u8, then dot and l2
  // wrapped for hnswlib.
  static constexpr DistanceKernel kKernel{
      "avx2", &DotAvx2, &L2Avx2, &DotU8Avx2, &L2U8Avx2, &L2U8U8Avx2, &DotU8U8Avx2,
      &HnswInnerProduct<&DotAvx2>, &HnswL2<&L2Avx2>};
  return kKernel;
}

}  // namespace quarry::vector_search::internal
