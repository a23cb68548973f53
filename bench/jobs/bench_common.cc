#include "bench/jobs/bench_common.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"

namespace quarry::bench {

LatencySummary Summarize(std::vector<absl::Duration> samples) {
  LatencySummary s;
  s.count = static_cast<int>(samples.size());
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  auto rank = [&](double q) {
    const size_t i = static_cast<size_t>(std::ceil(q * samples.size()));
    return absl::ToDoubleMilliseconds(samples[std::clamp<size_t>(i, 1, samples.size()) - 1]);
  };
  s.p50_ms = rank(0.50);
  s.p99_ms = rank(0.99);
  s.max_ms = absl::ToDoubleMilliseconds(samples.back());
  absl::Duration total;
  for (absl::Duration d : samples) total += d;
  s.mean_ms = absl::ToDoubleMilliseconds(total) / samples.size();
  return s;
}

absl::StatusOr<std::unique_ptr<pg::Pool>> NewPool(const std::string& conninfo, int size) {
  pg::PoolOptions options;
  options.conninfo = conninfo;
  options.size = size;
  // A stuck statement fails the run instead of hanging it.
  options.statement_timeout = absl::Seconds(60);
  return pg::Pool::Create(options);
}

absl::StatusOr<int64_t> QueryInt(pg::Pool& pool, const std::string& sql) {
  auto result = pool.Query(sql);
  if (!result.ok()) return result.status();
  if (result->empty() || (*result)[0][0].is_null()) return 0;
  return (*result)[0][0].as<int64_t>();
}

std::vector<int> ParseInts(const std::vector<std::string>& values) {
  std::vector<int> out;
  for (const std::string& v : values) {
    int n = 0;
    if (absl::SimpleAtoi(v, &n) && n > 0) out.push_back(n);
  }
  return out;
}

void BackgroundProducer::Start() {
  start_ = absl::Now();
  thread_ = std::thread([this] { Loop(); });
}

void BackgroundProducer::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void BackgroundProducer::Loop() {
  const absl::Time deadline = start_ + bound_;
  while (absl::Now() < deadline) {
    {
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithTimeout(absl::Condition(&stop_), absl::Milliseconds(10))) return;
    }
    const int64_t due = static_cast<int64_t>(rate_ * absl::ToDoubleSeconds(absl::Now() - start_));
    const int64_t batch = due - inserted_.load();
    if (batch <= 0) continue;
    if (pool_.Execute(insert_sql_(batch)).ok()) inserted_.fetch_add(batch);
  }
}

void PrintResult(const nlohmann::json& result) {
  std::printf("RESULT %s\n", result.dump().c_str());
  std::fflush(stdout);
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string load;
  std::getline(in, load);
  return load;
}

}  // namespace quarry::bench
