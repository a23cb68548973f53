#ifndef QUARRY_SERVICES_GATEWAY_LIMITS_H_
#define QUARRY_SERVICES_GATEWAY_LIMITS_H_

// The API limits live in services/common/model/limits.h, shared with the
// services behind the gateway; these names keep gateway code reading them
// unqualified.
#include "services/common/model/limits.h"

namespace quarry::gateway {

using ::quarry::model::kMaxCollectionNameBytes;
using ::quarry::model::kMinDimension;
using ::quarry::model::kMaxDimension;
using ::quarry::model::kMaxModelNameBytes;
using ::quarry::model::kMaxDocumentsPerRequest;
using ::quarry::model::kMaxDocumentIdBytes;
using ::quarry::model::kMaxTextBytes;
using ::quarry::model::kMaxMetadataEntries;
using ::quarry::model::kMaxMetadataKeyBytes;
using ::quarry::model::kMaxMetadataValueBytes;
using ::quarry::model::kMaxTags;
using ::quarry::model::kMaxTagBytes;
using ::quarry::model::kMaxFilterMetadataEntries;
using ::quarry::model::kDefaultTopK;
using ::quarry::model::kMaxTopK;
using ::quarry::model::kMaxEffort;
using ::quarry::model::kMaxBatchQueries;
using ::quarry::model::kDefaultPageSize;
using ::quarry::model::kMaxPageSize;
using ::quarry::model::kMaxPayloadBytes;
using ::quarry::model::kMaxPayloadDepth;
using ::quarry::model::kMinPriority;
using ::quarry::model::kMaxPriority;
using ::quarry::model::kDefaultMaxAttempts;
using ::quarry::model::kMaxMaxAttempts;
using ::quarry::model::kMaxDependencies;
using ::quarry::model::kMaxIdempotencyKeyBytes;
using ::quarry::model::kMaxJobRefBytes;
using ::quarry::model::kMaxJobsPerBatch;
using ::quarry::model::kMaxJobIdBytes;
using ::quarry::model::kMaxKeyNameBytes;
using ::quarry::model::kMaxKeyIdBytes;
using ::quarry::model::kMaxWorkerKinds;
using ::quarry::model::kMaxRateLimitPerSecond;
using ::quarry::model::kMaxBurst;

}  // namespace quarry::gateway

#endif  // QUARRY_SERVICES_GATEWAY_LIMITS_H_
