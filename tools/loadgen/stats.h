#ifndef QUARRY_TOOLS_LOADGEN_STATS_H_
#define QUARRY_TOOLS_LOADGEN_STATS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace quarry::loadgen {

// Latencies and outcomes of a bounded load run. Every latency is kept (runs
// are bounded by request count), so percentiles are exact.
class RunStats {
 public:
  void Record(absl::Duration latency, const std::string& status_code);

  struct Summary {
    int64_t requests = 0;
    int64_t ok = 0;
    double seconds = 0;
    double qps = 0;  // completed requests per second, errors included
    double p50_ms = 0, p95_ms = 0, p99_ms = 0, max_ms = 0, mean_ms = 0;
    std::map<std::string, int64_t> by_code;  // "OK", "UNAVAILABLE", ...
  };
  Summary Summarize(absl::Duration elapsed) const;

 private:
  mutable absl::Mutex mu_;
  std::vector<int64_t> latencies_us_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int64_t> by_code_ ABSL_GUARDED_BY(mu_);
};

// The value at fraction `q` (0..1) of sorted `values`, nearest-rank.
int64_t Percentile(const std::vector<int64_t>& sorted_values, double q);

std::string FormatText(const std::string& name, const RunStats::Summary& summary);
std::string FormatJson(const std::string& name, const RunStats::Summary& summary);

}  // namespace quarry::loadgen

#endif  // QUARRY_TOOLS_LOADGEN_STATS_H_
