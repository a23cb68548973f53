#include "services/common/jobqueue/testing/in_memory_job_queue.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/status/macros.h"

namespace quarry::jobqueue {

int64_t InMemoryJobQueue::Enqueue(const JobSpec& spec) {
  absl::MutexLock lock(&mu_);
  Job job = NewQueuedJob(next_id_++, spec, absl::Now());
  jobs_[job.id] = job;
  ++version_;
  return job.id;
}

Job InMemoryJobQueue::Get(int64_t id) const {
  absl::MutexLock lock(&mu_);
  return jobs_.at(id);
}

void InMemoryJobQueue::RequestCancel(int64_t id) {
  absl::MutexLock lock(&mu_);
  Job& job = jobs_.at(id);
  if (job.state == JobState::kQueued) {
    job.state = JobState::kCancelled;
    job.finished_at = absl::Now();
  } else if (job.state == JobState::kRunning) {
    job.cancel_requested = true;
  }
}

void InMemoryJobQueue::ExpireAllLeases() {
  absl::MutexLock lock(&mu_);
  for (auto& [id, job] : jobs_) {
    if (job.state == JobState::kRunning) job.lease_expires_at = absl::Now() - absl::Seconds(1);
  }
}

std::vector<double> InMemoryJobQueue::ProgressHistory(int64_t id) const {
  absl::MutexLock lock(&mu_);
  auto it = progress_.find(id);
  return it == progress_.end() ? std::vector<double>() : it->second;
}

absl::StatusOr<Job*> InMemoryJobQueue::Held(const Job& claimed) {
  auto it = jobs_.find(claimed.id);
  if (it == jobs_.end()) return absl::NotFoundError(absl::StrCat("job ", claimed.id));
  Job& job = it->second;
  if (job.state != JobState::kRunning || job.lease_owner != claimed.lease_owner ||
      job.attempts != claimed.attempts || !job.lease_expires_at.has_value() ||
      *job.lease_expires_at < absl::Now()) {
    return absl::FailedPreconditionError(absl::StrCat("job ", claimed.id, " attempt ",
                                                      claimed.attempts, " is no longer leased to ",
                                                      claimed.lease_owner));
  }
  return &job;
}

absl::StatusOr<std::vector<Job>> InMemoryJobQueue::Claim(const std::string& owner,
                                                         absl::Span<const std::string> kinds,
                                                         int max_jobs, absl::Duration lease) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = absl::Now();
  std::vector<Job*> runnable;
  for (auto& [id, job] : jobs_) {
    if (job.state == JobState::kQueued && job.run_at <= now &&
        std::find(kinds.begin(), kinds.end(), job.kind) != kinds.end()) {
      runnable.push_back(&job);
    }
  }
  std::sort(runnable.begin(), runnable.end(), [](const Job* a, const Job* b) {
    return a->priority != b->priority ? a->priority > b->priority : a->run_at < b->run_at;
  });
  std::vector<Job> claimed;
  for (Job* job : runnable) {
    if (static_cast<int>(claimed.size()) >= max_jobs) break;
    job->state = JobState::kRunning;
    job->attempts += 1;
    job->lease_owner = owner;
    job->lease_expires_at = now + lease;
    job->started_at = now;
    job->progress = 0;
    claimed.push_back(*job);
  }
  return claimed;
}

absl::StatusOr<bool> InMemoryJobQueue::Heartbeat(const Job& claimed, absl::Duration lease) {
  absl::MutexLock lock(&mu_);
  QUARRY_ASSIGN_OR_RETURN(Job* held, Held(claimed));
  Job& job = *held;
  job.lease_expires_at = absl::Now() + lease;
  return job.cancel_requested;
}

absl::Status InMemoryJobQueue::SetProgress(const Job& claimed, double fraction,
                                           const std::string& message) {
  absl::MutexLock lock(&mu_);
  QUARRY_ASSIGN_OR_RETURN(Job* held, Held(claimed));
  Job& job = *held;
  job.progress = fraction;
  job.progress_message = message;
  progress_[job.id].push_back(fraction);
  return absl::OkStatus();
}

