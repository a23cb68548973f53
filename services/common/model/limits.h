#ifndef QUARRY_SERVICES_COMMON_MODEL_LIMITS_H_
#define QUARRY_SERVICES_COMMON_MODEL_LIMITS_H_

#include <cstddef>

namespace quarry::model {

// The limits of the public API, as documented field by field in
// protos/quarry/gateway/v1/*.proto. Validation messages quote them. The
// services behind the gateway (vector search, embedding) enforce the same
// numbers on their own RPCs, so they read them from here rather than
// repeating them.
inline constexpr size_t kMaxCollectionNameBytes = 64;
inline constexpr int kMinDimension = 1;
inline constexpr int kMaxDimension = 4096;
inline constexpr size_t kMaxModelNameBytes = 128;
inline constexpr int kMaxDocumentsPerRequest = 1000;
inline constexpr size_t kMaxDocumentIdBytes = 256;
inline constexpr size_t kMaxTextBytes = 32 * 1024;
inline constexpr int kMaxMetadataEntries = 64;
inline constexpr size_t kMaxMetadataKeyBytes = 128;
inline constexpr size_t kMaxMetadataValueBytes = 1024;
inline constexpr int kMaxTags = 32;
inline constexpr size_t kMaxTagBytes = 64;
inline constexpr int kMaxFilterMetadataEntries = 16;
inline constexpr int kDefaultTopK = 10;
inline constexpr int kMaxTopK = 1000;
inline constexpr int kMaxEffort = 4096;
inline constexpr int kMaxBatchQueries = 64;
inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 1000;
inline constexpr size_t kMaxPayloadBytes = 64 * 1024;
inline constexpr int kMaxPayloadDepth = 32;
inline constexpr int kMinPriority = -1000;
inline constexpr int kMaxPriority = 1000;
inline constexpr int kDefaultMaxAttempts = 5;
inline constexpr int kMaxMaxAttempts = 100;
inline constexpr size_t kMaxIdempotencyKeyBytes = 128;
// A job waits for at most this many others; a batch submit holds at most
// kMaxJobsPerBatch jobs, named inside it by refs of up to kMaxJobRefBytes.
inline constexpr int kMaxDependencies = 32;
inline constexpr int kMaxJobsPerBatch = 100;
inline constexpr size_t kMaxJobRefBytes = 64;
inline constexpr size_t kMaxJobIdBytes = 20;
inline constexpr size_t kMaxKeyNameBytes = 128;
inline constexpr size_t kMaxKeyIdBytes = 64;
// Kinds a worker-scoped API key may name.
inline constexpr int kMaxWorkerKinds = 32;
inline constexpr double kMaxRateLimitPerSecond = 100000;
inline constexpr int kMaxBurst = 100000;

}  // namespace quarry::model

#endif  // QUARRY_SERVICES_COMMON_MODEL_LIMITS_H_
