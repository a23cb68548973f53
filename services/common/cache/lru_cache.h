#ifndef QUARRY_SERVICES_COMMON_CACHE_LRU_CACHE_H_
#define QUARRY_SERVICES_COMMON_CACHE_LRU_CACHE_H_

#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace quarry {

// A thread-safe least-recently-used cache bounded in bytes, not entries:
// embedding vectors and query vectors vary in size with the model, and what
// an operator budgets is memory. `Sizer` returns an entry's charge in bytes
// (key and value); an entry larger than the whole budget is not cached.
template <typename Value, typename Sizer>
class LruCache {
 public:
  LruCache(size_t capacity_bytes, Sizer sizer = Sizer())
      : capacity_bytes_(capacity_bytes), sizer_(std::move(sizer)) {}

  // The value for `key`, now the most recently used; nullopt on a miss.
  std::optional<Value> Get(const std::string& key) {
    absl::MutexLock lock(&mu_);
    auto it = index_.find(key);
    if (it == index_.end()) {
      ++misses_;
      return std::nullopt;
    }
    ++hits_;
    order_.splice(order_.begin(), order_, it->second);
    return it->second->value;
  }

  // Inserts or replaces, then evicts least recently used entries until the
  // cache fits its budget.
  void Put(const std::string& key, Value value) {
    const size_t charge = sizer_(key, value);
    absl::MutexLock lock(&mu_);
    if (auto it = index_.find(key); it != index_.end()) {
      used_bytes_ -= it->second->charge;
      order_.erase(it->second);
      index_.erase(it);
    }
    if (charge > capacity_bytes_) return;
    order_.push_front(Entry{key, std::move(value), charge});
    index_[key] = order_.begin();
    used_bytes_ += charge;
    while (used_bytes_ > capacity_bytes_) {
      const Entry& victim = order_.back();
      used_bytes_ -= victim.charge;
      index_.erase(victim.key);
      order_.pop_back();
    }
  }

  size_t used_bytes() const {
    absl::MutexLock lock(&mu_);
    return used_bytes_;
  }
  size_t size() const {
    absl::MutexLock lock(&mu_);
    return index_.size();
  }
  uint64_t hits() const {
    absl::MutexLock lock(&mu_);
    return hits_;
  }
  uint64_t misses() const {
    absl::MutexLock lock(&mu_);
    return misses_;
  }

 private:
  struct Entry {
    std::string key;
    Value value;
    size_t charge;
  };

  const size_t capacity_bytes_;
  const Sizer sizer_;
  mutable absl::Mutex mu_;
  std::list<Entry> order_ ABSL_GUARDED_BY(mu_);  // Most recent first.
  absl::flat_hash_map<std::string, typename std::list<Entry>::iterator> index_
      ABSL_GUARDED_BY(mu_);
  size_t used_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t hits_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t misses_ ABSL_GUARDED_BY(mu_) = 0;
};

// Charges a vector of floats: its payload, its key and a fixed overhead for
// the list node and hash slot.
struct FloatVectorSizer {
  template <typename Vector>
  size_t operator()(const std::string& key, const Vector& value) const {
    return key.size() + value.size() * sizeof(float) + 96;
  }
};

}  // namespace quarry

#endif  // QUARRY_SERVICES_COMMON_CACHE_LRU_CACHE_H_
