#ifndef QUARRY_SERVICES_COMMON_MODEL_FINITE_H_
#define QUARRY_SERVICES_COMMON_MODEL_FINITE_H_

#include <cstddef>
#include <optional>

#include "absl/types/span.h"

namespace quarry::model {

// Every stored or searched vector has finite components only: a NaN or an
// infinity makes every distance to it NaN or infinite, which breaks the
// ordering the index and the merge rely on. The gateway rejects such vectors
// in requests, a shard in its searches, and the index on upsert and when it
// loads a snapshot; all ask here so they cannot disagree.

// The index of the first NaN or infinite value, nullopt when all are finite.
std::optional<size_t> FirstNonFinite(absl::Span<const float> values);

inline bool AllFinite(absl::Span<const float> values) {
  return !FirstNonFinite(values).has_value();
}

}  // namespace quarry::model

#endif  // QUARRY_SERVICES_COMMON_MODEL_FINITE_H_
