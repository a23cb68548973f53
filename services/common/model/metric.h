#ifndef QUARRY_SERVICES_COMMON_MODEL_METRIC_H_
#define QUARRY_SERVICES_COMMON_MODEL_METRIC_H_

#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"

namespace quarry::model {

// How vectors are compared; numbering matches quarry.common.v1.Metric (and
// the metric field of snapshots, which stores this number). Every score is
// "higher is more similar": cosine similarity, inner product, or -squared
// Euclidean distance. The vector-search index uses this enum as its own.
enum class Metric : uint32_t {
  kCosine = 1,
  kDot = 2,
  kL2 = 3,
};

// The spelling stored in collections.metric (the schema's CHECK allows these
// three) and taken by quarryctl's --metric: "cosine", "dot", "l2". The gateway
// writes it, the vector-search tailer reads it back; changing one orphans the
// collections stored under the old name.
absl::string_view MetricName(Metric metric);

// The metric spelled `name` exactly as MetricName spells it; nullopt for
// anything else.
std::optional<Metric> ParseMetric(absl::string_view name);

}  // namespace quarry::model

#endif  // QUARRY_SERVICES_COMMON_MODEL_METRIC_H_
