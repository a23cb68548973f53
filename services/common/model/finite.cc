#include "services/common/model/finite.h"

#include <cmath>

namespace quarry::model {

std::optional<size_t> FirstNonFinite(absl::Span<const float> values) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) return i;
  }
  return std::nullopt;
}

}  // namespace quarry::model
