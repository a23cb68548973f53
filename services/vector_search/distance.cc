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

// Sixteen codes widened to int32 lanes (vpmovzxbd). Written as the
// zero-masked form with every lane selected, which compiles to the same
// instruction: the plain intrinsics pass _mm512_undefined_*() as the merge
// source, which GCC 12 reports as -Wmaybe-uninitialized once inlined.
__attribute__((target("avx512f"))) __m512i WidenU8x16(const uint8_t* p) {
  const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm512_maskz_cvtepu8_epi32(static_cast<__mmask16>(0xFFFF), bytes);
}

__attribute__((target("avx512f"))) __m512 Int32ToFloat512(__m512i v) {
  return _mm512_maskz_cvtepi32_ps(static_cast<__mmask16>(0xFFFF), v);
}

// Sixteen codes widened to floats (vpmovzxbd + vcvtdq2ps).
__attribute__((target("avx512f"))) __m512 LoadU8x16(const uint8_t* p) {
  return Int32ToFloat512(WidenU8x16(p));
}

// The last n < 16 codes, zero-padded: a byte-masked load needs AVX512BW,
// which the dispatch does not check for. Reads exactly n bytes.
__attribute__((target("avx512f"))) __m512 LoadU8Tail(const uint8_t* p, size_t n) {
  alignas(16) uint8_t padded[16] = {};
  std::memcpy(padded, p, n);
  return LoadU8x16(padded);
}

__attribute__((target("avx512f"))) __mmask16 TailMask(size_t n) {
  return static_cast<__mmask16>((1u << n) - 1);
}

// Four accumulators over 64 codes a step (384 dimensions: six steps); the
// masked-off tail lanes load 0 for the floats, so they add 0.
__attribute__((target("avx512f"))) float DotU8Avx512(const float* q, const uint8_t* c, size_t n) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  __m512 acc2 = _mm512_setzero_ps(), acc3 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), LoadU8x16(c + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 16), LoadU8x16(c + i + 16), acc1);
    acc2 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 32), LoadU8x16(c + i + 32), acc2);
    acc3 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 48), LoadU8x16(c + i + 48), acc3);
  }
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), LoadU8x16(c + i), acc0);
  }
  if (i < n) {
    acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(TailMask(n - i), q + i), LoadU8Tail(c + i, n - i),
                           acc1);
  }
  return HorizontalSum512(_mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
}

// acc + (q - scale * code)^2 over 16 dimensions (lambdas would not inherit
// the target attribute, hence small functions).
__attribute__((target("avx512f"))) __m512 L2U8Step512(const float* q, const float* scale,
                                                       const uint8_t* c, __m512 acc) {
  const __m512 d = _mm512_fnmadd_ps(_mm512_loadu_ps(scale), LoadU8x16(c), _mm512_loadu_ps(q));
  return _mm512_fmadd_ps(d, d, acc);
}

__attribute__((target("avx512f"))) float L2U8Avx512(const float* q, const float* scale,
                                                     const uint8_t* c, size_t n) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  __m512 acc2 = _mm512_setzero_ps(), acc3 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    acc0 = L2U8Step512(q + i, scale + i, c + i, acc0);
    acc1 = L2U8Step512(q + i + 16, scale + i + 16, c + i + 16, acc1);
    acc2 = L2U8Step512(q + i + 32, scale + i + 32, c + i + 32, acc2);
    acc3 = L2U8Step512(q + i + 48, scale + i + 48, c + i + 48, acc3);
  }
  for (; i + 16 <= n; i += 16) acc0 = L2U8Step512(q + i, scale + i, c + i, acc0);
  if (i < n) {
    const __mmask16 mask = TailMask(n - i);
    const __m512 d = _mm512_fnmadd_ps(_mm512_maskz_loadu_ps(mask, scale + i),
                                      LoadU8Tail(c + i, n - i), _mm512_maskz_loadu_ps(mask, q + i));
    acc1 = _mm512_fmadd_ps(d, d, acc1);
  }
  return HorizontalSum512(_mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
}

