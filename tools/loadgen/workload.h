#ifndef QUARRY_TOOLS_LOADGEN_WORKLOAD_H_
#define QUARRY_TOOLS_LOADGEN_WORKLOAD_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace quarry::loadgen {

// One kind of request. Issue() starts one asynchronous call and calls `done`
// exactly once with its status, from a gRPC callback thread.
class Workload {
 public:
  virtual ~Workload() = default;
  virtual std::string name() const = 0;
  virtual void Issue(std::function<void(const grpc::Status&)> done) = 0;
};

struct WorkloadOptions {
  std::string api_key;            // sent as "authorization: Bearer <key>"
  std::string collection = "loadgen";  // searched
  // Where upserts go. main() fills it with a collection loadgen creates for
  // itself unless --upsert_collection names one: writes must not grow the
  // collection whose searches are measured.
  std::string upsert_collection;
  int64_t collection_id = 0;      // shard_search
  int top_k = 10;
  int dimension = 384;            // vector queries and shard_search
  bool vector_queries = false;    // search by random vector instead of text
  int upsert_batch = 10;
  std::string run_id;             // prefix of generated document ids
  absl::Duration deadline = absl::Seconds(5);
  std::vector<std::string> texts;  // query and document texts
  // Where acknowledged upsert ids are appended (one per line); empty: nowhere.
  std::string acked_ids_file;
};

// "search", "upsert", "embed", "shard_search" or "health"; `channel` is the target's.
absl::StatusOr<std::unique_ptr<Workload>> MakeWorkload(const std::string& name,
                                                       std::shared_ptr<grpc::Channel> channel,
                                                       const WorkloadOptions& options);

// Picks among workloads by weight on each Issue(): "search:8,upsert:2".
absl::StatusOr<std::unique_ptr<Workload>> MakeMix(const std::string& spec,
                                                  std::shared_ptr<grpc::Channel> channel,
                                                  const WorkloadOptions& options);

// Whether the workload spec ("upsert", "search:8,upsert:2") issues upserts.
bool SpecUpserts(const std::string& spec);

// The collection loadgen creates for its own upserts: "<prefix>-loadgen-<pid>-<unix seconds>",
// the prefix shortened so the name fits the gateway's collection name limit.
std::string OwnUpsertCollectionName(const std::string& prefix, int64_t pid, int64_t unix_seconds);

// Texts to use when no file is given: short real-world-like sentences.
std::vector<std::string> DefaultTexts();

}  // namespace quarry::loadgen

#endif  // QUARRY_TOOLS_LOADGEN_WORKLOAD_H_
