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

}  // namespace

const DistanceKernel& Avx512Kernel() {
  // Fields: name, dot, l2, dot_u8, l2_u8, l2_u8u8, dot_u8u8, then dot and l2
  // wrapped for hnswlib.
  static constexpr DistanceKernel kKernel{
      "avx512", &DotAvx512, &L2Avx512, &DotU8Avx512, &L2U8Avx512, &L2U8U8Avx512, &DotU8U8Avx512,
      &HnswInnerProduct<&DotAvx512>, &HnswL2<&L2Avx512>};
  return kKernel;
}

}  // namespace quarry::vector_search::internal
