#ifndef QUARRY_SERVICES_VECTOR_SEARCH_FILTER_H_
#define QUARRY_SERVICES_VECTOR_SEARCH_FILTER_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace quarry::vector_search {

// Tags and metadata a document carries, as used for filtering.
using Tags = std::vector<std::string>;
using Metadata = std::map<std::string, std::string>;

// A conjunction of conditions with quarry.common.v1.Filter semantics, kept free
// of protobuf so the index and its tests do not depend on generated code.
struct Filter {
  // The document must carry every one of these tags.
  std::vector<std::string> all_tags = {};
  // The document must carry at least one of these (ignored when empty).
  std::vector<std::string> any_tags = {};
  // Every key must be present in the metadata with exactly this value.
  std::vector<std::pair<std::string, std::string>> metadata_equals = {};

  // True when the filter matches every document.
  bool Empty() const {
    return all_tags.empty() && any_tags.empty() && metadata_equals.empty();
  }
};

// Whether a document with `tags` and `metadata` satisfies `filter`. Tags are
// compared as exact byte strings; duplicates in `tags` are harmless.
bool Matches(const Filter& filter, const Tags& tags, const Metadata& metadata);

}  // namespace quarry::vector_search

#endif  // QUARRY_SERVICES_VECTOR_SEARCH_FILTER_H_
