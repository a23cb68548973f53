#ifndef QUARRY_SERVICES_COMMON_JOBQUEUE_BACKOFF_H_
#define QUARRY_SERVICES_COMMON_JOBQUEUE_BACKOFF_H_

#include "absl/random/bit_gen_ref.h"
#include "absl/time/time.h"

namespace quarry::jobqueue {

struct BackoffPolicy {
  absl::Duration initial = absl::Seconds(1);
  double multiplier = 2.0;
  absl::Duration max = absl::Minutes(5);
};

// Delay before retrying after the `attempt`-th failed attempt (1-based):
// exponential, capped, with "full jitter" (uniform in [delay/2, delay]) so
// that jobs failing together, e.g. during an embedding outage, do not all
// retry in the same instant and fail together again.
absl::Duration RetryDelay(int attempt, const BackoffPolicy& policy, absl::BitGenRef random);

}  // namespace quarry::jobqueue

#endif  // QUARRY_SERVICES_COMMON_JOBQUEUE_BACKOFF_H_
