#include "services/common/model/metric_proto.h"

namespace quarry::model {

using ProtoMetric = quarry::common::v1::Metric;

Metric MetricFromProto(ProtoMetric metric) {
  switch (metric) {
    case quarry::common::v1::METRIC_DOT: return Metric::kDot;
    case quarry::common::v1::METRIC_L2: return Metric::kL2;
    default: return Metric::kCosine;
  }
}

ProtoMetric MetricToProto(Metric metric) {
  switch (metric) {
    case Metric::kCosine: return quarry::common::v1::METRIC_COSINE;
    case Metric::kDot: return quarry::common::v1::METRIC_DOT;
    case Metric::kL2: return quarry::common::v1::METRIC_L2;
  }
  return quarry::common::v1::METRIC_COSINE;
}

}  // namespace quarry::model
