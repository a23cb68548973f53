#ifndef QUARRY_SERVICES_WORKER_HANDLERS_HANDLERS_H_
#define QUARRY_SERVICES_WORKER_HANDLERS_HANDLERS_H_

#include <memory>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "services/common/embedding_client/embedding_client.h"
#include "services/common/pg/pool.h"
#include "services/worker/job_handler.h"

namespace quarry::worker {

// The job kinds Quarry runs. Payloads are JSON objects:
//   index_documents     {"collection_id": 7, "ids": ["a", "b"]}  (ids optional: all pending)
//   reindex_collection  {"collection": "docs"} or {"collection_id": 7}
//   refresh_stats       {}
//   purge_deleted       {"retention_seconds": 3600}  (optional; default from the worker)
struct HandlerOptions {
  // Texts per embedding call.
  int batch_size = 64;
  // Deadline of one embedding call.
  absl::Duration embed_timeout = absl::Seconds(30);
  // Tombstones younger than this are kept, so every vector-search replica
  // sees the delete before the row disappears.
  absl::Duration purge_retention = absl::Hours(1);
};

// Registers the four kinds. `pool` and `embedder` must outlive the registry.
absl::Status RegisterHandlers(HandlerRegistry& registry, pg::Pool& pool,
                              EmbeddingClient& embedder, const HandlerOptions& options);

}  // namespace quarry::worker

#endif  // QUARRY_SERVICES_WORKER_HANDLERS_HANDLERS_H_
