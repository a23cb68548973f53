#ifndef QUARRY_SERVICES_WORKER_RUNNER_H_
#define QUARRY_SERVICES_WORKER_RUNNER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "services/common/jobqueue/backoff.h"
#include "services/common/jobqueue/job_queue.h"
#include "services/worker/job_handler.h"

namespace quarry::worker {

// What happened to one job, for metrics.
struct JobEvent {
  enum Kind { kStarted, kSucceeded, kRetried, kDead, kCancelled, kReleased, kLeaseLost };
  Kind kind;
  std::string job_kind;
  int attempt = 0;
  // kStarted: time from run_at (when it became runnable) to the start.
  // Others: run time of the attempt.
  absl::Duration duration;
};

struct RunnerOptions {
  // Lease owner id, unique per process (host:pid:random).
  std::string owner;
  // Jobs run at once (handler threads).
  int threads = 4;
  // How long a claim lasts without a heartbeat; a dead worker's jobs are
  // claimable again after this.
  absl::Duration lease = absl::Seconds(30);
  // How often running jobs renew their lease (well under `lease`).
  absl::Duration heartbeat = absl::Seconds(5);
  // Longest sleep when idle; LISTEN/NOTIFY normally wakes the runner sooner,
  // so this only bounds the latency after a lost notification.
  absl::Duration poll_interval = absl::Seconds(2);
  // How often expired leases of dead workers are recovered.
  absl::Duration recover_interval = absl::Seconds(5);
  // Most jobs claimed beyond the free threads, waiting to start, so a thread
  // that finishes finds its next job without a claim commit in between. A
  // waiting job is heartbeated like a running one, so its lease holds.
  int claim_ahead = 16;
  // How long a job claimed ahead should wait to start, about: the depth is
  // scaled to threads * claim_ahead_wait / (mean run time), so short jobs are
  // claimed 16 ahead and long ones are not hoarded away from other workers.
  absl::Duration claim_ahead_wait = absl::Seconds(1);
  // Most successful jobs recorded in one commit by the completer.
  int complete_batch = 64;
  jobqueue::BackoffPolicy backoff;
  // Called on every job event and with the count of recovered leases; from
  // runner threads, so it must be thread-safe. Optional.
  std::function<void(const JobEvent&)> on_event;
  std::function<void(int)> on_leases_recovered;
};

// What the runner is doing, for GetWorkerStatus and metrics.
struct RunningJobInfo {
  int64_t id = 0;
  std::string kind;
  int attempt = 0;
  absl::Time start_time;
  double progress = 0;
};

struct RunnerCounters {
  int64_t succeeded = 0;
  int64_t retried = 0;
  int64_t dead = 0;
  int64_t cancelled = 0;
  int64_t released = 0;
  int64_t lease_lost = 0;
  int64_t leases_recovered = 0;
};

// Claims jobs of the registered kinds from the queue and runs them on a fixed
// set of threads, renewing leases while they run. One dispatcher thread claims
// in batches (the free threads plus `claim_ahead`), so an idle worker costs one
// blocked wait, not a polling loop per thread. One completer thread records
// the successes: everything finished while its previous commit was in flight
// goes into the next one, so with durable commits the cost per job falls as
// the load rises. Failures and cancellations are recorded by their handler
// thread, one job at a time.
class Runner {
 public:
  Runner(jobqueue::JobQueue& queue, const HandlerRegistry& registry, RunnerOptions options);
  ~Runner();

  void Start();

  // Stops claiming and releases the claimed jobs not started yet (another
  // worker takes them at once), lets running jobs finish within `grace`, then
  // asks the rest to stop and releases them too; successes already finished
  // are recorded before it returns. Returns {finished during grace,
  // released}. Idempotent.
  std::pair<int, int> Drain(absl::Duration grace);

  std::vector<RunningJobInfo> Running() const;
  RunnerCounters counters() const;
  bool draining() const;
  const RunnerOptions& options() const { return options_; }
  const std::vector<std::string>& kinds() const { return kinds_; }

 private:
  struct Slot;
  class Context;
  enum class Outcome { kNone, kSucceeded, kRetried, kDead, kCancelled };

  void DispatchLoop();
  void WorkLoop();
  void CompleteLoop();
  void HeartbeatLoop();
  void Execute(std::shared_ptr<Slot> slot);
  // Hands a success to the completer, or records anything else itself.
  void Finish(std::shared_ptr<Slot> slot, const absl::StatusOr<std::string>& result);
  // Reports the outcomes (events, counters) and forgets the slots.
  void Record(absl::Span<const std::pair<Slot*, Outcome>> outcomes);
  // Releases every claimed job that has not started; returns how many the
  // queue took back.
  int ReleaseUnstarted();
  // Jobs the dispatcher may hold (waiting or running): threads plus the
  // claim-ahead depth for the recent run times.
  int Capacity() const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Whether the dispatcher should claim now.
  bool RoomToClaim() const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  jobqueue::JobQueue& queue_;
  const HandlerRegistry& registry_;
  const RunnerOptions options_;
  const std::vector<std::string> kinds_;

  mutable absl::Mutex mu_;
  // Keyed by (job id, attempt): after a lost lease the same job may be held
  // twice for a moment, by its stale attempt and by the new one.
  absl::flat_hash_map<std::pair<int64_t, int>, std::shared_ptr<Slot>> running_
      ABSL_GUARDED_BY(mu_);
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  bool drained_ ABSL_GUARDED_BY(mu_) = false;  // Drain has returned.
  int64_t finished_since_drain_ ABSL_GUARDED_BY(mu_) = 0;
  RunnerCounters counters_ ABSL_GUARDED_BY(mu_);
  absl::BitGen random_ ABSL_GUARDED_BY(mu_);

  // Claimed jobs waiting for a free handler thread.
  std::deque<std::shared_ptr<Slot>> pending_ ABSL_GUARDED_BY(mu_);
  // Successes waiting for the completer, and how many slots of running_ are
  // there or in its commit (they no longer take a place of the claim).
  std::deque<std::shared_ptr<Slot>> to_complete_ ABSL_GUARDED_BY(mu_);
  int completing_ ABSL_GUARDED_BY(mu_) = 0;
  // Set once the handler threads are gone: nothing more will be handed over.
  bool completer_stop_ ABSL_GUARDED_BY(mu_) = false;
  // Moving average of handler run times, for the claim-ahead depth; starts
  // at a second (one per thread ahead, by default) until jobs are seen.
  double mean_run_seconds_ ABSL_GUARDED_BY(mu_);

  std::thread dispatcher_;
  std::thread completer_;
  std::thread heartbeat_;
  std::vector<std::thread> workers_;
};

}  // namespace quarry::worker

#endif  // QUARRY_SERVICES_WORKER_RUNNER_H_
