#include "services/vector_search/filter.h"

#include <algorithm>

namespace quarry::vector_search {
namespace {

// Documents carry few tags (tens at most), so a linear scan beats building a set.
bool HasTag(const Tags& tags, const std::string& tag) {
  return std::find(tags.begin(), tags.end(), tag) != tags.end();
}

}  // namespace

bool Matches(const Filter& filter, const Tags& tags, const Metadata& metadata) {
  for (const std::string& tag : filter.all_tags) {
    if (!HasTag(tags, tag)) return false;
  }
  if (!filter.any_tags.empty()) {
    bool any = false;
    for (const std::string& tag : filter.any_tags) {
      if (HasTag(tags, tag)) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  for (const auto& [key, value] : filter.metadata_equals) {
    auto it = metadata.find(key);
    if (it == metadata.end() || it->second != value) return false;
  }
  return true;
}

}  // namespace quarry::vector_search
