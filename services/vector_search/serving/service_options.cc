#include "services/vector_search/serving/service_options.h"

#include "absl/strings/str_cat.h"
#include "services/vector_search/hnsw_index.h"

namespace quarry::vector_search {

absl::Status VectorSearchOptions::Validate() const {
  if (replica.shard_count < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--shard_count: must be at least 1, got ", replica.shard_count));
  }
  if (replica.shard_index >= replica.shard_count) {
    return absl::InvalidArgumentError(absl::StrCat("--shard_index: must be in [0, --shard_count=",
                                                   replica.shard_count, "), got ",
                                                   replica.shard_index));
  }
  if (replica.index.default_ef < static_cast<size_t>(kMinDefaultEffort) ||
      replica.index.default_ef > static_cast<size_t>(kMaxDefaultEffort)) {
    return absl::InvalidArgumentError(absl::StrCat("--default_effort: must be in [",
                                                   kMinDefaultEffort, ", ", kMaxDefaultEffort,
                                                   "], got ", replica.index.default_ef));
  }
  // The index's own checks, so the flags accept exactly what an index does.
  if (absl::Status status = ValidateM(replica.index.m); !status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--hnsw_m: ", status.message()));
  }
  if (absl::Status status = ValidateEfConstruction(replica.index.ef_construction);
      !status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--hnsw_ef_construction: ", status.message()));
  }
  return absl::OkStatus();
}

}  // namespace quarry::vector_search
