#ifndef QUARRY_SERVICES_VECTOR_SEARCH_DISTANCE_KERNELS_H_
#define QUARRY_SERVICES_VECTOR_SEARCH_DISTANCE_KERNELS_H_

// The kernels of each instruction-set level, one file each
// (distance_portable.cc, distance_avx2.cc, distance_avx512.cc); only
// distance.cc, which chooses among them, includes this.

#include <cstddef>

#include "services/vector_search/distance.h"

namespace quarry::vector_search::internal {

// Each is callable on any CPU; its functions may only run where the CPU has
// the level's instructions (distance.cc checks CPUID first).
const DistanceKernel& PortableKernel();
const DistanceKernel& Avx2Kernel();
const DistanceKernel& Avx512Kernel();

// hnswlib's calling convention around a kernel: the third argument points at
// the dimension. A template over the kernel, so each level's wrapper calls its
// kernel directly rather than through the dispatch table.
template <float (*Kernel)(const float*, const float*, size_t)>
float HnswInnerProduct(const void* a, const void* b, const void* dim) {
  return 1.0f - Kernel(static_cast<const float*>(a), static_cast<const float*>(b),
                       *static_cast<const size_t*>(dim));
}

template <float (*Kernel)(const float*, const float*, size_t)>
float HnswL2(const void* a, const void* b, const void* dim) {
  return Kernel(static_cast<const float*>(a), static_cast<const float*>(b),
                *static_cast<const size_t*>(dim));
}

}  // namespace quarry::vector_search::internal

#endif  // QUARRY_SERVICES_VECTOR_SEARCH_DISTANCE_KERNELS_H_
