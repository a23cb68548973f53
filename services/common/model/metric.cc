#include "services/common/model/metric.h"

namespace quarry::model {

absl::string_view MetricName(Metric metric) {
  switch (metric) {
    case Metric::kCosine: return "cosine";
    case Metric::kDot: return "dot";
    case Metric::kL2: return "l2";
  }
  return "cosine";
}

std::optional<Metric> ParseMetric(absl::string_view name) {
  for (Metric metric : {Metric::kCosine, Metric::kDot, Metric::kL2}) {
    if (name == MetricName(metric)) return metric;
  }
  return std::nullopt;
}

}  // namespace quarry::model
