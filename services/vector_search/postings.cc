#include "services/vector_search/postings.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace quarry::vector_search::internal {
namespace {

// Tags and metadata pairs share one map; the prefix keeps them apart, and
// the NUL keeps "a"="bc" apart from "ab"="c".
std::string TagKey(const std::string& tag) { return absl::StrCat("t", tag); }
std::string MetaKey(const std::string& key, const std::string& value) {
  return absl::StrCat("m", key, std::string(1, '\0'), value);
}

}  // namespace

void Postings::Add(uint32_t s, const Tags& tags, const Metadata& metadata,
                   const Tags* old_tags, const Metadata* old_metadata) {
  for (const std::string& tag : tags) {
    if (old_tags != nullptr &&
        std::find(old_tags->begin(), old_tags->end(), tag) != old_tags->end()) {
      continue;
    }
    lists_[TagKey(tag)].push_back(s);
  }
  for (const auto& [key, value] : metadata) {
    if (old_metadata != nullptr) {
      auto it = old_metadata->find(key);
      if (it != old_metadata->end() && it->second == value) continue;
    }
    lists_[MetaKey(key, value)].push_back(s);
  }
}

bool Postings::CandidateLists(const Filter& filter,
                              std::vector<const std::vector<uint32_t>*>* lists,
                              size_t* estimate) const {
  const std::vector<uint32_t>* best = nullptr;
  auto consider = [&](const std::string& key) {
    auto it = lists_.find(key);
    if (it == lists_.end()) return false;
    if (best == nullptr || it->second.size() < best->size()) best = &it->second;
    return true;
  };
  for (const std::string& tag : filter.all_tags) {
    if (!consider(TagKey(tag))) return false;
  }
  for (const auto& [key, value] : filter.metadata_equals) {
    if (!consider(MetaKey(key, value))) return false;
  }
  if (best != nullptr) {
    lists->push_back(best);
    *estimate = best->size();
    return true;
  }
  *estimate = 0;
  for (const std::string& tag : filter.any_tags) {
    auto it = lists_.find(TagKey(tag));
    if (it == lists_.end()) continue;
    lists->push_back(&it->second);
    *estimate += it->second.size();
  }
  return !lists->empty();
}

size_t Postings::MemoryBytes() const {
  size_t bytes = lists_.capacity() * (sizeof(std::pair<std::string, std::vector<uint32_t>>) + 1);
  for (const auto& [key, list] : lists_) bytes += key.capacity() + list.capacity() * sizeof(uint32_t);
  return bytes;
}

}  // namespace quarry::vector_search::internal
