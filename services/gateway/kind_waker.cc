#include "services/gateway/kind_waker.h"

#include <memory>

#include "absl/time/clock.h"
#include "services/gateway/listen_loop.h"

namespace quarry::gateway {
namespace {

// Distinct kind names remembered before announced_ is dropped.
constexpr size_t kMaxRemembered = 10000;

}  // namespace

uint64_t KindWaker::Mark() {
  absl::MutexLock lock(&mu_);
  return sequence_;
}

bool KindWaker::Wait(const std::vector<std::string>& kinds, uint64_t mark,
                     absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock lock(&mu_);
  if (all_ > mark) return true;
  for (const std::string& kind : kinds) {
    auto it = announced_.find(kind);
    if (it != announced_.end() && it->second > mark) return true;
  }
  Waiter waiter;
  for (const std::string& kind : kinds) waiters_[kind].insert(&waiter);
  ++waiting_;
  while (!waiter.woken) {
    if (waiter.woken_cv.WaitWithDeadline(&mu_, deadline)) break;  // timed out
  }
  --waiting_;
  for (const std::string& kind : kinds) {
    auto it = waiters_.find(kind);
    if (it == waiters_.end()) continue;
    it->second.erase(&waiter);
    if (it->second.empty()) waiters_.erase(it);
  }
  return waiter.woken;
}

void KindWaker::WakeLocked(Waiter* waiter) {
  waiter->woken = true;
  waiter->woken_cv.Signal();
}

void KindWaker::Announce(absl::Span<const std::string> kinds) {
  absl::MutexLock lock(&mu_);
  ++sequence_;
  if (announced_.size() + kinds.size() > kMaxRemembered) {
    // Forgetting is safe only as "anything may have been announced".
    announced_.clear();
    all_ = sequence_;
  }
  for (const std::string& kind : kinds) {
    announced_[kind] = sequence_;
    auto it = waiters_.find(kind);
    if (it == waiters_.end()) continue;
    for (Waiter* waiter : it->second) WakeLocked(waiter);
  }
}

void KindWaker::AnnounceAll() {
  absl::MutexLock lock(&mu_);
  all_ = ++sequence_;
  announced_.clear();
  for (auto& [kind, waiters] : waiters_) {
    for (Waiter* waiter : waiters) WakeLocked(waiter);
  }
}

int KindWaker::waiting() {
  absl::MutexLock lock(&mu_);
  return waiting_;
}

JobsNewListener::JobsNewListener(std::string conninfo, KindWaker& waker)
    : conninfo_(std::move(conninfo)), waker_(waker) {
  thread_ = std::thread([this] { Loop(); });
}

JobsNewListener::~JobsNewListener() {
  stop_.Notify();
  thread_.join();
}

void JobsNewListener::Loop() {
  // While not listening, waiters fall back to their own slow poll; whatever
  // was queued meanwhile went unannounced, so a (re)connect wakes them all.
  ListenUntil(conninfo_, {"jobs_new"}, stop_, [this] { waker_.AnnounceAll(); },
              [this](std::vector<pg::Notification>& notifications) {
                std::vector<std::string> kinds;
                kinds.reserve(notifications.size());
                for (auto& n : notifications) kinds.push_back(std::move(n.payload));
                waker_.Announce(kinds);
              });
}

}  // namespace quarry::gateway
