#ifndef QUARRY_SERVICES_VECTOR_SEARCH_SERVING_SERVICE_OPTIONS_H_
#define QUARRY_SERVICES_VECTOR_SEARCH_SERVING_SERVICE_OPTIONS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "services/common/model/limits.h"
#include "services/vector_search/serving/replica.h"

namespace quarry::vector_search {

// The vector-search service's own settings, filled from its flags in main.cc
// and validated once before anything starts (the common server settings are
// server::ServerOptions).
struct VectorSearchOptions {
  // libpq connection string of PostgreSQL (no password: a pgpass file);
  // checked where it is opened (server::OpenDatabaseOrExit).
  std::string database_url;
  // Shard, snapshots and graph parameters (--shard_index, --shard_count,
  // --data_dir, --snapshot_interval, --snapshot_max_age, --default_effort,
  // --quantize, --hnsw_m, --hnsw_ef_construction); each bound is checked by
  // Validate.
  ReplicaOptions replica;

  // --default_effort is an effort a request could have asked for, so it has
  // the API's bounds.
  static constexpr int kMinDefaultEffort = 1;
  static constexpr int kMaxDefaultEffort = model::kMaxEffort;

  // INVALID_ARGUMENT naming the first bad field by its flag, e.g.
  // "--hnsw_m: must be in [2, 256], got 1".
  absl::Status Validate() const;
};

}  // namespace quarry::vector_search

#endif  // QUARRY_SERVICES_VECTOR_SEARCH_SERVING_SERVICE_OPTIONS_H_