// Symmetric: the code difference is exact in int32, then scaled.
__attribute__((target("avx512f"))) __m512 CodeDiff16(const uint8_t* a, const uint8_t* b) {
  return Int32ToFloat512(_mm512_sub_epi32(WidenU8x16(a), WidenU8x16(b)));
}

__attribute__((target("avx512f"))) float L2U8U8Avx512(const float* scale, const uint8_t* a,
                                                       const uint8_t* b, size_t n) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512 d0 = _mm512_mul_ps(_mm512_loadu_ps(scale + i), CodeDiff16(a + i, b + i));
    const __m512 d1 =
        _mm512_mul_ps(_mm512_loadu_ps(scale + i + 16), CodeDiff16(a + i + 16, b + i + 16));
    acc0 = _mm512_fmadd_ps(d0, d0, acc0);
    acc1 = _mm512_fmadd_ps(d1, d1, acc1);
  }
  for (; i + 16 <= n; i += 16) {
    const __m512 d = _mm512_mul_ps(_mm512_loadu_ps(scale + i), CodeDiff16(a + i, b + i));
    acc0 = _mm512_fmadd_ps(d, d, acc0);
  }
  if (i < n) {
    const __m512 diff = _mm512_sub_ps(LoadU8Tail(a + i, n - i), LoadU8Tail(b + i, n - i));
    const __m512 d = _mm512_mul_ps(_mm512_maskz_loadu_ps(TailMask(n - i), scale + i), diff);
    acc1 = _mm512_fmadd_ps(d, d, acc1);
  }
  return HorizontalSum512(_mm512_add_ps(acc0, acc1));
}

// acc + decoded(a) * decoded(b) over 16 dimensions; decoding is
// offset + scale * code, one FMA.
__attribute__((target("avx512f"))) __m512 DotU8U8Step512(const float* offset, const float* scale,
                                                          const uint8_t* a, const uint8_t* b,
                                                          __m512 acc) {
  const __m512 o = _mm512_loadu_ps(offset), s = _mm512_loadu_ps(scale);
  return _mm512_fmadd_ps(_mm512_fmadd_ps(s, LoadU8x16(a), o), _mm512_fmadd_ps(s, LoadU8x16(b), o),
                         acc);
}

__attribute__((target("avx512f"))) float DotU8U8Avx512(const float* offset, const float* scale,
                                                        const uint8_t* a, const uint8_t* b,
                                                        size_t n) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = DotU8U8Step512(offset + i, scale + i, a + i, b + i, acc0);
    acc1 = DotU8U8Step512(offset + i + 16, scale + i + 16, a + i + 16, b + i + 16, acc1);
  }
  for (; i + 16 <= n; i += 16) acc0 = DotU8U8Step512(offset + i, scale + i, a + i, b + i, acc0);
  if (i < n) {
    // Masked-off lanes decode to 0 + 0 * 0.
    const __mmask16 mask = TailMask(n - i);
    const __m512 o = _mm512_maskz_loadu_ps(mask, offset + i);
    const __m512 s = _mm512_maskz_loadu_ps(mask, scale + i);
    acc1 = _mm512_fmadd_ps(_mm512_fmadd_ps(s, LoadU8Tail(a + i, n - i), o),
                           _mm512_fmadd_ps(s, LoadU8Tail(b + i, n - i), o), acc1);
  }
  return HorizontalSum512(_mm512_add_ps(acc0, acc1));
}

// Fields: name, dot, l2, dot_u8, l2_u8, l2_u8u8, dot_u8u8.
constexpr internal::DistanceKernel kAvx512{"avx512",    &DotAvx512,    &L2Avx512,
                                           &DotU8Avx512, &L2U8Avx512,   &L2U8U8Avx512,
                                           &DotU8U8Avx512};
constexpr internal::DistanceKernel kAvx2{"avx2",    &DotAvx2,    &L2Avx2,
                                         &DotU8Avx2, &L2U8Avx2,   &L2U8U8Avx2,
                                         &DotU8U8Avx2};
constexpr internal::DistanceKernel kPortable{"portable",    &DotPortable,    &L2Portable,
                                             &DotU8Portable, &L2U8Portable,   &L2U8U8Portable,
                                             &DotU8U8Portable};

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
