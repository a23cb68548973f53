#ifndef QUARRY_SERVICES_VECTOR_SEARCH_EXACT_SEARCH_H_
#define QUARRY_SERVICES_VECTOR_SEARCH_EXACT_SEARCH_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <queue>
#include <utility>
#include <vector>

#include "services/vector_search/distance.h"
#include "services/vector_search/vector_index.h"

namespace quarry::vector_search::internal {

// (score, slot) pairs, in no particular order.
using ScoredSlots = std::vector<std::pair<float, uint32_t>>;

// Keeps the k best (score, slot) pairs; worst at the top of the heap.
struct TopK {
  explicit TopK(size_t k) : k(k) {}
  void Offer(float score, uint32_t slot) {
    if (heap.size() < k) {
      heap.emplace(score, slot);
    } else if (score > heap.top().first) {
      heap.pop();
      heap.emplace(score, slot);
    }
  }
  ScoredSlots Take() {
    ScoredSlots out;
    while (!heap.empty()) {
      out.push_back(heap.top());
      heap.pop();
    }
    return out;
  }
  size_t k;
  std::priority_queue<std::pair<float, uint32_t>,
                      std::vector<std::pair<float, uint32_t>>,
                      std::greater<std::pair<float, uint32_t>>>
      heap;
};

// The slots named by any of `lists`, each once, ascending (lists may repeat a
// slot: the union of any_tags, re-added terms).
std::vector<uint32_t> UnionOfLists(const std::vector<const std::vector<uint32_t>*>& lists);

// Brute force: the k best of slots [0, slot_count) that `accept`, scored
// against `vector_of(slot)` (the float vector). Templates so the per-slot
// calls inline: this is the scan of every live document.
template <typename Accept, typename VectorOf>
ScoredSlots ExactAll(Metric metric, size_t dim, const float* query, size_t k,
                     uint32_t slot_count, const Accept& accept, const VectorOf& vector_of) {
  TopK top(k);
  for (uint32_t s = 0; s < slot_count; ++s) {
    if (accept(s)) top.Offer(Score(metric, query, vector_of(s), dim), s);
  }
  return top.Take();
}

// Brute force over the posting-list candidates only.
template <typename Accept, typename VectorOf>
ScoredSlots ExactOver(Metric metric, size_t dim, const float* query, size_t k,
                      const std::vector<const std::vector<uint32_t>*>& lists,
                      const Accept& accept, const VectorOf& vector_of) {
  TopK top(k);
  for (uint32_t s : UnionOfLists(lists)) {
    if (accept(s)) top.Offer(Score(metric, query, vector_of(s), dim), s);
  }
  return top.Take();
}

}  // namespace quarry::vector_search::internal

#endif  // QUARRY_SERVICES_VECTOR_SEARCH_EXACT_SEARCH_H_
