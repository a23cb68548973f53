#include "services/vector_search/filter_proto.h"

#include <algorithm>

namespace quarry::vector_search {

Filter FilterFromProto(const quarry::common::v1::Filter& proto) {
  Filter filter;
  filter.all_tags.assign(proto.all_tags().begin(), proto.all_tags().end());
  filter.any_tags.assign(proto.any_tags().begin(), proto.any_tags().end());
  for (const auto& [key, value] : proto.metadata_equals()) {
    filter.metadata_equals.emplace_back(key, value);
  }
  std::sort(filter.metadata_equals.begin(), filter.metadata_equals.end());
  return filter;
}

}  // namespace quarry::vector_search
