#ifndef QUARRY_SERVICES_VECTOR_SEARCH_POSTINGS_H_
#define QUARRY_SERVICES_VECTOR_SEARCH_POSTINGS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "services/vector_search/filter.h"

namespace quarry::vector_search::internal {

// Inverted lists from a filter term (a tag, or a metadata key=value pair) to
// the index slots carrying it. Lists only grow: a deleted slot or a dropped
// term keeps its entries until a rebuild, so readers check each slot.
class Postings {
 public:
  // Adds entries for the terms slot `s` now carries that it did not already
  // carry (`old_tags` / `old_metadata` null for a new slot).
  void Add(uint32_t s, const Tags& tags, const Metadata& metadata,
           const Tags* old_tags, const Metadata* old_metadata);

  // The lists to scan for `filter`: the shortest conjunctive one, or every
  // any_tags list when there is no conjunctive term. `estimate` bounds the
  // match count from above (lists keep stale entries until a rebuild).
  // False when the filter provably matches nothing.
  bool CandidateLists(const Filter& filter,
                      std::vector<const std::vector<uint32_t>*>* lists,
                      size_t* estimate) const;

  size_t MemoryBytes() const;

 private:
  absl::flat_hash_map<std::string, std::vector<uint32_t>> lists_;
};

}  // namespace quarry::vector_search::internal

#endif  // QUARRY_SERVICES_VECTOR_SEARCH_POSTINGS_H_
