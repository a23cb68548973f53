#include "tools/loadgen/stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"

namespace quarry::loadgen {

void RunStats::Record(absl::Duration latency, const std::string& status_code) {
  absl::MutexLock lock(&mu_);
  latencies_us_.push_back(absl::ToInt64Microseconds(latency));
  ++by_code_[status_code];
}

int64_t Percentile(const std::vector<int64_t>& sorted_values, double q) {
  if (sorted_values.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(q * sorted_values.size()));
  rank = std::clamp<size_t>(rank, 1, sorted_values.size());
  return sorted_values[rank - 1];
}

RunStats::Summary RunStats::Summarize(absl::Duration elapsed) const {
  absl::MutexLock lock(&mu_);
  Summary summary;
  std::vector<int64_t> sorted = latencies_us_;
  std::sort(sorted.begin(), sorted.end());
  summary.requests = static_cast<int64_t>(sorted.size());
  auto ok = by_code_.find("OK");
  summary.ok = ok == by_code_.end() ? 0 : ok->second;
  summary.seconds = absl::ToDoubleSeconds(elapsed);
  summary.qps = summary.seconds > 0 ? summary.requests / summary.seconds : 0;
  summary.p50_ms = Percentile(sorted, 0.50) / 1000.0;
  summary.p95_ms = Percentile(sorted, 0.95) / 1000.0;
  summary.p99_ms = Percentile(sorted, 0.99) / 1000.0;
  summary.max_ms = sorted.empty() ? 0 : sorted.back() / 1000.0;
  summary.mean_ms =
      sorted.empty() ? 0 : std::accumulate(sorted.begin(), sorted.end(), 0.0) / sorted.size() / 1000.0;
  summary.by_code = by_code_;
  return summary;
}

std::string FormatText(const std::string& name, const RunStats::Summary& s) {
  std::string out = absl::StrFormat(
      "%s: %d requests in %.2fs = %.1f/s  latency ms p50 %.3f  p95 %.3f  p99 %.3f  max %.3f  "
      "mean %.3f\n",
      name, s.requests, s.seconds, s.qps, s.p50_ms, s.p95_ms, s.p99_ms, s.max_ms, s.mean_ms);
  for (const auto& [code, count] : s.by_code) {
    absl::StrAppend(&out, absl::StrFormat("  %-20s %d\n", code, count));
  }
  return out;
}

std::string FormatJson(const std::string& name, const RunStats::Summary& s) {
  nlohmann::json json = {
      {"name", name},         {"requests", s.requests}, {"ok", s.ok},
      {"seconds", s.seconds}, {"qps", s.qps},           {"p50_ms", s.p50_ms},
      {"p95_ms", s.p95_ms},   {"p99_ms", s.p99_ms},     {"max_ms", s.max_ms},
      {"mean_ms", s.mean_ms}, {"by_code", s.by_code},
  };
  return json.dump();
}

}  // namespace quarry::loadgen
