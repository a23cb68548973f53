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
  return absl::Seconds(absl::Uniform(random, capped / 2, capped));
}

}  // namespace quarry::jobqueue
