// The vector-search service: one shard of the ANN index, derived from
// PostgreSQL (snapshot + tail), serving quarry.search.v1.ShardService.
#include <sys/stat.h>

#include <filesystem>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "services/common/server/database.h"
#include "services/common/server/env_flags.h"
#include "services/common/server/runtime.h"
#include "services/common/server/server_flags.h"
#include "services/vector_search/hnsw_index.h"
#include "services/vector_search/serving/shard_service.h"
#include "services/vector_search/serving/shard_state.h"
#include "services/vector_search/serving/tailer.h"

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

namespace {

using quarry::server::ExitOnStartupError;

void PublishStats(quarry::telemetry::Metrics& metrics, const quarry::vector_search::ShardState& state,
                  const quarry::vector_search::Tailer& tailer) {
  const auto stats = state.Stats();
  metrics.Gauge("quarry_index_vectors", "Live vectors in this replica's indexes.").Set(stats.vectors);
  metrics.Gauge("quarry_index_tombstones", "Deleted or superseded entries awaiting a rebuild.")
      .Set(stats.deleted);
  metrics.Gauge("quarry_index_memory_bytes", "Memory held by vectors and graphs.")
      .Set(stats.memory_bytes);
  metrics.Gauge("quarry_index_rebuilds", "Background rebuilds completed since start.")
      .Set(stats.rebuilds);
  const int64_t watermark = state.watermark();
  metrics.Gauge("quarry_index_watermark", "Last applied document sequence number.").Set(watermark);
  metrics.Gauge("quarry_index_lag_sequences", "Sequence numbers behind PostgreSQL.")
      .Set(std::max<int64_t>(0, tailer.latest_seen() - watermark));
  metrics.Gauge("quarry_index_lag_seconds", "Seconds since the replica was last caught up.")
      .Set(absl::ToDoubleSeconds(absl::Now() - tailer.last_caught_up()));
}

}  // namespace

