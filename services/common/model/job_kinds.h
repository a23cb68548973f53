#ifndef QUARRY_SERVICES_COMMON_MODEL_JOB_KINDS_H_
#define QUARRY_SERVICES_COMMON_MODEL_JOB_KINDS_H_

#include <array>

#include "absl/strings/string_view.h"

namespace quarry::model {

// Quarry's own job kinds (system kinds): rows of job_kinds with no tenant,
// seeded by migrations/0004_job_kinds.sql, each run by one handler of
// Quarry's worker. The names are stored in jobs.kind, so renaming one
// orphans queued jobs.
inline constexpr absl::string_view kIndexDocuments = "index_documents";
inline constexpr absl::string_view kReindexCollection = "reindex_collection";
inline constexpr absl::string_view kRefreshStats = "refresh_stats";
inline constexpr absl::string_view kPurgeDeleted = "purge_deleted";

inline constexpr std::array<absl::string_view, 4> kJobKinds = {
    kIndexDocuments, kReindexCollection, kRefreshStats, kPurgeDeleted};

// Names with this prefix are reserved for system kinds yet to come: a tenant
// can register neither these nor the names above.
inline constexpr absl::string_view kSystemKindPrefix = "quarry.";

}  // namespace quarry::model

#endif  // QUARRY_SERVICES_COMMON_MODEL_JOB_KINDS_H_
