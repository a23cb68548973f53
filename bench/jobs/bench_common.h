#ifndef QUARRY_BENCH_JOBS_BENCH_COMMON_H_
#define QUARRY_BENCH_JOBS_BENCH_COMMON_H_

// What the job-queue benchmarks share: latency percentiles, an open-loop
// background producer, and the RESULT lines compare.sh turns into its table.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "services/common/pg/pool.h"

namespace quarry::bench {

struct LatencySummary {
  int count = 0;
  double p50_ms = 0, p99_ms = 0, max_ms = 0, mean_ms = 0;
};

// Nearest-rank percentiles: with 200 samples p99 is the 198th value, so one
// outlier does not decide it.
LatencySummary Summarize(std::vector<absl::Duration> samples);

// A pool of `size` connections on `conninfo`.
absl::StatusOr<std::unique_ptr<pg::Pool>> NewPool(const std::string& conninfo, int size);

// The first column of the first row of `sql`, as an integer (0 when NULL or
// no row).
absl::StatusOr<int64_t> QueryInt(pg::Pool& pool, const std::string& sql);

// Positive integers among `values` (flag lists such as {"1", "4", "16"}).
std::vector<int> ParseInts(const std::vector<std::string>& values);

// Keeps a queue busy: every 10 ms one INSERT of the jobs due by then (open
// loop, so a slow consumer builds a backlog instead of slowing the producer
// down), for at most `bound`. `insert_sql(n)` is the statement inserting n jobs.
class BackgroundProducer {
 public:
  BackgroundProducer(pg::Pool& pool, double rate, absl::Duration bound,
                     std::function<std::string(int64_t)> insert_sql)
      : pool_(pool), rate_(rate), bound_(bound), insert_sql_(std::move(insert_sql)) {}
  ~BackgroundProducer() { Stop(); }

  void Start();
  void Stop();
  int64_t inserted() const { return inserted_.load(); }
  absl::Time start() const { return start_; }

 private:
  void Loop();

  pg::Pool& pool_;
  const double rate_;
  const absl::Duration bound_;
  const std::function<std::string(int64_t)> insert_sql_;
  absl::Time start_;
  std::atomic<int64_t> inserted_{0};
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// "RESULT {json}" on stdout, flushed: one figure for compare.sh's table.
void PrintResult(const nlohmann::json& result);

// The 1-minute load average, from /proc/loadavg (the machine is shared).
std::string LoadAverage();

}  // namespace quarry::bench

#endif  // QUARRY_BENCH_JOBS_BENCH_COMMON_H_