int main(int argc, char** argv) {
  quarry::server::ShutdownSignals signals;
  quarry::server::ParseFlagsWithEnvironment(argc, argv);
  const std::string database_url = absl::GetFlag(FLAGS_database_url);
  const uint32_t shard_count = absl::GetFlag(FLAGS_shard_count);
  const uint32_t shard_index = absl::GetFlag(FLAGS_shard_index);
  if (shard_count < 1 || shard_index >= shard_count) {
    ExitOnStartupError("--shard_index", absl::InvalidArgumentError(absl::StrCat(
                                            "must be in [0, --shard_count=", shard_count,
                                            "), got ", shard_index)));
  }
  const uint32_t effort = absl::GetFlag(FLAGS_default_effort);
  if (effort < 1 || effort > 4096) {
    ExitOnStartupError("--default_effort", absl::InvalidArgumentError("must be in [1, 4096]"));
  }

  const uint32_t hnsw_m = absl::GetFlag(FLAGS_hnsw_m);
  if (absl::Status status = quarry::vector_search::ValidateM(hnsw_m); !status.ok()) {
    ExitOnStartupError("--hnsw_m", status);
  }
  const uint32_t ef_construction = absl::GetFlag(FLAGS_hnsw_ef_construction);
  if (absl::Status status = quarry::vector_search::ValidateEfConstruction(ef_construction);
      !status.ok()) {
    ExitOnStartupError("--hnsw_ef_construction", status);
  }

  auto runtime = quarry::server::Runtime::Create(QuarryServerOptionsFromFlags("vector-search"));
  if (!runtime.ok()) ExitOnStartupError("configuration", runtime.status());
  auto& logger = (*runtime)->logger();
  auto& metrics = (*runtime)->metrics();

  auto pool = quarry::server::OpenDatabaseOrExit(database_url, 3, absl::Seconds(60));

  quarry::vector_search::HnswOptions index_options;
  index_options.default_ef = effort;
  index_options.m = hnsw_m;
  index_options.ef_construction = ef_construction;
  index_options.quantize_int8 = absl::GetFlag(FLAGS_quantize);
  auto state = std::make_unique<quarry::vector_search::ShardState>(index_options);

  std::string snapshot_dir;
  if (const std::string data_dir = absl::GetFlag(FLAGS_data_dir); !data_dir.empty()) {
    snapshot_dir = absl::StrCat(data_dir, "/shard-", shard_index, "-of-", shard_count);
    const absl::Time start = absl::Now();
    struct stat info;
    const std::string manifest = snapshot_dir + "/MANIFEST";
    if (stat(manifest.c_str(), &info) == 0) {
      const absl::Duration age = absl::Now() - absl::FromTimeT(info.st_mtime);
      if (age > absl::GetFlag(FLAGS_snapshot_max_age)) {
        logger.Warn("snapshot too old, rebuilding from PostgreSQL",
                    {{"age", absl::FormatDuration(age)}});
      } else if (absl::Status loaded = state->LoadSnapshot(snapshot_dir); !loaded.ok()) {
        // Never serve a damaged snapshot: start empty and rebuild.
        logger.Error("snapshot rejected, rebuilding from PostgreSQL",
                     {{"error", loaded.ToString()}});
        state = std::make_unique<quarry::vector_search::ShardState>(index_options);
      } else {
        logger.Info("snapshot loaded", {{"watermark", absl::StrCat(state->watermark())},
                                       {"seconds", absl::StrCat(absl::ToDoubleSeconds(
                                                       absl::Now() - start))}});
      }
    }
  }

  quarry::vector_search::TailerOptions tailer_options;
  tailer_options.shard_index = shard_index;
  tailer_options.shard_count = shard_count;
  quarry::vector_search::Tailer tailer(*pool, database_url, *state, tailer_options);

  std::atomic<bool> ready{false};
  quarry::vector_search::ShardInfo info;
  info.shard_index = shard_index;
  info.shard_count = shard_count;
  info.ready = [&ready] { return ready.load(); };
  info.latest_seen = [&tailer] { return tailer.latest_seen(); };
  info.last_caught_up = [&tailer] { return tailer.last_caught_up(); };
  quarry::vector_search::ShardServiceImpl service(*state, info, &metrics);
  // Serve (NOT_SERVING) while catching up, so probes can tell starting from dead.
  auto server = (*runtime)->StartServer({&service});
  if (!server.ok()) ExitOnStartupError("gRPC server", server.status());

  const absl::Time catch_up_start = absl::Now();
  for (absl::Duration backoff = absl::Milliseconds(200);; backoff = std::min(backoff * 2, absl::Seconds(5))) {
    absl::Status status = tailer.CatchUp();
    if (status.ok()) break;
    logger.Warn("catching up failed, retrying", {{"error", status.ToString()}});
    absl::SleepFor(backoff);
  }
  logger.Info("caught up", {{"watermark", absl::StrCat(state->watermark())},
                            {"seconds", absl::StrCat(absl::ToDoubleSeconds(absl::Now() - catch_up_start))},
                            {"vectors", absl::StrCat(state->Stats().vectors)}});
  metrics.Gauge("quarry_index_cold_start_seconds", "Snapshot load plus catch-up at start.")
      .Set(absl::ToDoubleSeconds(absl::Now() - catch_up_start));
  tailer.Start();
  ready = true;
  // Only now, caught up with the change log as of the start: gateways
  // balance searches over SERVING replicas, so one joining earlier would
  // answer without writes acknowledged before it started
  // (startup_test checks this).
  (*server)->SetServing(true);

  absl::Notification stop;
  std::thread housekeeping([&] {
    // Each interval is drawn from [0.8, 1.2) x --snapshot_interval so that
    // replicas started together do not all snapshot at the same moment.
    absl::BitGen bitgen;
    auto next_interval = [&] {
      return absl::GetFlag(FLAGS_snapshot_interval) * absl::Uniform(bitgen, 0.8, 1.2);
    };
    absl::Time next_snapshot = absl::Now() + next_interval();
    do {
      PublishStats(metrics, *state, tailer);
      if (!snapshot_dir.empty() && absl::Now() >= next_snapshot) {
        const absl::Time start = absl::Now();
        if (absl::Status s = state->WriteSnapshot(snapshot_dir); !s.ok()) {
          logger.Error("snapshot failed", {{"error", s.ToString()}});
        } else {
          logger.Info("snapshot written",
                      {{"watermark", absl::StrCat(state->watermark())},
                       {"seconds", absl::StrCat(absl::ToDoubleSeconds(absl::Now() - start))}});
        }
        next_snapshot = absl::Now() + next_interval();
      }
    } while (!stop.WaitForNotificationWithTimeout(absl::Seconds(5)));
  });

  const int code = (*runtime)->ServeUntilSignal(signals, **server, [&] {
    stop.Notify();
    housekeeping.join();
    if (!snapshot_dir.empty()) {
      absl::Status s = state->WriteSnapshot(snapshot_dir);
      logger.Info("snapshot on drain", {{"status", s.ToString()},
                                        {"watermark", absl::StrCat(state->watermark())}});
    }
  });
  return code;
}
