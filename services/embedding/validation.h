#ifndef QUARRY_SERVICES_EMBEDDING_VALIDATION_H_
#define QUARRY_SERVICES_EMBEDDING_VALIDATION_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "services/common/model/limits.h"
#include "services/embedding/embedder.h"

namespace quarry::embedding {

inline constexpr size_t kMaxTextsPerRequest = 256;
// A document's text as the gateway accepts it: the worker embeds that text
// whole, so the embedding service must take the same size.
using ::quarry::model::kMaxTextBytes;

// Checks an Embed request's texts: 1..kMaxTextsPerRequest texts, each
// 1..kMaxTextBytes bytes of valid UTF-8. INVALID_ARGUMENT naming the first bad
// text by index, e.g. "texts[3]: invalid UTF-8 at byte 17".
absl::Status ValidateTexts(absl::Span<const absl::string_view> texts);

// Checks that a request fits the served model: `requested_model` empty or
// equal to info.name, `expected_dimension` 0 or equal to info.dimension.
// FAILED_PRECONDITION naming both sides otherwise.
absl::Status CheckModel(const ModelInfo& info, absl::string_view requested_model,
                        uint32_t expected_dimension);

// Checks a vector against a collection bound to (`model`, `dimension`), e.g.
// a client-supplied vector. FAILED_PRECONDITION naming both dimensions.
absl::Status CheckVectorDimension(absl::string_view model, uint32_t dimension,
                                  size_t vector_size);

}  // namespace quarry::embedding

#endif  // QUARRY_SERVICES_EMBEDDING_VALIDATION_H_
