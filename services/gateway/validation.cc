#include "services/gateway/validation.h"

#include <cmath>
#include <optional>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "services/common/jobqueue/job_kind.h"
#include "services/common/model/finite.h"
#include "services/common/status/macros.h"
#include "services/common/text/utf8.h"
#include "services/gateway/limits.h"

namespace quarry::gateway {
namespace {

using quarry::common::v1::Filter;
using quarry::common::v1::Vector;

absl::Status Invalid(absl::string_view field, absl::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", rule));
}

std::string Indexed(absl::string_view field, int index) {
  return absl::StrCat(field, "[", index, "]");
}

// Checks a byte length in [min, max], valid UTF-8 and no NUL: PostgreSQL
// text cannot hold U+0000 (and libpq would cut the value at it).
absl::Status CheckString(absl::string_view field, absl::string_view value, size_t min, size_t max) {
  if (value.size() < min || value.size() > max) {
    return Invalid(field, absl::StrCat("must be ", min, "..", max, " bytes, got ", value.size()));
  }
  if (!IsValidUtf8(value)) return Invalid(field, "must be valid UTF-8");
  if (value.find('\0') != absl::string_view::npos) {
    return Invalid(field, "must not contain NUL (U+0000)");
  }
  return absl::OkStatus();
}

bool IsDocumentIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         absl::string_view("._:/@+=-").find(c) != absl::string_view::npos;
}

absl::Status CheckDocumentId(absl::string_view field, absl::string_view id) {
  if (id.empty() || id.size() > kMaxDocumentIdBytes) {
    return Invalid(field,
                   absl::StrCat("must be 1..", kMaxDocumentIdBytes, " bytes, got ", id.size()));
  }
  for (char c : id) {
    if (!IsDocumentIdChar(c)) {
      return Invalid(field, "may only contain A-Z a-z 0-9 and ._:/@+=-");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckTags(absl::string_view field,
                       const google::protobuf::RepeatedPtrField<std::string>& tags) {
  if (tags.size() > kMaxTags) {
    return Invalid(field, absl::StrCat("at most ", kMaxTags, " tags, got ", tags.size()));
  }
  for (int i = 0; i < tags.size(); ++i) {
    QUARRY_RETURN_IF_ERROR(CheckString(Indexed(field, i), tags[i], 1, kMaxTagBytes));
  }
  return absl::OkStatus();
}

absl::Status CheckStringMap(absl::string_view field,
                            const google::protobuf::Map<std::string, std::string>& map,
                            int max_entries) {
  if (static_cast<int>(map.size()) > max_entries) {
    return Invalid(field, absl::StrCat("at most ", max_entries, " entries, got ", map.size()));
  }
  for (const auto& [key, value] : map) {
    const std::string shown = Shown(key, 32);
    std::string key_field = absl::StrCat(field, " key \"", shown, "\"");
    QUARRY_RETURN_IF_ERROR(CheckString(key_field, key, 1, kMaxMetadataKeyBytes));
    std::string value_field = absl::StrCat(field, "[\"", shown, "\"]");
    QUARRY_RETURN_IF_ERROR(CheckString(value_field, value, 0, kMaxMetadataValueBytes));
  }
  return absl::OkStatus();
}

}  // namespace

std::string Shown(absl::string_view value, size_t max_bytes) {
  if (!IsValidUtf8(value)) return absl::CHexEscape(value.substr(0, max_bytes));
  if (value.size() <= max_bytes) return absl::Utf8SafeCEscape(value);
  // Cut before a continuation byte, never inside a character.
  size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(value[end]) & 0xC0) == 0x80) --end;
  return absl::StrCat(absl::Utf8SafeCEscape(value.substr(0, end)), "...");
}

bool IsValidUtf8(absl::string_view text) { return quarry::text::IsValidUtf8(text); }

absl::Status ValidateCollectionName(absl::string_view field, absl::string_view name) {
  if (name.empty() || name.size() > kMaxCollectionNameBytes) {
    return Invalid(field, absl::StrCat("must be 1..", kMaxCollectionNameBytes,
                                       " characters of [a-z0-9_-], got ", name.size()));
  }
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '_' && c != '-'))) {
      return Invalid(field, "must be lower-case letters, digits, '_' and '-', starting with a "
                            "letter or digit");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateCreateCollection(const quarry::gateway::v1::CreateCollectionRequest& request) {
  if (!request.has_collection()) return Invalid("collection", "is required");
  const auto& c = request.collection();
  QUARRY_RETURN_IF_ERROR(ValidateCollectionName("collection.name", c.name()));
  if (c.dimension() != 0 && (c.dimension() < static_cast<uint32_t>(kMinDimension) ||
                             c.dimension() > static_cast<uint32_t>(kMaxDimension))) {
    return Invalid("collection.dimension", absl::StrCat("must be 0 (the model's) or in [",
                                                        kMinDimension, ", ", kMaxDimension,
                                                        "], got ", c.dimension()));
  }
  if (!quarry::common::v1::Metric_IsValid(c.metric())) {
    return Invalid("collection.metric", absl::StrCat("unknown metric ", c.metric()));
  }
  return CheckString("collection.model", c.model(), 0, kMaxModelNameBytes);
}

absl::Status ValidateVector(absl::string_view field, const Vector& vector, int dimension) {
  if (vector.values_size() == 0) return Invalid(field, "must not be empty");
  if (dimension > 0 && vector.values_size() != dimension) {
    return Invalid(field, absl::StrCat("has dimension ", vector.values_size(),
                                       ", the collection's is ", dimension));
  }
  if (std::optional<size_t> i = model::FirstNonFinite(vector.values()); i.has_value()) {
    return Invalid(absl::StrCat(field, ".values[", *i, "]"), "must be finite (no NaN or Inf)");
  }
  return absl::OkStatus();
}

absl::Status ValidateUpsert(const quarry::gateway::v1::UpsertDocumentsRequest& request) {
  QUARRY_RETURN_IF_ERROR(ValidateCollectionName("collection", request.collection()));
  const int count = request.documents_size();
  if (count < 1 || count > kMaxDocumentsPerRequest) {
    return Invalid("documents", absl::StrCat("must hold 1..", kMaxDocumentsPerRequest,
                                             " documents, got ", count));
  }
  absl::flat_hash_set<absl::string_view> ids;
  for (int i = 0; i < count; ++i) {
    const auto& doc = request.documents(i);
    const std::string field = Indexed("documents", i);
    QUARRY_RETURN_IF_ERROR(CheckDocumentId(field + ".id", doc.id()));
    if (!ids.insert(doc.id()).second) {
      return Invalid(field + ".id", absl::StrCat("\"", doc.id(), "\" appears twice in the request"));
    }
    // A document with its own vector needs no text to embed.
    const size_t min_text = doc.has_vector() ? 0 : 1;
    QUARRY_RETURN_IF_ERROR(CheckString(field + ".text", doc.text(), min_text, kMaxTextBytes));
    QUARRY_RETURN_IF_ERROR(
        CheckStringMap(field + ".metadata", doc.metadata(), kMaxMetadataEntries));
    QUARRY_RETURN_IF_ERROR(CheckTags(field + ".tags", doc.tags()));
    if (doc.has_vector()) {
      QUARRY_RETURN_IF_ERROR(ValidateVector(field + ".vector", doc.vector(), 0));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateUpsertVectors(const quarry::gateway::v1::UpsertDocumentsRequest& request,
                                   int dimension) {
  for (int i = 0; i < request.documents_size(); ++i) {
    const auto& doc = request.documents(i);
    if (!doc.has_vector()) continue;
    QUARRY_RETURN_IF_ERROR(
        ValidateVector(Indexed("documents", i) + ".vector", doc.vector(), dimension));
  }
  return absl::OkStatus();
}

absl::Status ValidateDocumentIds(absl::string_view field,
                                 const google::protobuf::RepeatedPtrField<std::string>& ids) {
  if (ids.empty() || ids.size() > kMaxDocumentsPerRequest) {
    return Invalid(field, absl::StrCat("must hold 1..", kMaxDocumentsPerRequest, " ids, got ",
                                       ids.size()));
  }
  absl::flat_hash_set<absl::string_view> seen;
  for (int i = 0; i < ids.size(); ++i) {
    QUARRY_RETURN_IF_ERROR(CheckDocumentId(Indexed(field, i), ids[i]));
    if (!seen.insert(ids[i]).second) {
      return Invalid(Indexed(field, i), absl::StrCat("\"", ids[i], "\" appears twice"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateFilter(absl::string_view field, const Filter& filter) {
  QUARRY_RETURN_IF_ERROR(CheckTags(absl::StrCat(field, ".all_tags"), filter.all_tags()));
  QUARRY_RETURN_IF_ERROR(CheckTags(absl::StrCat(field, ".any_tags"), filter.any_tags()));
  return CheckStringMap(absl::StrCat(field, ".metadata_equals"), filter.metadata_equals(),
                        kMaxFilterMetadataEntries);
}

int EffectiveTopK(const quarry::gateway::v1::SearchRequest& request) {
  return request.top_k() == 0 ? kDefaultTopK : static_cast<int>(request.top_k());
}

absl::Status ValidateSearch(const quarry::gateway::v1::SearchRequest& request) {
  using quarry::gateway::v1::SearchRequest;
  QUARRY_RETURN_IF_ERROR(ValidateCollectionName("collection", request.collection()));
  switch (request.query_case()) {
    case SearchRequest::kText:
      QUARRY_RETURN_IF_ERROR(CheckString("text", request.text(), 1, kMaxTextBytes));
      break;
    case SearchRequest::kVector:
      QUARRY_RETURN_IF_ERROR(ValidateVector("vector", request.vector(), 0));
      break;
    default:
      return Invalid("query", "set exactly one of text or vector");
  }
  if (request.top_k() > static_cast<uint32_t>(kMaxTopK)) {
    return Invalid("top_k", absl::StrCat("must be in [1, ", kMaxTopK, "], got ", request.top_k()));
  }
  const int top_k = EffectiveTopK(request);
  if (request.effort() != 0 && (request.effort() < static_cast<uint32_t>(top_k) ||
                                request.effort() > static_cast<uint32_t>(kMaxEffort))) {
    return Invalid("effort", absl::StrCat("must be 0 (default) or in [top_k=", top_k, ", ",
                                          kMaxEffort, "], got ", request.effort()));
  }
  if (request.has_min_score() && !std::isfinite(request.min_score())) {
    return Invalid("min_score", "must be finite");
  }
  return ValidateFilter("filter", request.filter());
}

absl::Status ValidateSubmitJob(const quarry::gateway::v1::SubmitJobRequest& request) {
  QUARRY_RETURN_IF_ERROR(jobqueue::ValidateJobKindName("kind", request.kind()));
  if (request.cost() < 0 || request.cost() > jobqueue::kMaxJobCost) {
    return Invalid("cost", absl::StrCat("must be 0 (default 1) or in [1, ", jobqueue::kMaxJobCost,
                                        "], got ", request.cost()));
  }
  QUARRY_RETURN_IF_ERROR(ValidatePayloadJson("payload_json", request.payload_json()));
  if (request.priority() < kMinPriority || request.priority() > kMaxPriority) {
    return Invalid("priority", absl::StrCat("must be in [", kMinPriority, ", ", kMaxPriority,
                                            "], got ", request.priority()));
  }
  if (request.max_attempts() < 0 || request.max_attempts() > kMaxMaxAttempts) {
    return Invalid("max_attempts", absl::StrCat("must be 0 (default ", kDefaultMaxAttempts,
                                                ") or in [1, ", kMaxMaxAttempts, "], got ",
                                                request.max_attempts()));
  }
  if (request.has_run_at() && (request.run_at().seconds() < 0 || request.run_at().nanos() < 0 ||
                               request.run_at().nanos() > 999'999'999 ||
                               request.run_at().seconds() > 253402300799)) {
    return Invalid("run_at", "must be a valid timestamp between 1970 and 9999");
  }
  if (request.depends_on_size() > kMaxDependencies) {
    return Invalid("depends_on", absl::StrCat("at most ", kMaxDependencies, " jobs, got ",
                                              request.depends_on_size()));
  }
  for (int i = 0; i < request.depends_on_size(); ++i) {
    QUARRY_RETURN_IF_ERROR(
        ValidateJobId(absl::StrCat("depends_on[", i, "]"), request.depends_on(i)));
  }
  return CheckString("idempotency_key", request.idempotency_key(), 0, kMaxIdempotencyKeyBytes);
}

absl::Status ValidateSubmitJobs(const quarry::gateway::v1::SubmitJobsRequest& request) {
  if (request.jobs_size() < 1 || request.jobs_size() > kMaxJobsPerBatch) {
    return Invalid("jobs", absl::StrCat("must hold 1..", kMaxJobsPerBatch, " jobs, got ",
                                        request.jobs_size()));
  }
  for (int i = 0; i < request.jobs_size(); ++i) {
    const auto& job = request.jobs(i);
    const std::string prefix = absl::StrCat("jobs[", i, "]");
    if (absl::Status s = ValidateSubmitJob(job.job()); !s.ok()) {
      // Each of ValidateSubmitJob's messages starts with its field.
      return absl::Status(s.code(), absl::StrCat(prefix, ".job.", s.message()));
    }
    QUARRY_RETURN_IF_ERROR(CheckString(prefix + ".ref", job.ref(), 0, kMaxJobRefBytes));
    if (job.after_size() + job.job().depends_on_size() > kMaxDependencies) {
      return Invalid(prefix + ".after",
                     absl::StrCat("with job.depends_on at most ", kMaxDependencies, " jobs, got ",
                                  job.after_size() + job.job().depends_on_size()));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidatePayloadJson(absl::string_view field, absl::string_view json) {
  if (json.size() > kMaxPayloadBytes) {
    return Invalid(field, absl::StrCat("must be at most ", kMaxPayloadBytes, " bytes, got ",
                                       json.size()));
  }
  if (json.empty()) return absl::OkStatus();  // Means {}.
  // What PostgreSQL's jsonb would refuse with an INTERNAL error (U+0000 in a
  // string; nesting past its stack depth limit) is rejected here, naming the
  // field. (Numbers beyond a double need no check: the parser refuses them.)
  std::string problem;
  nlohmann::json::parser_callback_t check = [&](int depth, nlohmann::json::parse_event_t event,
                                                nlohmann::json& value) {
    if (!problem.empty()) return false;
    using Event = nlohmann::json::parse_event_t;
    if (depth > kMaxPayloadDepth) {
      problem = absl::StrCat("is nested deeper than ", kMaxPayloadDepth, " levels");
    } else if ((event == Event::key || event == Event::value) && value.is_string() &&
               value.get_ref<const std::string&>().find('\0') != std::string::npos) {
      problem = "must not contain NUL (\\u0000) in a string";
    }
    return problem.empty();
  };
  nlohmann::json parsed =
      nlohmann::json::parse(json.begin(), json.end(), check, /*allow_exceptions=*/false);
  if (!problem.empty()) return Invalid(field, problem);
  if (parsed.is_discarded()) return Invalid(field, "is not valid JSON");
  if (!parsed.is_object()) return Invalid(field, "must be a JSON object");
  return absl::OkStatus();
}

absl::Status ValidateListJobs(const quarry::gateway::v1::ListJobsRequest& request) {
  if (!request.kind().empty()) {
    QUARRY_RETURN_IF_ERROR(jobqueue::ValidateJobKindName("kind", request.kind()));
  }
  for (int i = 0; i < request.states_size(); ++i) {
    const int state = request.states(i);
    if (state == quarry::gateway::v1::JOB_STATE_UNSPECIFIED ||
        !quarry::gateway::v1::JobState_IsValid(state)) {
      return Invalid(Indexed("states", i), absl::StrCat("unknown job state ", state));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateApiKeyId(absl::string_view field, absl::string_view id) {
  if (id.empty() || id.size() > kMaxKeyIdBytes) {
    return Invalid(field, absl::StrCat("must be 1..", kMaxKeyIdBytes, " bytes, got ", id.size()));
  }
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return Invalid(field, "may only contain A-Z a-z 0-9 _ and - (e.g. qk_0123abcd...)");
  }
  return absl::OkStatus();
}

absl::Status ValidateJobId(absl::string_view field, absl::string_view id) {
  if (id.empty() || id.size() > kMaxJobIdBytes) {
    return Invalid(field, absl::StrCat("must be 1..", kMaxJobIdBytes, " digits, got ", id.size(),
                                       " bytes"));
  }
  for (char c : id) {
    if (c < '0' || c > '9') return Invalid(field, "must be decimal digits");
  }
  return absl::OkStatus();
}

absl::Status ValidateCreateApiKey(const quarry::gateway::v1::CreateApiKeyRequest& request) {
  const auto& key = request.key();
  QUARRY_RETURN_IF_ERROR(CheckString("key.name", key.name(), 0, kMaxKeyNameBytes));
  for (int i = 0; i < key.scopes_size(); ++i) {
    if (key.scopes(i) == quarry::gateway::v1::SCOPE_UNSPECIFIED ||
        !quarry::gateway::v1::Scope_IsValid(key.scopes(i))) {
      return Invalid(Indexed("key.scopes", i), absl::StrCat("unknown scope ", key.scopes(i)));
    }
  }
  if (key.rate_limit_per_second() != 0 &&
      !(key.rate_limit_per_second() >= 1 && key.rate_limit_per_second() <= kMaxRateLimitPerSecond)) {
    return Invalid("key.rate_limit_per_second",
                   absl::StrCat("must be 0 (default) or in [1, ", kMaxRateLimitPerSecond, "], got ",
                                key.rate_limit_per_second()));
  }
  if (key.burst() < 0 || key.burst() > kMaxBurst) {
    return Invalid("key.burst", absl::StrCat("must be 0 (default) or in [1, ", kMaxBurst,
                                             "], got ", key.burst()));
  }
  const bool worker = std::find(key.scopes().begin(), key.scopes().end(),
                                quarry::gateway::v1::SCOPE_WORKER) != key.scopes().end();
  if (worker && (key.worker_kinds_size() < 1 || key.worker_kinds_size() > kMaxWorkerKinds)) {
    return Invalid("key.worker_kinds",
                   absl::StrCat("the worker scope needs 1..", kMaxWorkerKinds, " kinds, got ",
                                key.worker_kinds_size()));
  }
  if (!worker && key.worker_kinds_size() > 0) {
    return Invalid("key.worker_kinds", "only a key with the worker scope names kinds");
  }
  for (int i = 0; i < key.worker_kinds_size(); ++i) {
    QUARRY_RETURN_IF_ERROR(
        jobqueue::ValidateJobKindName(Indexed("key.worker_kinds", i), key.worker_kinds(i)));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> PageSize(absl::string_view field, const quarry::common::v1::PageRequest& page) {
  if (page.page_size() < 0 || page.page_size() > kMaxPageSize) {
    return Invalid(absl::StrCat(field, ".page_size"),
                   absl::StrCat("must be 0 (default ", kDefaultPageSize, ") or in [1, ",
                                kMaxPageSize, "], got ", page.page_size()));
  }
  return page.page_size() == 0 ? kDefaultPageSize : page.page_size();
}


namespace {

// A duration field of the worker API: well-formed, in [0, max].
absl::StatusOr<absl::Duration> WorkerDuration(absl::string_view field,
                                              const google::protobuf::Duration& d,
                                              absl::Duration max) {
  if (d.seconds() < 0 || d.nanos() < 0 || d.nanos() > 999'999'999) {
    return Invalid(field, "must be a non-negative duration");
  }
  const absl::Duration value = absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
  if (value > max) {
    return Invalid(field, absl::StrCat("must be at most ", absl::FormatDuration(max), ", got ",
                                       absl::FormatDuration(value)));
  }
  return value;
}

}  // namespace

absl::StatusOr<absl::Duration> ValidateClaimJobs(
    const quarry::gateway::v1::ClaimJobsRequest& request) {
  QUARRY_RETURN_IF_ERROR(CheckString("worker_id", request.worker_id(), 1, kMaxWorkerIdBytes));
  if (request.kinds_size() < 1 || request.kinds_size() > kMaxClaimKinds) {
    return Invalid("kinds", absl::StrCat("must name 1..", kMaxClaimKinds, " kinds, got ",
                                         request.kinds_size()));
  }
  for (int i = 0; i < request.kinds_size(); ++i) {
    QUARRY_RETURN_IF_ERROR(jobqueue::ValidateJobKindName(Indexed("kinds", i), request.kinds(i)));
  }
  if (request.max_jobs() < 1 || request.max_jobs() > kMaxClaimJobs) {
    return Invalid("max_jobs", absl::StrCat("must be in [1, ", kMaxClaimJobs, "], got ",
                                            request.max_jobs()));
  }
  return WorkerDuration("wait", request.wait(), kMaxClaimWait);
}

absl::Status ValidateJobLease(const quarry::gateway::v1::JobLease& lease) {
  QUARRY_RETURN_IF_ERROR(ValidateJobId("lease.job_id", lease.job_id()));
  if (lease.attempt() < 1) {
    return Invalid("lease.attempt", absl::StrCat("must be at least 1, got ", lease.attempt()));
  }
  return CheckString("lease.worker_id", lease.worker_id(), 1, kMaxWorkerIdBytes);
}

absl::Status ValidateHeartbeatJob(const quarry::gateway::v1::HeartbeatJobRequest& request) {
  if (!std::isfinite(request.progress()) || request.progress() < 0 || request.progress() > 1) {
    return Invalid("progress", absl::StrCat("must be in [0, 1], got ", request.progress()));
  }
  return CheckString("progress_message", request.progress_message(), 0, kMaxProgressMessageBytes);
}

absl::StatusOr<absl::Duration> ValidateFailJob(
    const quarry::gateway::v1::FailJobRequest& request) {
  QUARRY_RETURN_IF_ERROR(CheckString("error", request.error(), 1, kMaxJobErrorBytes));
  if (!quarry::gateway::v1::FailureKind_IsValid(request.kind())) {
    return Invalid("kind", absl::StrCat("unknown failure kind ", request.kind()));
  }
  return WorkerDuration("retry_after", request.retry_after(), kMaxRetryAfter);
}

}  // namespace quarry::gateway
