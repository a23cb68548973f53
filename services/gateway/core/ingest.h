#ifndef QUARRY_SERVICES_GATEWAY_CORE_INGEST_H_
#define QUARRY_SERVICES_GATEWAY_CORE_INGEST_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "quarry/gateway/v1/document_service.pb.h"
#include "services/gateway/core/stores.h"

namespace quarry::gateway {

// Writes and reads of documents. A write commits the documents and the
// index_documents job that embeds them together (the job row is the
// transactional outbox); with wait_for_indexed it then waits for the job and
// for every shard replica to apply the write (read-your-writes).
class Ingest {
 public:
  Ingest(CollectionStore& collections, DocumentStore& documents, JobStore& jobs,
         JobWatcher& watcher, ShardClient& shards)
      : collections_(collections),
        documents_(documents),
        jobs_(jobs),
        watcher_(watcher),
        shards_(shards) {}

  struct Upserted {
    jobqueue::Job job;  // as finished, after a wait for indexing
    store::UpsertResult result;
    int64_t sequence = 0;  // the write's highest seq (after a wait: incl. its vectors)
  };
  // Validates `request` (also its vectors against the collection's
  // dimension) and writes it; waits for indexing if it asks to, until
  // `deadline`.
  absl::StatusOr<Upserted> Upsert(int64_t tenant_id,
                                  const quarry::gateway::v1::UpsertDocumentsRequest& request,
                                  absl::Time deadline);

  struct Fetched {
    std::vector<quarry::gateway::v1::Document> documents;  // in the order asked
    std::vector<std::string> missing_ids;
  };
  absl::StatusOr<Fetched> Get(int64_t tenant_id, const std::string& collection,
                              const std::vector<std::string>& ids);

  // With `wait_for_indexed`, returns once every replica has applied the
  // delete (none to wait for when nothing was deleted).
  absl::StatusOr<store::DeleteResult> Delete(int64_t tenant_id, const std::string& collection,
                                             const std::vector<std::string>& ids,
                                             bool wait_for_indexed, absl::Time deadline);

  // Until the job has succeeded; FAILED_PRECONDITION if it ended otherwise,
  // DEADLINE_EXCEEDED at `deadline`.
  absl::Status WaitForJob(int64_t tenant_id, int64_t job_id, absl::Time deadline);

 private:
  CollectionStore& collections_;
  DocumentStore& documents_;
  JobStore& jobs_;
  JobWatcher& watcher_;
  ShardClient& shards_;
};

}  // namespace quarry::gateway

#endif  // QUARRY_SERVICES_GATEWAY_CORE_INGEST_H_
