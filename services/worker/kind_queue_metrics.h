#ifndef QUARRY_SERVICES_WORKER_KIND_QUEUE_METRICS_H_
#define QUARRY_SERVICES_WORKER_KIND_QUEUE_METRICS_H_

#include <set>
#include <string>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "services/common/pg/pool.h"
#include "services/common/telemetry/metrics.h"

namespace quarry::worker {

struct KindQueueMetricsOptions {
  // How often Start()'s thread refreshes the gauges.
  absl::Duration interval = absl::Seconds(5);
  // Kind names exported at most (system kinds first, then the busiest): each
  // name is six series, and tenants register names.
  int max_kinds = 200;
  // The snapshot gives up rather than pile up behind a slow database.
  absl::Duration statement_timeout = absl::Seconds(2);
};

// The queue per kind name, as gauges refreshed from one SQL statement
// (jobqueue::pgstats::ReadKindQueueStats):
//   quarry_jobs_due{kind,system}               queued, run_at <= now: what the
//                                               worker autoscalers scale on
//   quarry_jobs_scheduled{kind,system}         queued for later (backoff, delay)
//   quarry_jobs_waiting{kind,system}           waiting on dependencies
//   quarry_jobs_running{kind,system}
//   quarry_jobs_oldest_due_seconds{kind,system}
//   quarry_job_kind_paused{kind,system}        1 while a provider's rate limit
//                                               pauses the kind
//   quarry_job_kind_stats_truncated            1 when names beyond max_kinds
//                                               were left out
//   quarry_job_kind_stats_failures_total       snapshots that failed
// `system` is "true" for Quarry's own kinds, "false" for tenants' kinds.
// There is no tenant label: the series would grow with the tenants, and
// same-named kinds of different tenants are summed. Every worker replica
// exports the same whole-queue values, so queries take max() over pods,
// never sum(). A name that drops out of the snapshot reads 0.
class KindQueueMetrics {
 public:
  KindQueueMetrics(telemetry::Metrics& metrics, pg::Pool& pool,
                   KindQueueMetricsOptions options = {});
  ~KindQueueMetrics();  // stops the thread

  KindQueueMetrics(const KindQueueMetrics&) = delete;
  KindQueueMetrics& operator=(const KindQueueMetrics&) = delete;

  // One snapshot into the gauges; on error the gauges keep their values and
  // the failures counter counts it.
  absl::Status Refresh();

  // Refreshes every options.interval on a thread of its own until destruction.
  void Start();

 private:
  telemetry::Metrics& metrics_;
  pg::Pool& pool_;
  const KindQueueMetricsOptions options_;
  absl::Mutex mu_;
  // (kind, system) pairs exported so far, zeroed when they drop out.
  std::set<std::pair<std::string, bool>> exported_ ABSL_GUARDED_BY(mu_);
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace quarry::worker

#endif  // QUARRY_SERVICES_WORKER_KIND_QUEUE_METRICS_H_
