#include "services/worker/runner.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/common/telemetry/trace_context.h"

namespace quarry::worker {

// One claimed job and what its handler may observe.
struct Runner::Slot {
  jobqueue::Job job;
  JobHandler* handler = nullptr;
  absl::Time start_time;  // When claimed, then when its handler started.
  std::atomic<bool> cancel_requested{false};
  std::atomic<bool> lease_lost{false};
  std::atomic<bool> released{false};
  std::atomic<double> progress{0};
  // Handed to the completer (guarded by Runner::mu_), with its result.
  bool completing = false;
  std::string result_json;
};

class Runner::Context final : public JobContext {
 public:
  Context(Runner& runner, Slot& slot) : runner_(runner), slot_(slot) {}
  const jobqueue::Job& job() const override { return slot_.job; }
  bool ShouldStop() const override {
    return slot_.cancel_requested || slot_.lease_lost || slot_.released;
  }
  absl::Status SetProgress(double fraction, const std::string& message) override {
    slot_.progress = fraction;
    return runner_.queue_.SetProgress(slot_.job, fraction, message);
  }

 private:
  Runner& runner_;
  Slot& slot_;
};

Runner::Runner(jobqueue::JobQueue& queue, const HandlerRegistry& registry, RunnerOptions options)
    : queue_(queue), registry_(registry), options_(std::move(options)),
      kinds_(registry.Kinds()),
      mean_run_seconds_(1.0) {}

Runner::~Runner() { Drain(absl::ZeroDuration()); }

void Runner::Start() {
  for (int i = 0; i < options_.threads; ++i) workers_.emplace_back([this] { WorkLoop(); });
  completer_ = std::thread([this] { CompleteLoop(); });
  dispatcher_ = std::thread([this] { DispatchLoop(); });
  heartbeat_ = std::thread([this] { HeartbeatLoop(); });
}

int Runner::Capacity() const {
  const int most = std::max(0, options_.claim_ahead);
  const double wait = absl::ToDoubleSeconds(options_.claim_ahead_wait);
  const double ahead = mean_run_seconds_ > 0 ? options_.threads * wait / mean_run_seconds_ : most;
  return options_.threads + static_cast<int>(std::min<double>(most, ahead));
}

bool Runner::RoomToClaim() const {
  const int free_slots = Capacity() - (static_cast<int>(running_.size()) - completing_);
  // While jobs are still waiting to start, top up only by a claim's worth:
  // with slow jobs, one claim per finished job would be a commit per job.
  return free_slots > 0 && (pending_.empty() || free_slots >= options_.threads);
}

void Runner::DispatchLoop() {
  absl::Time next_recover = absl::InfinitePast();
  while (true) {
    int free_slots;
    bool room;
    {
      absl::MutexLock lock(&mu_);
      if (draining_) return;
      free_slots = Capacity() - (static_cast<int>(running_.size()) - completing_);
      room = RoomToClaim();
    }
    if (absl::Now() >= next_recover) {
      if (auto recovered = queue_.RecoverExpiredLeases(); recovered.ok() && *recovered > 0) {
        {
          absl::MutexLock lock(&mu_);
          counters_.leases_recovered += *recovered;
        }
        if (options_.on_leases_recovered) options_.on_leases_recovered(*recovered);
      }
      next_recover = absl::Now() + options_.recover_interval;
    }
    if (!room) {
      // Wait for handlers to take jobs and finish them (or drain).
      absl::MutexLock lock(&mu_);
      auto has_room = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return draining_ || RoomToClaim();
      };
      mu_.AwaitWithTimeout(absl::Condition(&has_room), options_.poll_interval);
      continue;
    }
    auto claimed = queue_.Claim(options_.owner, kinds_, free_slots, options_.lease);
    if (!claimed.ok() || claimed->empty()) {
      // Database trouble or nothing to do: wait for a notification or the poll interval.
      queue_.WaitForWork(options_.poll_interval);
      continue;
    }
    const absl::Time now = absl::Now();
    absl::MutexLock lock(&mu_);
    for (jobqueue::Job& job : *claimed) {
      auto slot = std::make_shared<Slot>();
      slot->handler = registry_.Find(job.kind);
      slot->start_time = now;
      slot->cancel_requested = job.cancel_requested;
      slot->job = std::move(job);
      running_[{slot->job.id, slot->job.attempts}] = slot;
      pending_.push_back(std::move(slot));
    }
  }
}

void Runner::WorkLoop() {
  while (true) {
    std::shared_ptr<Slot> slot;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return stopped_ || !pending_.empty();
      };
      mu_.Await(absl::Condition(&ready));
      if (pending_.empty()) return;  // Stopped and nothing left.
      slot = std::move(pending_.front());
      pending_.pop_front();
      slot->start_time = absl::Now();
    }
    Execute(std::move(slot));
  }
}

