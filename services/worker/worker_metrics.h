#ifndef QUARRY_SERVICES_WORKER_WORKER_METRICS_H_
#define QUARRY_SERVICES_WORKER_WORKER_METRICS_H_

#include <thread>

#include "absl/synchronization/notification.h"
#include "services/common/pg/pool.h"
#include "services/common/telemetry/metrics.h"
#include "services/worker/runner.h"
#include "services/worker/scheduler.h"

namespace quarry::worker {

// The worker's domain metrics:
//   quarry_jobs_queue_depth{kind,state}       jobs queued / running (what the
//                                              HorizontalPodAutoscaler scales on)
//   quarry_job_wait_seconds{kind}             runnable -> started
//   quarry_job_run_seconds{kind,outcome}      run time of an attempt
//   quarry_job_attempts_total{kind,outcome}   attempts by outcome (dead included)
//   quarry_job_lease_expiries_total           leases of vanished workers recovered
//   quarry_schedule_ticks_total{schedule,kind,outcome}
//                                             schedule ticks fired / skipped
class WorkerMetrics {
 public:
  WorkerMetrics(telemetry::Metrics& metrics, pg::Pool& pool);
  ~WorkerMetrics();

  // For RunnerOptions::on_event / on_leases_recovered.
  void OnEvent(const JobEvent& event);
  void OnLeasesRecovered(int count);
  // For SchedulerOptions::on_tick.
  void OnTick(const TickEvent& event);

  // Refreshes the queue depth gauges every `interval` until destruction.
  void StartQueueDepthPolling(absl::Duration interval);
  // One refresh (also used by the poller).
  absl::Status RefreshQueueDepth();

 private:
  telemetry::Metrics& metrics_;
  pg::Pool& pool_;
  absl::Notification stop_;
  std::thread poller_;
};

}  // namespace quarry::worker

#endif  // QUARRY_SERVICES_WORKER_WORKER_METRICS_H_
