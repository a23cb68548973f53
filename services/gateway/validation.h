#ifndef QUARRY_SERVICES_GATEWAY_VALIDATION_H_
#define QUARRY_SERVICES_GATEWAY_VALIDATION_H_

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "quarry/common/v1/filter.pb.h"
#include "quarry/common/v1/paging.pb.h"
#include "quarry/common/v1/vector.pb.h"
#include "quarry/gateway/v1/admin_service.pb.h"
#include "quarry/gateway/v1/collection_service.pb.h"
#include "quarry/gateway/v1/document_service.pb.h"
#include "quarry/gateway/v1/job_service.pb.h"
#include "quarry/gateway/v1/search_service.pb.h"
#include "quarry/gateway/v1/worker_service.pb.h"
#include "absl/time/time.h"

namespace quarry::gateway {

// Request validation for the public API. Every function returns OK or
// INVALID_ARGUMENT whose message starts with the field's path and states the
// limit and what was received, e.g.
//   "documents[3].id: must be 1..256 bytes, got 300"
//   "top_k: must be in [1, 1000], got 5000"
// The checks are pure (no I/O); those that need the collection (vector
// dimension) take it as an argument.

bool IsValidUtf8(absl::string_view text);

// A client-supplied value as it may appear in a message: C-escaped (invalid
// UTF-8 hex-escaped, so a status message is always valid UTF-8) and cut to
// about `max_bytes` on a character boundary.
std::string Shown(absl::string_view value, size_t max_bytes);

absl::Status ValidateCollectionName(absl::string_view field, absl::string_view name);
absl::Status ValidateCreateCollection(const quarry::gateway::v1::CreateCollectionRequest& request);

// Structure of an upsert that needs no collection: counts, ids (unique within
// the request), texts, metadata, tags; vectors only for finiteness.
absl::Status ValidateUpsert(const quarry::gateway::v1::UpsertDocumentsRequest& request);
// Every supplied document vector has the collection's dimension.
absl::Status ValidateUpsertVectors(const quarry::gateway::v1::UpsertDocumentsRequest& request,
                                   int dimension);
// 1..1000 valid, unique ids (get and delete).
absl::Status ValidateDocumentIds(absl::string_view field,
                                 const google::protobuf::RepeatedPtrField<std::string>& ids);

absl::Status ValidateFilter(absl::string_view field, const quarry::common::v1::Filter& filter);
// Non-empty, finite values; `dimension` > 0 also checks the length.
absl::Status ValidateVector(absl::string_view field, const quarry::common::v1::Vector& vector,
                            int dimension);
// The query (exactly one of text and vector), top_k, effort and filter. The
// vector's dimension is checked separately with ValidateVector.
absl::Status ValidateSearch(const quarry::gateway::v1::SearchRequest& request);
// top_k with its default applied.
int EffectiveTopK(const quarry::gateway::v1::SearchRequest& request);

// The request's own rules; whether the tenant has the kind is the store's to
// say (NOT_FOUND), as kinds are data.
absl::Status ValidateSubmitJob(const quarry::gateway::v1::SubmitJobRequest& request);
// The batch's size and each job's fields, named "jobs[i].job.<field>";
// refs and `after` are resolved by the core (Jobs::SubmitBatch).
absl::Status ValidateSubmitJobs(const quarry::gateway::v1::SubmitJobsRequest& request);
absl::Status ValidateJobId(absl::string_view field, absl::string_view id);
// A job's JSON payload: at most 64 KiB, a JSON object (empty means {}), nested
// at most kMaxPayloadDepth levels, no U+0000 in strings.
absl::Status ValidatePayloadJson(absl::string_view field, absl::string_view json);
// ListJobs filters: `kind` empty or a well-formed kind name; known states.
absl::Status ValidateListJobs(const quarry::gateway::v1::ListJobsRequest& request);
// The worker API (worker_service.proto). Whether the lease is held, the
// kinds are the tenant's and the result fits its kind is the core's to say.
inline constexpr size_t kMaxWorkerIdBytes = 128;
inline constexpr int kMaxClaimKinds = 32;
inline constexpr int kMaxClaimJobs = 100;
inline constexpr absl::Duration kMaxClaimWait = absl::Seconds(30);
inline constexpr size_t kMaxJobErrorBytes = 4096;
inline constexpr size_t kMaxProgressMessageBytes = 1024;
inline constexpr absl::Duration kMaxRetryAfter = absl::Hours(24);
// Returns the request's wait.
absl::StatusOr<absl::Duration> ValidateClaimJobs(
    const quarry::gateway::v1::ClaimJobsRequest& request);
absl::Status ValidateJobLease(const quarry::gateway::v1::JobLease& lease);
// The two below check the fields besides the lease (ValidateJobLease).
absl::Status ValidateHeartbeatJob(const quarry::gateway::v1::HeartbeatJobRequest& request);
// Returns the request's retry_after.
absl::StatusOr<absl::Duration> ValidateFailJob(const quarry::gateway::v1::FailJobRequest& request);

// An API key id (the public part of a key): 1..64 bytes of [A-Za-z0-9_-].
absl::Status ValidateApiKeyId(absl::string_view field, absl::string_view id);

absl::Status ValidateCreateApiKey(const quarry::gateway::v1::CreateApiKeyRequest& request);

// The page size with its default applied, or INVALID_ARGUMENT.
absl::StatusOr<int> PageSize(absl::string_view field, const quarry::common::v1::PageRequest& page);

}  // namespace quarry::gateway

#endif  // QUARRY_SERVICES_GATEWAY_VALIDATION_H_
