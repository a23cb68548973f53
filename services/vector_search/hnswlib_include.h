#ifndef QUARRY_SERVICES_VECTOR_SEARCH_HNSWLIB_INCLUDE_H_
#define QUARRY_SERVICES_VECTOR_SEARCH_HNSWLIB_INCLUDE_H_

// hnswlib 0.6.2 (Debian) is header-only and not -Wall -Wextra clean; its
// warnings are not ours to fix, so they are silenced for this include only.
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
