#include "services/gateway/rate_limiter.h"

#include <algorithm>

namespace quarry::gateway {

TokenBucket::TokenBucket(double rate_per_second, double burst, absl::Time now)
    : rate_per_second_(rate_per_second), burst_(std::max(1.0, burst)), tokens_(burst_), last_(now) {}

absl::Duration TokenBucket::TryTake(absl::Time now) {
  if (now > last_) {
    tokens_ = std::min(burst_, tokens_ + absl::ToDoubleSeconds(now - last_) * rate_per_second_);
    last_ = now;
  }
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return absl::ZeroDuration();
  }
  if (rate_per_second_ <= 0) return absl::InfiniteDuration();
  return absl::Seconds((1.0 - tokens_) / rate_per_second_);
}

absl::Duration RateLimiter::Admit(const std::string& key_id, double rate_per_second, int burst,
                                  absl::Time now) {
  absl::MutexLock lock(&mu_);
  auto it = buckets_.find(key_id);
  if (it == buckets_.end()) {
    it = buckets_.emplace(key_id, TokenBucket(rate_per_second, burst, now)).first;
  }
  return it->second.TryTake(now);
}

}  // namespace quarry::gateway
