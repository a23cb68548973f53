#ifndef QUARRY_SERVICES_GATEWAY_SHARED_RATE_LIMITER_H_
#define QUARRY_SERVICES_GATEWAY_SHARED_RATE_LIMITER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/common/pg/pool.h"
#include "services/common/telemetry/logger.h"
#include "services/gateway/rate_limiter.h"

namespace quarry::gateway {

struct SharedRateLimiterOptions {
  // A lease takes this share of the key's rate per second (at least one
  // token, at most the burst): 5% of the rate is 20 leases a second for a key
  // at its limit, whatever the rate.
  double slice_fraction = 0.05;
  // Tokens of a slice not used within this are given back with the next
  // lease, so idle gateways cannot hoard them into a later burst.
  absl::Duration slice_lifetime = absl::Milliseconds(200);
  // A lease that fails (PostgreSQL unreachable, the pool exhausted, any
  // error) puts the key on this process's own bucket for this long before
  // PostgreSQL is tried again.
  absl::Duration fallback_period = absl::Seconds(1);
  // How long a call waits for a connection, and for a lease that another call
  // of the same key has in flight, before it is admitted by the local bucket.
  absl::Duration lease_wait = absl::Seconds(1);
};

// Per-key token buckets shared by every gateway through PostgreSQL
// (the rate_limit_buckets table), so that a key's limit holds for the
// whole deployment whatever the number of gateways.
//
// Each gateway takes small slices of tokens from the shared bucket with one
// UPDATE (which also refills the bucket by the time elapsed, on PostgreSQL's
// clock) and spends them locally: at most one round trip per slice, none per
// call. Tokens only leave the shared bucket, so over any interval T the calls
// admitted across all gateways are at most burst + rate x T plus the slices
// held when the interval began, N gateways x one slice at worst (5% of the
// rate each); from a bucket at rest (no slice younger than slice_lifetime) no
// more than burst + rate x T. When the bucket is empty a gateway refuses
// locally until a full slice should have accrued, so refused calls cost no
// round trip either.
//
// When PostgreSQL cannot be reached the limiter fails open to the local
// per-process bucket (the key's rate and burst, per gateway), logs it once,
// and tries PostgreSQL again every fallback_period; calls are never failed
// because the shared bucket is unavailable. Thread-safe.
class SharedRateLimiter {
 public:
  // `logger` may be null.
  SharedRateLimiter(pg::Pool& pool, SharedRateLimiterOptions options = {},
                    telemetry::Logger* logger = nullptr);

  // Zero when the call may proceed; otherwise how long until it might.
  absl::Duration Admit(const std::string& key_id, double rate_per_second, int burst);

  // Tokens a lease asks for under `options`.
  static int SliceSize(double rate_per_second, int burst, double slice_fraction);

  // Whether the latest lease failed (the limiter runs on local buckets).
  bool degraded() const;
  // Round trips to PostgreSQL made so far (successful or not).
  int64_t leases() const { return leases_.load(); }

 private:
  struct KeyState {
    int tokens = 0;                           // of the current slice
    absl::Time expires = absl::InfinitePast();  // of the current slice
    // No lease before this: the shared bucket had less than a slice.
    absl::Time next_lease = absl::InfinitePast();
    bool leasing = false;
    absl::CondVar leased;
    // While PostgreSQL is failing: the process-local bucket.
    absl::Time local_until = absl::InfinitePast();
    std::optional<TokenBucket> local;
    double local_rate = 0;
    int local_burst = 0;
    int users = 0;  // calls inside Admit holding a reference
  };
  struct Grant {
    int granted = 0;
    double tokens_left = 0;  // in the shared bucket after the lease
  };

  absl::StatusOr<Grant> Lease(const std::string& key_id, double rate_per_second, int burst,
                              int want, int returned);
  absl::Duration AdmitLocked(KeyState& key, const std::string& key_id, double rate_per_second,
                             int burst) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Duration AdmitLocal(KeyState& key, double rate_per_second, int burst, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  pg::Pool& pool_;
  const SharedRateLimiterOptions options_;
  telemetry::Logger* const logger_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<KeyState>> keys_ ABSL_GUARDED_BY(mu_);
  bool degraded_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<int64_t> leases_{0};
};

}  // namespace quarry::gateway

#endif  // QUARRY_SERVICES_GATEWAY_SHARED_RATE_LIMITER_H_
