#ifndef QUARRY_SERVICES_WORKER_SCHEDULER_H_
#define QUARRY_SERVICES_WORKER_SCHEDULER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "services/common/pg/pool.h"

namespace quarry::worker {

// One tick of one schedule, for metrics.
struct TickEvent {
  int64_t schedule_id = 0;
  std::string kind;
  enum Outcome { kFired, kSkipped } outcome = kFired;
};

struct SchedulerOptions {
  // How often Start()'s thread runs a pass.
  absl::Duration poll = absl::Seconds(5);
  // Schedules claimed (and locked) per transaction.
  int batch = 16;
  // Missed ticks a catch-up schedule enqueues per pass; the rest follow in
  // later passes.
  int max_catch_up_ticks = 100;
  // The scheduler's notion of now; tests step it by hand.
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  // Called after the pass's transaction committed.
  std::function<void(const TickEvent&)> on_tick;
};

// Turns due rows of job_schedules into jobs. Every worker replica runs one:
// rows are claimed FOR UPDATE SKIP LOCKED, so one replica handles a tick, and
// the job's idempotency key names the tick, so even two passes that both
// fired it would make one job. The tick's job, the schedule's next_run_at and
// its skip counters are written in one transaction.
class Scheduler {
 public:
  Scheduler(pg::Pool& pool, SchedulerOptions options);
  ~Scheduler();  // stops the thread

  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  struct PassStats {
    int fired = 0;    // jobs enqueued (a tick whose job existed is not counted)
    int skipped = 0;  // ticks skipped by the overlap policy
  };
  // Handles every schedule due at clock() (catch-up ticks beyond the bound
  // wait for the next pass).
  absl::StatusOr<PassStats> RunOnce();

  // Runs a pass every options.poll on a thread of its own, until Stop().
  void Start();
  void Stop();

 private:
  pg::Pool& pool_;
  const SchedulerOptions options_;
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace quarry::worker

#endif  // QUARRY_SERVICES_WORKER_SCHEDULER_H_
