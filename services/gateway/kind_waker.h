#ifndef QUARRY_SERVICES_GATEWAY_KIND_WAKER_H_
#define QUARRY_SERVICES_GATEWAY_KIND_WAKER_H_

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "services/gateway/core/workers.h"

namespace quarry::gateway {

// Waiting ClaimJobs calls, keyed by kind name, woken when a job of one of
// their kinds is announced. Each announcement wakes every waiter of that
// kind (PostgreSQL folds a transaction's identical notifications into one,
// and a kind name is not a tenant's, so waking just one could strand the
// rest); the woken retry their claim and the losers wait again.
class KindWaker final : public JobArrivals {
 public:
  uint64_t Mark() override;
  bool Wait(const std::vector<std::string>& kinds, uint64_t mark,
            absl::Duration timeout) override;

  // Jobs of `kinds` became queued.
  void Announce(absl::Span<const std::string> kinds);
  // Announcements may have been lost (the listener reconnected): every
  // waiter, and every claim since any mark before now, looks again.
  void AnnounceAll();

  // Waiters now (for tests).
  int waiting();

 private:
  struct Waiter {
    absl::CondVar woken_cv;
    bool woken = false;
  };
  void WakeLocked(Waiter* waiter) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  uint64_t sequence_ ABSL_GUARDED_BY(mu_) = 0;
  // The sequence of the last AnnounceAll.
  uint64_t all_ ABSL_GUARDED_BY(mu_) = 0;
  // Per kind, the sequence of its last announcement: what a claim racing an
  // announcement compares its mark with. Cleared when large (an AnnounceAll),
  // so it stays bounded whatever kind names are announced.
  absl::flat_hash_map<std::string, uint64_t> announced_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::flat_hash_set<Waiter*>> waiters_ ABSL_GUARDED_BY(mu_);
  int waiting_ ABSL_GUARDED_BY(mu_) = 0;
};

// The gateway's one LISTEN 'jobs_new' connection, feeding a KindWaker: so a
// waiting claim on any gateway wakes when any gateway (or Quarry's own
// code, or a released dependency) queues a job of its kind.
class JobsNewListener {
 public:
  JobsNewListener(std::string conninfo, KindWaker& waker);
  ~JobsNewListener();

 private:
  void Loop();

  const std::string conninfo_;
  KindWaker& waker_;
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace quarry::gateway

#endif  // QUARRY_SERVICES_GATEWAY_KIND_WAKER_H_
