// The vector-search service: one shard of the ANN index, derived from
// PostgreSQL (snapshot + tail), serving quarry.search.v1.ShardService.
#include "absl/flags/flag.h"
#include "services/common/server/database.h"
#include "services/common/server/env_flags.h"
#include "services/common/server/runtime.h"
#include "services/common/server/server_flags.h"
#include "services/vector_search/serving/replica.h"
#include "services/vector_search/serving/service_options.h"

QUARRY_DEFINE_SERVER_FLAGS(50071, 51071);
ABSL_FLAG(std::string, database_url, "",
          "libpq connection string of PostgreSQL (no password: use a pgpass file).");
ABSL_FLAG(uint32_t, shard_index, 0, "This replica's shard, in [0, shard_count).");
ABSL_FLAG(uint32_t, shard_count, 1, "Number of shards; documents go to shard_hash % count.");
ABSL_FLAG(std::string, data_dir, "", "Where snapshots live; empty: no snapshots.");
ABSL_FLAG(absl::Duration, snapshot_interval, absl::Minutes(10),
          "How often to snapshot (each interval jittered by +/-20%).");
ABSL_FLAG(absl::Duration, snapshot_max_age, absl::Hours(1),
          "Snapshots older than this are ignored (rebuild): tombstones older than the "
          "workers' --purge_retention may be gone from the database, so an older snapshot "
          "could bring deleted documents back. Keep it <= --purge_retention.");
ABSL_FLAG(uint32_t, default_effort, 64, "HNSW ef when a request leaves effort at 0.");
ABSL_FLAG(bool, quantize, false, "Store int8 codes (about 4x less memory) and re-rank.");
ABSL_FLAG(uint32_t, hnsw_m, 16,
          "HNSW M, links per node, in [2, 256]. Higher: more recall per effort on hard data "
          "(high intrinsic dimension), slower builds, more memory. A graph loaded from a "
          "snapshot keeps the parameters it was built with until it is rebuilt.");
ABSL_FLAG(uint32_t, hnsw_ef_construction, 100,
          "HNSW ef while building the graph, in [1, 100000]. Higher: a better graph, slower "
          "builds (services/vector_search/DESIGN.md has measurements).");

int main(int argc, char** argv) {
  quarry::server::ShutdownSignals signals;
  quarry::server::ParseFlagsWithEnvironment(argc, argv);
  using quarry::server::ExitOnStartupError;

  quarry::vector_search::VectorSearchOptions options;
  options.database_url = absl::GetFlag(FLAGS_database_url);
  options.replica.shard_index = absl::GetFlag(FLAGS_shard_index);
  options.replica.shard_count = absl::GetFlag(FLAGS_shard_count);
  options.replica.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.replica.snapshot_interval = absl::GetFlag(FLAGS_snapshot_interval);
  options.replica.snapshot_max_age = absl::GetFlag(FLAGS_snapshot_max_age);
  options.replica.index.default_ef = absl::GetFlag(FLAGS_default_effort);
  options.replica.index.quantize_int8 = absl::GetFlag(FLAGS_quantize);
  options.replica.index.m = absl::GetFlag(FLAGS_hnsw_m);
  options.replica.index.ef_construction = absl::GetFlag(FLAGS_hnsw_ef_construction);
  if (absl::Status valid = options.Validate(); !valid.ok()) {
    ExitOnStartupError("configuration", valid);
  }

  auto runtime = quarry::server::Runtime::Create(QuarryServerOptionsFromFlags("vector-search"));
  if (!runtime.ok()) ExitOnStartupError("configuration", runtime.status());
  auto pool = quarry::server::OpenDatabaseOrExit(options.database_url, 3, absl::Seconds(60));

  // Loads a fresh, intact snapshot if there is one.
  quarry::vector_search::Replica replica(options.replica, *pool, options.database_url,
                                         (*runtime)->logger(), (*runtime)->metrics());
  // Serve (NOT_SERVING) while catching up, so probes can tell starting from dead.
  auto server = (*runtime)->StartServer({&replica.service()});
  if (!server.ok()) ExitOnStartupError("gRPC server", server.status());
  replica.CatchUpAndStart();
  // Only now, caught up with the change log as of the start: gateways
  // balance searches over SERVING replicas, so one joining earlier would
  // answer without writes acknowledged before it started
  // (startup_test checks this).
  (*server)->SetServing(true);
  return (*runtime)->ServeUntilSignal(signals, **server, [&replica] { replica.Drain(); });
}
