#include "services/vector_search/exact_search.h"

#include <algorithm>

namespace quarry::vector_search::internal {

std::vector<uint32_t> UnionOfLists(const std::vector<const std::vector<uint32_t>*>& lists) {
  std::vector<uint32_t> candidates;
  for (const auto* list : lists) candidates.insert(candidates.end(), list->begin(), list->end());
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  return candidates;
}

}  // namespace quarry::vector_search::internal
