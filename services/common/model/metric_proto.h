#ifndef QUARRY_SERVICES_COMMON_MODEL_METRIC_PROTO_H_
#define QUARRY_SERVICES_COMMON_MODEL_METRIC_PROTO_H_

#include "quarry/common/v1/vector.pb.h"
#include "services/common/model/metric.h"

namespace quarry::model {

// The public API's Metric and the model's. METRIC_UNSPECIFIED means cosine
// (collection_service.proto); so does a value outside the enum, which request
// validation has already refused by the time a record is built.
Metric MetricFromProto(quarry::common::v1::Metric metric);
quarry::common::v1::Metric MetricToProto(Metric metric);

}  // namespace quarry::model

#endif  // QUARRY_SERVICES_COMMON_MODEL_METRIC_PROTO_H_