absl::Status InMemoryJobQueue::Complete(const Job& claimed, const std::string& result_json) {
  absl::MutexLock lock(&mu_);
  QUARRY_ASSIGN_OR_RETURN(Job* held, Held(claimed));
  CompleteHeld(*held, result_json);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<bool>> InMemoryJobQueue::CompleteBatch(
    absl::Span<const Completion> done) {
  absl::MutexLock lock(&mu_);
  std::vector<bool> recorded;
  for (const Completion& c : done) {
    absl::StatusOr<Job*> held = Held(*c.claimed);
    if (held.ok()) CompleteHeld(**held, c.result_json);
    recorded.push_back(held.ok());
  }
  return recorded;
}

void InMemoryJobQueue::CompleteHeld(Job& job, const std::string& result_json) {
  job.state = JobState::kSucceeded;
  job.result_json = result_json;
  job.progress = 1;
  job.lease_owner.clear();
  job.lease_expires_at.reset();
  job.finished_at = absl::Now();
}

absl::Status InMemoryJobQueue::Fail(const Job& claimed, const std::string& error,
                                    bool permanent, absl::Duration retry_delay) {
  absl::MutexLock lock(&mu_);
  QUARRY_ASSIGN_OR_RETURN(Job* held, Held(claimed));
  Job& job = *held;
  job.last_error = error;
  job.lease_owner.clear();
  job.lease_expires_at.reset();
  if (permanent || job.attempts >= job.max_attempts) {
    job.state = JobState::kDead;
    job.finished_at = absl::Now();
  } else {
    job.state = JobState::kQueued;
    job.run_at = absl::Now() + retry_delay;
    ++version_;
  }
  return absl::OkStatus();
}

absl::Status InMemoryJobQueue::MarkCancelled(const Job& claimed) {
  absl::MutexLock lock(&mu_);
  QUARRY_ASSIGN_OR_RETURN(Job* held, Held(claimed));
  Job& job = *held;
  job.state = JobState::kCancelled;
  job.lease_owner.clear();
  job.lease_expires_at.reset();
  job.finished_at = absl::Now();
  return absl::OkStatus();
}

absl::Status InMemoryJobQueue::Release(const Job& claimed) {
  absl::MutexLock lock(&mu_);
  QUARRY_ASSIGN_OR_RETURN(Job* held, Held(claimed));
  Job& job = *held;
  job.state = JobState::kQueued;
  job.attempts -= 1;
  job.lease_owner.clear();
  job.lease_expires_at.reset();
  job.run_at = absl::Now();
  ++version_;
  return absl::OkStatus();
}

absl::StatusOr<int> InMemoryJobQueue::RecoverExpiredLeases() {
  absl::MutexLock lock(&mu_);
  int recovered = 0;
  const absl::Time now = absl::Now();
  for (auto& [id, job] : jobs_) {
    if (job.state != JobState::kRunning || !job.lease_expires_at.has_value() ||
        *job.lease_expires_at >= now) {
      continue;
    }
    job.lease_owner.clear();
    job.lease_expires_at.reset();
    job.last_error = "lease expired: the worker running it stopped heartbeating";
    if (job.attempts >= job.max_attempts) {
      job.state = JobState::kDead;
      job.finished_at = now;
    } else {
      job.state = JobState::kQueued;
      job.run_at = now;
    }
    ++recovered;
  }
  if (recovered > 0) ++version_;
  return recovered;
}

void InMemoryJobQueue::WaitForWork(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  const uint64_t seen = version_;
  auto changed = [this, seen]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return version_ != seen; };
  mu_.AwaitWithTimeout(absl::Condition(&changed), timeout);
}

}  // namespace quarry::jobqueue