void Runner::Execute(std::shared_ptr<Slot> slot) {
  if (options_.on_event && !slot->released) {
    options_.on_event({JobEvent::kStarted, slot->job.kind, slot->job.attempts,
                       std::max(absl::ZeroDuration(), slot->start_time - slot->job.run_at)});
  }
  absl::StatusOr<std::string> result;
  if (slot->released) {
    result = absl::CancelledError("released by drain before it started");
  } else if (slot->handler == nullptr) {
    result = absl::FailedPreconditionError(
        absl::StrCat("no handler for job kind \"", slot->job.kind, "\""));
  } else if (slot->cancel_requested) {
    result = absl::CancelledError("cancelled before it started");
  } else {
    Context context(*this, *slot);
    // The handler's outgoing calls (embedding, shards) continue the trace of
    // the job's submit; a job without one starts none.
    absl::StatusOr<telemetry::SpanContext> submit =
        telemetry::ParseTraceparent(slot->job.traceparent);
    telemetry::ScopedSpanContext in_submit_trace(
        submit.ok() ? std::optional<telemetry::SpanContext>(*submit) : std::nullopt);
    result = slot->handler->Run(context);
  }
  Finish(std::move(slot), result);
}

void Runner::Finish(std::shared_ptr<Slot> slot, const absl::StatusOr<std::string>& result) {
  {
    // Under mu_, so that Drain either releases the job or sees it here.
    absl::MutexLock lock(&mu_);
    if (!slot->released) {
      const double run = absl::ToDoubleSeconds(absl::Now() - slot->start_time);
      mean_run_seconds_ = 0.9 * mean_run_seconds_ + 0.1 * run;
    }
    if (result.ok() && !slot->released && !slot->lease_lost) {
      slot->result_json = *result;
      slot->completing = true;
      ++completing_;
      to_complete_.push_back(std::move(slot));
      return;
    }
  }
  // A released or lost job belongs to someone else now: record nothing.
  Outcome outcome = Outcome::kNone;
  if (!result.ok() && !slot->released && !slot->lease_lost) {
    if (result.status().code() == absl::StatusCode::kCancelled && slot->cancel_requested) {
      if (queue_.MarkCancelled(slot->job).ok()) outcome = Outcome::kCancelled;
    } else {
      const bool permanent = IsPermanentFailure(result.status());
      const bool last_attempt = slot->job.attempts >= slot->job.max_attempts;
      absl::Duration delay;
      {
        absl::MutexLock lock(&mu_);
        delay = jobqueue::RetryDelay(slot->job.attempts, options_.backoff, random_);
      }
      if (queue_.Fail(slot->job, std::string(result.status().ToString()), permanent, delay)
              .ok()) {
        outcome = (permanent || last_attempt) ? Outcome::kDead : Outcome::kRetried;
      }
    }
  }
  Record({{slot.get(), outcome}});
}

void Runner::CompleteLoop() {
  const size_t most = static_cast<size_t>(std::max(1, options_.complete_batch));
  while (true) {
    std::vector<std::shared_ptr<Slot>> batch;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return completer_stop_ || !to_complete_.empty();
      };
      mu_.Await(absl::Condition(&ready));
      if (to_complete_.empty()) return;  // Stopped and everything recorded.
      while (!to_complete_.empty() && batch.size() < most) {
        batch.push_back(std::move(to_complete_.front()));
        to_complete_.pop_front();
      }
    }
    std::vector<jobqueue::JobQueue::Completion> done;
    done.reserve(batch.size());
    for (const auto& slot : batch) done.push_back({&slot->job, slot->result_json});
    std::vector<bool> recorded;
    if (auto batched = queue_.CompleteBatch(done); batched.ok() && batched->size() == batch.size()) {
      recorded = *std::move(batched);
    } else {
      // The batch's transaction failed as a whole (e.g. a deadlock with
      // another worker's batch over shared dependents): one at a time, as
      // before batching, so one bad job or moment does not cost the rest.
      for (const auto& slot : batch) {
        recorded.push_back(queue_.Complete(slot->job, slot->result_json).ok());
      }
    }
    std::vector<std::pair<Slot*, Outcome>> outcomes;
    outcomes.reserve(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      outcomes.push_back({batch[i].get(), recorded[i] ? Outcome::kSucceeded : Outcome::kNone});
    }
    Record(outcomes);
  }
}

