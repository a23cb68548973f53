#include "services/common/model/vector_codec.h"

#include <bit>
#include <cstring>

namespace quarry::model {

// memcpy copies host order; the stored format is little-endian.
static_assert(std::endian::native == std::endian::little,
              "the vector codec copies floats as they are in memory");
static_assert(sizeof(float) == 4);

std::string EncodeVector(absl::Span<const float> vector) {
  std::string bytes(EncodedVectorBytes(vector.size()), '\0');
  // An empty span's data() may be null, and memcpy's pointers must be valid.
  if (!bytes.empty()) std::memcpy(bytes.data(), vector.data(), bytes.size());
  return bytes;
}

std::vector<float> DecodeVector(absl::string_view bytes) {
  std::vector<float> vector(bytes.size() / sizeof(float));
  if (!vector.empty()) std::memcpy(vector.data(), bytes.data(), EncodedVectorBytes(vector.size()));
  return vector;
}

}  // namespace quarry::model
