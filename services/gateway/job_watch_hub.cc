#include "services/gateway/job_watch_hub.h"

#include "absl/strings/numbers.h"
#include "services/common/pg/listener.h"

namespace quarry::gateway {

JobWatchHub::JobWatchHub(std::string conninfo) : conninfo_(std::move(conninfo)) {
  thread_ = std::thread([this] { Loop(); });
}

JobWatchHub::~JobWatchHub() {
  stop_.Notify();
  thread_.join();
}

uint64_t JobWatchHub::Version(int64_t job_id) {
  absl::MutexLock lock(&mu_);
  auto it = versions_.find(job_id);
  return it == versions_.end() ? 0 : it->second;
}

void JobWatchHub::Wait(int64_t job_id, uint64_t seen, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto moved = [this, job_id, seen]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    auto it = versions_.find(job_id);
    return it != versions_.end() && it->second != seen;
  };
  mu_.AwaitWithTimeout(absl::Condition(&moved), timeout);
}

void JobWatchHub::Loop() {
  std::unique_ptr<pg::Listener> listener;
  while (!stop_.HasBeenNotified()) {
    if (listener == nullptr) {
      auto created = pg::Listener::Create(conninfo_, {"job_changed"});
      if (!created.ok()) {
        stop_.WaitForNotificationWithTimeout(absl::Seconds(1));
        continue;
      }
      listener = std::move(*created);
    }
    auto notifications = listener->WaitForNotification(absl::Milliseconds(500));
    if (!notifications.ok()) {
      listener.reset();
      continue;
    }
    absl::MutexLock lock(&mu_);
    // Bounded memory: counters of finished jobs are dropped now and then;
    // a watcher that loses its counter just re-reads after its timeout.
    if (versions_.size() > 100000) versions_.clear();
    for (const auto& n : *notifications) {
      int64_t id;
      if (absl::SimpleAtoi(n.payload, &id)) ++versions_[id];
    }
  }
}

}  // namespace quarry::gateway
