#ifndef QUARRY_SERVICES_COMMON_JOBQUEUE_BACKOFF_H_
#define QUARRY_SERVICES_COMMON_JOBQUEUE_BACKOFF_H_

#include "absl/random/bit_gen_ref.h"
#include "absl/time/time.h"

namespace quarry::jobqueue {

struct BackoffPolicy {
  absl::Duration initial = absl::Seconds(1);
  double multiplier = 2.0;
  absl::Duration max = absl::Minutes(5);
  // Fraction of the delay taken off at random, in [0, 1].
  double jitter = 0.5;
};

// Delay before retrying after the `attempt`-th failed attempt (1-based):
// exponential, capped, with jitter (uniform in [delay * (1 - jitter), delay];
// the default takes off up to half) so
// that jobs failing together, e.g. during an embedding outage, do not all
// retry in the same instant and fail together again.
absl::Duration RetryDelay(int attempt, const BackoffPolicy& policy, absl::BitGenRef random);

}  // namespace quarry::jobqueue

#endif  // QUARRY_SERVICES_COMMON_JOBQUEUE_BACKOFF_H_
