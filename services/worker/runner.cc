#include "services/worker/runner.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace quarry::worker {

// One claimed job and what its handler may observe.
struct Runner::Slot {
  jobqueue::Job job;
  JobHandler* handler = nullptr;
  absl::Time start_time;
  std::atomic<bool> cancel_requested{false};
  std::atomic<bool> lease_lost{false};
  std::atomic<bool> released{false};
  std::atomic<double> progress{0};
  bool done = false;  // Guarded by Runner::mu_.
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
      kinds_(registry.Kinds()) {}

Runner::~Runner() { Drain(absl::ZeroDuration()); }

void Runner::Start() {
  for (int i = 0; i < options_.threads; ++i) workers_.emplace_back([this] { WorkLoop(); });
  dispatcher_ = std::thread([this] { DispatchLoop(); });
  heartbeat_ = std::thread([this] { HeartbeatLoop(); });
}

void Runner::DispatchLoop() {
  absl::Time next_recover = absl::InfinitePast();
  while (true) {
    int free_slots;
    {
      absl::MutexLock lock(&mu_);
      if (draining_) return;
      free_slots = options_.threads - static_cast<int>(running_.size());
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
    if (free_slots <= 0) {
      // Wait for a handler to finish (or drain).
      absl::MutexLock lock(&mu_);
      auto has_room = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return draining_ || static_cast<int>(running_.size()) < options_.threads;
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
    absl::MutexLock lock(&mu_);
    for (jobqueue::Job& job : *claimed) {
      auto slot = std::make_shared<Slot>();
      slot->handler = registry_.Find(job.kind);
      slot->start_time = absl::Now();
      slot->cancel_requested = job.cancel_requested;
      slot->job = std::move(job);
      if (options_.on_event) {
        options_.on_event({JobEvent::kStarted, slot->job.kind, slot->job.attempts,
                           std::max(absl::ZeroDuration(), slot->start_time - slot->job.run_at)});
      }
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
    }
    Execute(std::move(slot));
  }
}

void Runner::Execute(std::shared_ptr<Slot> slot) {
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
    result = slot->handler->Run(context);
  }
  Finish(*slot, result);
}

void Runner::Finish(Slot& slot, const absl::StatusOr<std::string>& result) {
  const int64_t id = slot.job.id;
  // A released or lost job belongs to someone else now: record nothing.
  const bool ours = !slot.released && !slot.lease_lost;
  enum { kNone, kSucceeded, kRetried, kDead, kCancelled } outcome = kNone;
  if (ours) {
    if (result.ok()) {
      if (queue_.Complete(slot.job, *result).ok()) outcome = kSucceeded;
    } else if (result.status().code() == absl::StatusCode::kCancelled && slot.cancel_requested) {
      if (queue_.MarkCancelled(slot.job).ok()) outcome = kCancelled;
    } else {
      const bool permanent = IsPermanentFailure(result.status());
      const bool last_attempt = slot.job.attempts >= slot.job.max_attempts;
      absl::Duration delay;
      {
        absl::MutexLock lock(&mu_);
        delay = jobqueue::RetryDelay(slot.job.attempts, options_.backoff, random_);
      }
      if (queue_.Fail(slot.job, std::string(result.status().ToString()), permanent, delay).ok()) {
        outcome = (permanent || last_attempt) ? kDead : kRetried;
      }
    }
  }
  if (options_.on_event) {
    JobEvent event{JobEvent::kSucceeded, slot.job.kind, slot.job.attempts,
                   absl::Now() - slot.start_time};
    bool report = true;
    switch (outcome) {
      case kSucceeded: event.kind = JobEvent::kSucceeded; break;
      case kRetried: event.kind = JobEvent::kRetried; break;
      case kDead: event.kind = JobEvent::kDead; break;
      case kCancelled: event.kind = JobEvent::kCancelled; break;
      case kNone:
        event.kind = slot.lease_lost ? JobEvent::kLeaseLost : JobEvent::kReleased;
        report = slot.lease_lost || slot.released;
        break;
    }
    if (report) options_.on_event(event);
  }
  absl::MutexLock lock(&mu_);
  switch (outcome) {
    case kSucceeded: ++counters_.succeeded; break;
    case kRetried: ++counters_.retried; break;
    case kDead: ++counters_.dead; break;
    case kCancelled: ++counters_.cancelled; break;
    case kNone: break;
  }
  if (slot.lease_lost) ++counters_.lease_lost;
  if (draining_ && !slot.released) ++finished_since_drain_;
  running_.erase(std::make_pair(id, slot.job.attempts));
}

void Runner::HeartbeatLoop() {
  while (true) {
    std::vector<std::shared_ptr<Slot>> slots;
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stopped_), options_.heartbeat);
      if (stopped_) return;
      for (const auto& [key, slot] : running_) slots.push_back(slot);
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

std::pair<int, int> Runner::Drain(absl::Duration grace) {
  std::vector<std::shared_ptr<Slot>> leftovers;
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return {0, 0};
    draining_ = true;
    auto idle = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return running_.empty(); };
    mu_.AwaitWithTimeout(absl::Condition(&idle), grace);
    for (const auto& [key, slot] : running_) leftovers.push_back(slot);
  }
  if (dispatcher_.joinable()) dispatcher_.join();
  int released = 0;
  for (const auto& slot : leftovers) {
    slot->released = true;  // The handler sees ShouldStop() and returns soon.
    if (queue_.Release(slot->job).ok()) ++released;
  }
  int finished;
  {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
    counters_.released += released;
    finished = static_cast<int>(finished_since_drain_);
  }
  // Handlers were told to stop; wait for their threads so nothing outlives us.
  for (std::thread& thread : workers_) thread.join();
  workers_.clear();
  if (heartbeat_.joinable()) heartbeat_.join();
  return {finished, released};
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
