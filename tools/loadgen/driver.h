#ifndef QUARRY_TOOLS_LOADGEN_DRIVER_H_
#define QUARRY_TOOLS_LOADGEN_DRIVER_H_

#include <cstdint>

#include "absl/time/time.h"
#include "tools/loadgen/stats.h"
#include "tools/loadgen/workload.h"

namespace quarry::loadgen {

struct DriveOptions {
  // Closed loop: this many calls in flight, each completion starts the next.
  int concurrency = 8;
  // Open loop when > 0: start calls at this rate (per second) regardless of
  // completions, with at most `max_outstanding` in flight (beyond that a
  // call is counted as CLIENT_OVERLOADED and not sent).
  double rate = 0;
  int max_outstanding = 10000;
  // The run ends at whichever bound comes first; both are required so that
  // no load loop runs unbounded.
  int64_t max_requests = 1000;
  absl::Duration max_duration = absl::Seconds(30);
};

// Runs `workload` within the bounds and returns the stats and the elapsed time.
std::pair<RunStats::Summary, absl::Duration> Drive(Workload& workload, const DriveOptions& options);

}  // namespace quarry::loadgen

#endif  // QUARRY_TOOLS_LOADGEN_DRIVER_H_
