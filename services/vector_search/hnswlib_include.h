#ifndef QUARRY_SERVICES_VECTOR_SEARCH_HNSWLIB_INCLUDE_H_
#define QUARRY_SERVICES_VECTOR_SEARCH_HNSWLIB_INCLUDE_H_

// hnswlib 0.6.2 (Debian) is header-only and not -Wall -Wextra clean; its
// warnings are not ours to fix, so they are silenced for this include only.
// hnswlib 0.6.2 prefetches through `*(links + j + 1)` while walking a link
// list, reading one entry past the end of an upper-level list's allocation:
// harmless on real hardware, but AddressSanitizer stops there. Its prefetches
// (and its own SSE spaces, which Quarry does not use: distance.cc has ours)
// are compiled only with manual vectorisation, so sanitised builds go
// without it.
#if defined(__SANITIZE_ADDRESS__)  // GCC
#define QUARRY_HNSWLIB_ASAN 1
#elif defined(__has_feature)     // Clang
#if __has_feature(address_sanitizer)
#define QUARRY_HNSWLIB_ASAN 1
#endif
#endif
#if defined(QUARRY_HNSWLIB_ASAN) && !defined(NO_MANUAL_VECTORIZATION)
#define NO_MANUAL_VECTORIZATION
#endif
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-variable"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wtype-limits"
#include <hnswlib/hnswlib.h>
#pragma GCC diagnostic pop

#endif  // QUARRY_SERVICES_VECTOR_SEARCH_HNSWLIB_INCLUDE_H_
