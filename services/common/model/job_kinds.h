#ifndef QUARRY_SERVICES_COMMON_MODEL_JOB_KINDS_H_
#define QUARRY_SERVICES_COMMON_MODEL_JOB_KINDS_H_

#include <array>

#include "absl/strings/string_view.h"

namespace quarry::model {

// The job kinds: the worker registers one handler per name, the gateway
// accepts exactly these in SubmitJob, and metrics label queue depth by them.
// The names are stored in jobs.kind, so renaming one orphans queued jobs.
inline constexpr absl::string_view kIndexDocuments = "index_documents";
inline constexpr absl::string_view kReindexCollection = "reindex_collection";
inline constexpr absl::string_view kRefreshStats = "refresh_stats";
inline constexpr absl::string_view kPurgeDeleted = "purge_deleted";

inline constexpr std::array<absl::string_view, 4> kJobKinds = {
    kIndexDocuments, kReindexCollection, kRefreshStats, kPurgeDeleted};

}  // namespace quarry::model

#endif  // QUARRY_SERVICES_COMMON_MODEL_JOB_KINDS_H_
