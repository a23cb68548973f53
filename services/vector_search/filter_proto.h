#ifndef QUARRY_SERVICES_VECTOR_SEARCH_FILTER_PROTO_H_
#define QUARRY_SERVICES_VECTOR_SEARCH_FILTER_PROTO_H_

#include "quarry/common/v1/filter.pb.h"
#include "services/vector_search/filter.h"

namespace quarry::vector_search {

// Converts the wire filter. Limits (entry counts, lengths) are the gateway's
// job; this only copies. Map entries are sorted by key so results are stable.
Filter FilterFromProto(const quarry::common::v1::Filter& proto);

}  // namespace quarry::vector_search

#endif  // QUARRY_SERVICES_VECTOR_SEARCH_FILTER_PROTO_H_
