#include "services/vector_search/serving/replica.h"

#include <sys/stat.h>

#include <algorithm>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace quarry::vector_search {
namespace {

// First and longest wait between failed catch-up attempts at start.
constexpr absl::Duration kFirstCatchUpBackoff = absl::Milliseconds(200);
constexpr absl::Duration kMaxCatchUpBackoff = absl::Seconds(5);
// How often housekeeping refreshes the gauges and checks the snapshot clock.
constexpr absl::Duration kHousekeepingTick = absl::Seconds(5);

TailerOptions TailerOptionsFor(const ReplicaOptions& options) {
  TailerOptions tailer;
  tailer.shard_index = options.shard_index;
  tailer.shard_count = options.shard_count;
  return tailer;
}

}  // namespace

std::string ReplicaOptions::snapshot_dir() const {
  if (data_dir.empty()) return "";
  return absl::StrCat(data_dir, "/shard-", shard_index, "-of-", shard_count);
}

Replica::Replica(const ReplicaOptions& options, pg::Pool& pool, std::string database_url,
                 telemetry::Logger& logger, telemetry::Metrics& metrics)
    : options_(options),
      snapshot_dir_(options.snapshot_dir()),
      logger_(logger),
      metrics_(metrics),
      state_(LoadState(options, logger)),
      tailer_(pool, std::move(database_url), *state_, TailerOptionsFor(options)),
      service_(*state_, MakeShardInfo(), &metrics) {}

Replica::~Replica() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (housekeeping_.joinable()) housekeeping_.join();
}

std::unique_ptr<ShardState> Replica::LoadState(const ReplicaOptions& options,
                                               telemetry::Logger& logger) {
  auto state = std::make_unique<ShardState>(options.index);
  const std::string dir = options.snapshot_dir();
  if (dir.empty()) return state;
  const absl::Time start = absl::Now();
  struct stat info;
  const std::string manifest = dir + "/MANIFEST";
  if (stat(manifest.c_str(), &info) != 0) return state;  // No snapshot yet.
  const absl::Duration age = absl::Now() - absl::FromTimeT(info.st_mtime);
  if (age > options.snapshot_max_age) {
    logger.Warn("snapshot too old, rebuilding from PostgreSQL",
                {{"age", absl::FormatDuration(age)}});
  } else if (absl::Status loaded = state->LoadSnapshot(dir); !loaded.ok()) {
    // Never serve a damaged snapshot: start empty and rebuild.
    logger.Error("snapshot rejected, rebuilding from PostgreSQL", {{"error", loaded.ToString()}});
    state = std::make_unique<ShardState>(options.index);
  } else {
    logger.Info("snapshot loaded",
                {{"watermark", absl::StrCat(state->watermark())},
                 {"seconds", absl::StrCat(absl::ToDoubleSeconds(absl::Now() - start))}});
  }
  return state;
}

ShardInfo Replica::MakeShardInfo() {
  ShardInfo info;
  info.shard_index = options_.shard_index;
  info.shard_count = options_.shard_count;
  info.ready = [this] { return ready_.load(); };
  info.latest_seen = [this] { return tailer_.latest_seen(); };
  info.last_caught_up = [this] { return tailer_.last_caught_up(); };
  return info;
}

void Replica::CatchUpAndStart() {
  const absl::Time catch_up_start = absl::Now();
  for (absl::Duration backoff = kFirstCatchUpBackoff;;
       backoff = std::min(backoff * 2, kMaxCatchUpBackoff)) {
    absl::Status status = tailer_.CatchUp();
    if (status.ok()) break;
    logger_.Warn("catching up failed, retrying", {{"error", status.ToString()}});
    absl::SleepFor(backoff);
  }
  logger_.Info("caught up",
               {{"watermark", absl::StrCat(state_->watermark())},
                {"seconds", absl::StrCat(absl::ToDoubleSeconds(absl::Now() - catch_up_start))},
                {"vectors", absl::StrCat(state_->Stats().vectors)}});
  metrics_.Gauge("quarry_index_cold_start_seconds", "Snapshot load plus catch-up at start.")
      .Set(absl::ToDoubleSeconds(absl::Now() - catch_up_start));
  tailer_.Start();
  ready_ = true;
  housekeeping_ = std::thread([this] { Housekeeping(); });
}

void Replica::Housekeeping() {
  // Each interval is drawn from [0.8, 1.2) x snapshot_interval so that
  // replicas started together do not all snapshot at the same moment.
  absl::BitGen bitgen;
  auto next_interval = [&] { return options_.snapshot_interval * absl::Uniform(bitgen, 0.8, 1.2); };
  absl::Time next_snapshot = absl::Now() + next_interval();
  do {
    PublishStats();
    if (!snapshot_dir_.empty() && absl::Now() >= next_snapshot) {
      WriteSnapshot();
      next_snapshot = absl::Now() + next_interval();
    }
  } while (!stop_.WaitForNotificationWithTimeout(kHousekeepingTick));
}

void Replica::WriteSnapshot() {
  const absl::Time start = absl::Now();
  if (absl::Status s = state_->WriteSnapshot(snapshot_dir_); !s.ok()) {
    logger_.Error("snapshot failed", {{"error", s.ToString()}});
  } else {
    logger_.Info("snapshot written",
                 {{"watermark", absl::StrCat(state_->watermark())},
                  {"seconds", absl::StrCat(absl::ToDoubleSeconds(absl::Now() - start))}});
  }
}

void Replica::Drain() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (housekeeping_.joinable()) housekeeping_.join();
  if (!snapshot_dir_.empty()) {
    absl::Status s = state_->WriteSnapshot(snapshot_dir_);
    logger_.Info("snapshot on drain",
                 {{"status", s.ToString()}, {"watermark", absl::StrCat(state_->watermark())}});
  }
}

void Replica::PublishStats() {
  const ShardStats stats = state_->Stats();
  metrics_.Gauge("quarry_index_vectors", "Live vectors in this replica's indexes.")
      .Set(stats.vectors);
  metrics_.Gauge("quarry_index_tombstones", "Deleted or superseded entries awaiting a rebuild.")
      .Set(stats.deleted);
  metrics_.Gauge("quarry_index_memory_bytes", "Memory held by vectors and graphs.")
      .Set(stats.memory_bytes);
  metrics_.Gauge("quarry_index_rebuilds", "Background rebuilds completed since start.")
      .Set(stats.rebuilds);
  const int64_t watermark = state_->watermark();
  metrics_.Gauge("quarry_index_watermark", "Last applied document sequence number.")
      .Set(watermark);
  metrics_.Gauge("quarry_index_lag_sequences", "Sequence numbers behind PostgreSQL.")
      .Set(std::max<int64_t>(0, tailer_.latest_seen() - watermark));
  metrics_.Gauge("quarry_index_lag_seconds", "Seconds since the replica was last caught up.")
      .Set(absl::ToDoubleSeconds(absl::Now() - tailer_.last_caught_up()));
}

}  // namespace quarry::vector_search
