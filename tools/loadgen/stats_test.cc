#include "tools/loadgen/stats.h"

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace quarry::loadgen {
namespace {

TEST(Percentile, NearestRank) {
  std::vector<int64_t> values;
  for (int i = 1; i <= 100; ++i) values.push_back(i);
  EXPECT_EQ(Percentile(values, 0.50), 50);
  EXPECT_EQ(Percentile(values, 0.99), 99);
  EXPECT_EQ(Percentile(values, 1.0), 100);
  EXPECT_EQ(Percentile(values, 0.0), 1);
  EXPECT_EQ(Percentile({}, 0.5), 0);
}

TEST(RunStats, SummarizesLatencyAndCodes) {
  RunStats stats;
  for (int i = 1; i <= 100; ++i) stats.Record(absl::Milliseconds(i), i % 10 == 0 ? "UNAVAILABLE" : "OK");
  RunStats::Summary s = stats.Summarize(absl::Seconds(2));
  EXPECT_EQ(s.requests, 100);
  EXPECT_EQ(s.ok, 90);
  EXPECT_DOUBLE_EQ(s.qps, 50);
  EXPECT_DOUBLE_EQ(s.p50_ms, 50);
  EXPECT_DOUBLE_EQ(s.p99_ms, 99);
  EXPECT_DOUBLE_EQ(s.max_ms, 100);
  EXPECT_EQ(s.by_code["UNAVAILABLE"], 10);
  nlohmann::json json = nlohmann::json::parse(FormatJson("search", s));
  EXPECT_EQ(json["by_code"]["OK"], 90);
  EXPECT_EQ(json["name"], "search");
  EXPECT_NE(FormatText("search", s).find("UNAVAILABLE"), std::string::npos);
}

}  // namespace
}  // namespace quarry::loadgen
