#include "services/worker/worker_metrics.h"

#include <map>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "services/common/model/job_kinds.h"
#include "services/common/status/macros.h"

namespace quarry::worker {
namespace {

const char* OutcomeName(JobEvent::Kind kind) {
  switch (kind) {
    case JobEvent::kSucceeded: return "succeeded";
    case JobEvent::kRetried: return "retried";
    case JobEvent::kDead: return "dead";
    case JobEvent::kCancelled: return "cancelled";
    case JobEvent::kReleased: return "released";
    case JobEvent::kLeaseLost: return "lease_lost";
    case JobEvent::kStarted: return "started";
  }
  return "unknown";
}

}  // namespace

WorkerMetrics::WorkerMetrics(telemetry::Metrics& metrics, pg::Pool& pool)
    : metrics_(metrics), pool_(pool) {}

WorkerMetrics::~WorkerMetrics() {
  stop_.Notify();
  if (poller_.joinable()) poller_.join();
}

void WorkerMetrics::OnEvent(const JobEvent& event) {
  if (event.kind == JobEvent::kStarted) {
    metrics_
        .Histogram("quarry_job_wait_seconds", "Time from runnable (run_at) to started.",
                   telemetry::LatencySecondsBuckets(), {{"kind", event.job_kind}})
        .Observe(absl::ToDoubleSeconds(event.duration));
    return;
  }
  const std::string outcome = OutcomeName(event.kind);
  metrics_
      .Histogram("quarry_job_run_seconds", "Run time of one job attempt.",
                 telemetry::LatencySecondsBuckets(),
                 {{"kind", event.job_kind}, {"outcome", outcome}})
      .Observe(absl::ToDoubleSeconds(event.duration));
  metrics_
      .Counter("quarry_job_attempts_total", "Job attempts by outcome.",
               {{"kind", event.job_kind}, {"outcome", outcome}})
      .Increment();
}

void WorkerMetrics::OnLeasesRecovered(int count) {
  metrics_
      .Counter("quarry_job_lease_expiries_total",
               "Running jobs whose worker stopped heartbeating, requeued.")
      .Increment(count);
}

void WorkerMetrics::OnTick(const TickEvent& event) {
  metrics_
      .Counter("quarry_schedule_ticks_total", "Periodic schedule ticks by outcome.",
               {{"schedule", absl::StrCat(event.schedule_id)},
                {"kind", event.kind},
                {"outcome", event.outcome == TickEvent::kFired ? "fired" : "skipped"}})
      .Increment();
}

absl::Status WorkerMetrics::RefreshQueueDepth() {
  QUARRY_ASSIGN_OR_RETURN(
      pqxx::result rows,
      pool_.Query("SELECT kind, state, count(*) FROM jobs WHERE state IN ('queued', 'running') "
                  "GROUP BY kind, state"));
  std::map<std::pair<std::string, std::string>, double> depth;
  for (const auto& row : rows) {
    depth[{row[0].as<std::string>(), row[1].as<std::string>()}] = row[2].as<double>();
  }
  // Kinds seen before but empty now must drop to zero, not keep their last value.
  for (absl::string_view kind : model::kJobKinds) {
    for (const auto& state : {"queued", "running"}) {
      depth.try_emplace({std::string(kind), state}, 0.0);
    }
  }
  for (const auto& [key, value] : depth) {
    metrics_
        .Gauge("quarry_jobs_queue_depth", "Jobs by kind and state (queued, running).",
               {{"kind", key.first}, {"state", key.second}})
        .Set(value);
  }
  return absl::OkStatus();
}

void WorkerMetrics::StartQueueDepthPolling(absl::Duration interval) {
  poller_ = std::thread([this, interval] {
    do {
      (void)RefreshQueueDepth();
    } while (!stop_.WaitForNotificationWithTimeout(interval));
  });
}

}  // namespace quarry::worker
