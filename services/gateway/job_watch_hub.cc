#include "services/gateway/job_watch_hub.h"

#include "absl/strings/numbers.h"
#include "services/gateway/listen_loop.h"

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
  // Watchers re-read after their timeout, so a reconnect needs nothing more.
  ListenUntil(conninfo_, {"job_changed"}, stop_, [] {},
              [this](std::vector<pg::Notification>& notifications) {
                absl::MutexLock lock(&mu_);
                // Bounded memory: counters of finished jobs are dropped now and
                // then; a watcher that loses its counter just re-reads after its
                // timeout.
                if (versions_.size() > 100000) versions_.clear();
                for (const auto& n : notifications) {
                  int64_t id;
                  if (absl::SimpleAtoi(n.payload, &id)) ++versions_[id];
                }
              });
}

}  // namespace quarry::gateway
