#include "services/worker/kind_queue_metrics.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "services/common/jobqueue/pg_kind_stats.h"

namespace quarry::worker {
namespace {

using jobqueue::pgstats::KindQueueStats;

}  // namespace

KindQueueMetrics::KindQueueMetrics(telemetry::Metrics& metrics, pg::Pool& pool,
                                   KindQueueMetricsOptions options)
    : metrics_(metrics), pool_(pool), options_(options) {}

KindQueueMetrics::~KindQueueMetrics() {
  stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

absl::Status KindQueueMetrics::Refresh() {
  bool truncated = false;
  auto stats = pool_.WithTransaction(
      [&](pqxx::work& txn) -> absl::StatusOr<std::vector<KindQueueStats>> {
        txn.exec(absl::StrCat("SET LOCAL statement_timeout = ",
                              absl::ToInt64Milliseconds(options_.statement_timeout)));
        return jobqueue::pgstats::ReadKindQueueStats(txn, options_.max_kinds, &truncated);
      });
  if (!stats.ok()) {
    metrics_
        .Counter("quarry_job_kind_stats_failures_total",
                 "Per-kind queue snapshots that failed (the gauges kept their values).")
        .Increment();
    return stats.status();
  }

  absl::MutexLock lock(&mu_);
  std::set<std::pair<std::string, bool>> absent = exported_;
  auto set = [&](const KindQueueStats& s) {
    const prometheus::Labels labels = {{"kind", s.kind}, {"system", s.system ? "true" : "false"}};
    metrics_.Gauge("quarry_jobs_due", "Queued jobs whose run_at has come, by kind.", labels)
        .Set(static_cast<double>(s.due));
    metrics_
        .Gauge("quarry_jobs_scheduled", "Queued jobs whose run_at is still ahead, by kind.",
               labels)
        .Set(static_cast<double>(s.scheduled));
    metrics_.Gauge("quarry_jobs_waiting", "Jobs waiting on dependencies, by kind.", labels)
        .Set(static_cast<double>(s.waiting));
    metrics_.Gauge("quarry_jobs_running", "Running jobs, by kind.", labels)
        .Set(static_cast<double>(s.running));
    metrics_
        .Gauge("quarry_jobs_oldest_due_seconds",
               "Seconds since the oldest due job of the kind became runnable; 0 if none.", labels)
        .Set(s.oldest_due_seconds);
    metrics_
        .Gauge("quarry_job_kind_paused",
               "1 while a provider's rate limit pauses the kind (job_kinds.paused_until).", labels)
        .Set(s.paused ? 1 : 0);
  };
  for (const KindQueueStats& s : *stats) {
    set(s);
    absent.erase({s.kind, s.system});
    exported_.insert({s.kind, s.system});
  }
  // A deleted kind, or one cut by max_kinds, must not keep its last count.
  for (const auto& [kind, system] : absent) {
    KindQueueStats zero;
    zero.kind = kind;
    zero.system = system;
    set(zero);
  }
  metrics_
      .Gauge("quarry_job_kind_stats_truncated",
             "1 when kind names beyond the exported maximum were left out.")
      .Set(truncated ? 1 : 0);
  return absl::OkStatus();
}

void KindQueueMetrics::Start() {
  thread_ = std::thread([this] {
    do {
      (void)Refresh();
    } while (!stop_.WaitForNotificationWithTimeout(options_.interval));
  });
}

}  // namespace quarry::worker
