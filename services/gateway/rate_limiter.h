#ifndef QUARRY_SERVICES_GATEWAY_RATE_LIMITER_H_
#define QUARRY_SERVICES_GATEWAY_RATE_LIMITER_H_

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace quarry::gateway {

// A token bucket: `rate_per_second` tokens accrue continuously up to `burst`.
// Not thread-safe; RateLimiter guards a set of them.
class TokenBucket {
 public:
  TokenBucket(double rate_per_second, double burst, absl::Time now);

  // Takes one token if there is one and returns zero; otherwise takes nothing
  // and returns how long until a token will be there.
  absl::Duration TryTake(absl::Time now);

 private:
  double rate_per_second_;
  double burst_;
  double tokens_;
  absl::Time last_;
};

// Token buckets per API key, created on first use with that key's limits.
// Per process: with N gateways a key would get up to N times its rate, so the
// gateway admits through SharedRateLimiter, which shares each key's bucket
// through PostgreSQL and falls back to a TokenBucket only while that fails.
class RateLimiter {
 public:
  // Zero when the call may proceed; otherwise RESOURCE_EXHAUSTED should be
  // returned with the delay in the message.
  absl::Duration Admit(const std::string& key_id, double rate_per_second, int burst,
                       absl::Time now);

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, TokenBucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace quarry::gateway

#endif  // QUARRY_SERVICES_GATEWAY_RATE_LIMITER_H_