void Runner::Record(absl::Span<const std::pair<Slot*, Outcome>> outcomes) {
  if (options_.on_event) {
    const absl::Time now = absl::Now();
    for (const auto& [slot, outcome] : outcomes) {
      JobEvent event{JobEvent::kSucceeded, slot->job.kind, slot->job.attempts,
                     now - slot->start_time};
      bool report = true;
      switch (outcome) {
        case Outcome::kSucceeded: event.kind = JobEvent::kSucceeded; break;
        case Outcome::kRetried: event.kind = JobEvent::kRetried; break;
        case Outcome::kDead: event.kind = JobEvent::kDead; break;
        case Outcome::kCancelled: event.kind = JobEvent::kCancelled; break;
        case Outcome::kNone:
          event.kind = slot->lease_lost ? JobEvent::kLeaseLost : JobEvent::kReleased;
          report = slot->lease_lost || slot->released;
          break;
      }
      if (report) options_.on_event(event);
    }
  }
  // One lock for a whole batch: every release of mu_ re-evaluates the
  // waiters' conditions.
  absl::MutexLock lock(&mu_);
  for (const auto& [slot, outcome] : outcomes) {
    switch (outcome) {
      case Outcome::kSucceeded: ++counters_.succeeded; break;
      case Outcome::kRetried: ++counters_.retried; break;
      case Outcome::kDead: ++counters_.dead; break;
      case Outcome::kCancelled: ++counters_.cancelled; break;
      case Outcome::kNone:
        if (slot->lease_lost) ++counters_.lease_lost;
        break;
    }
    if (draining_ && !slot->released) ++finished_since_drain_;
    if (slot->completing) --completing_;
    running_.erase(std::make_pair(slot->job.id, slot->job.attempts));
  }
}

void Runner::HeartbeatLoop() {
  while (true) {
    std::vector<std::shared_ptr<Slot>> slots;
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stopped_), options_.heartbeat);
      if (stopped_) return;
      // Running and waiting to start alike: a claimed job keeps its lease
      // until it ends. A finished one is past needing it, and its lease would
      // read as lost the moment the completer's commit lands.
      for (const auto& [key, slot] : running_) {
        if (!slot->completing) slots.push_back(slot);
      }
    }
    for (const auto& slot : slots) {
      if (slot->released) continue;
      auto cancel = queue_.Heartbeat(slot->job, options_.lease);
      if (cancel.ok()) {
        if (*cancel) slot->cancel_requested = true;
      } else if (cancel.status().code() == absl::StatusCode::kFailedPrecondition) {
        slot->lease_lost = true;  // Someone else owns it now; stop working on it.
      }
    }
  }
}

int Runner::ReleaseUnstarted() {
  std::deque<std::shared_ptr<Slot>> unstarted;
  {
    absl::MutexLock lock(&mu_);
    unstarted.swap(pending_);
    for (const auto& slot : unstarted) slot->released = true;
  }
  int released = 0;
  std::vector<std::pair<Slot*, Outcome>> outcomes;
  for (const auto& slot : unstarted) {
    if (queue_.Release(slot->job).ok()) ++released;
    outcomes.push_back({slot.get(), Outcome::kNone});
  }
  Record(outcomes);
  return released;
}

std::pair<int, int> Runner::Drain(absl::Duration grace) {
  {
    absl::MutexLock lock(&mu_);
    if (draining_) {
      // Another caller (the admin Drain, then SIGTERM) drains: wait for it,
      // so that the caller cannot destroy the runner under its feet.
      mu_.Await(absl::Condition(&drained_));
      return {0, 0};
    }
    draining_ = true;
  }
  // Jobs waiting to start go back at once, not after the grace.
  int released = ReleaseUnstarted();
  {
    absl::MutexLock lock(&mu_);
    auto idle = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return running_.empty(); };
    mu_.AwaitWithTimeout(absl::Condition(&idle), grace);
  }
  if (dispatcher_.joinable()) dispatcher_.join();
  released += ReleaseUnstarted();  // Claimed while the drain began.
  std::vector<std::shared_ptr<Slot>> leftovers;
  {
    absl::MutexLock lock(&mu_);
    // Finished ones with the completer are recorded below, not released.
    for (const auto& [key, slot] : running_) {
      if (slot->completing) continue;
      slot->released = true;  // The handler sees ShouldStop() and returns soon.
      leftovers.push_back(slot);
    }
  }
  for (const auto& slot : leftovers) {
    if (queue_.Release(slot->job).ok()) ++released;
  }
  {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
    counters_.released += released;
  }
  // Handlers were told to stop; wait for their threads so nothing outlives us.
  for (std::thread& thread : workers_) thread.join();
  workers_.clear();
  {
    absl::MutexLock lock(&mu_);
    completer_stop_ = true;
  }
  if (completer_.joinable()) completer_.join();  // Records what was handed over.
  if (heartbeat_.joinable()) heartbeat_.join();
  absl::MutexLock lock(&mu_);
  drained_ = true;
  return {static_cast<int>(finished_since_drain_), released};
}

std::vector<RunningJobInfo> Runner::Running() const {
  absl::MutexLock lock(&mu_);
  std::vector<RunningJobInfo> result;
  for (const auto& [key, slot] : running_) {
    result.push_back({slot->job.id, slot->job.kind, slot->job.attempts, slot->start_time,
                      slot->progress.load()});
  }
  return result;
}

RunnerCounters Runner::counters() const {
  absl::MutexLock lock(&mu_);
  return counters_;
}

bool Runner::draining() const {
  absl::MutexLock lock(&mu_);
  return draining_;
}

}  // namespace quarry::worker
