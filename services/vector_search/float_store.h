#ifndef QUARRY_SERVICES_VECTOR_SEARCH_FLOAT_STORE_H_
#define QUARRY_SERVICES_VECTOR_SEARCH_FLOAT_STORE_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace quarry::vector_search {

// Full-precision vectors by slot, kept beside an int8 graph for exact search,
// re-ranking, rebuilds and snapshots. Not thread-safe: the index serialises
// writers and keeps readers out while Reserve may move the storage.
class FloatStore {
 public:
  virtual ~FloatStore() = default;
  // Makes slots [0, slots) addressable. May invalidate pointers from Get.
  virtual absl::Status Reserve(size_t slots) = 0;
  // Copies dimension floats into `slot` (< reserved slots).
  virtual void Set(size_t slot, const float* vector) = 0;
  // The dimension floats of `slot`, valid until the next Reserve.
  virtual const float* Get(size_t slot) const = 0;
  // Anonymous process memory held (counted in the index's MemoryBytes).
  virtual size_t HeapBytes() const = 0;
  // Bytes in a file-backed mapping: paged in on demand, evictable by the
  // kernel, so reported separately.
  virtual size_t MappedBytes() const = 0;
};

// Everything in process memory.
std::unique_ptr<FloatStore> NewHeapFloatStore(size_t dimension);

// A memory-mapped file created in `directory` and unlinked at once, so it
// never outlives the process; pages are read back from disk when needed.
absl::StatusOr<std::unique_ptr<FloatStore>> NewMappedFloatStore(
    size_t dimension, const std::string& directory);

}  // namespace quarry::vector_search

#endif  // QUARRY_SERVICES_VECTOR_SEARCH_FLOAT_STORE_H_
