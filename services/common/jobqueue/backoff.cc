#include "services/common/jobqueue/backoff.h"

#include <algorithm>
#include <cmath>

#include "absl/random/distributions.h"

namespace quarry::jobqueue {

absl::Duration RetryDelay(int attempt, const BackoffPolicy& policy, absl::BitGenRef random) {
  const int exponent = std::clamp(attempt - 1, 0, 62);
  const double uncapped =
      absl::ToDoubleSeconds(policy.initial) * std::pow(policy.multiplier, exponent);
  const double capped = std::min(uncapped, absl::ToDoubleSeconds(policy.max));
  const double low = capped * (1 - std::clamp(policy.jitter, 0.0, 1.0));
  if (low >= capped) return absl::Seconds(capped);
  return absl::Seconds(absl::Uniform(random, low, capped));
}

}  // namespace quarry::jobqueue
