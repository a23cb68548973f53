#ifndef QUARRY_SERVICES_COMMON_MODEL_VECTOR_CODEC_H_
#define QUARRY_SERVICES_COMMON_MODEL_VECTOR_CODEC_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace quarry::model {

// How a vector is stored in bytea columns (documents.embedding,
// embedding_cache.embedding): float32 little-endian, no header, so a vector
// of dimension d is exactly 4 * d bytes (the schema checks that length).

// The stored size of a vector of `dimension` floats.
constexpr size_t EncodedVectorBytes(size_t dimension) { return dimension * sizeof(float); }

std::string EncodeVector(absl::Span<const float> vector);

// The floats in `bytes`; a trailing partial float (a length not a multiple
// of 4, which the schema does not let in) is ignored.
std::vector<float> DecodeVector(absl::string_view bytes);

}  // namespace quarry::model

#endif  // QUARRY_SERVICES_COMMON_MODEL_VECTOR_CODEC_H_
