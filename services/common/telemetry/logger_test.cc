#include "services/common/telemetry/logger.h"

#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/common/telemetry/trace_context.h"

namespace quarry::telemetry {
namespace {

using Json = nlohmann::json;

std::vector<Json> ParseLines(const std::string& text) {
  std::vector<Json> out;
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    Json parsed = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(parsed.is_discarded()) << line;
    out.push_back(std::move(parsed));
  }
  return out;
}

bool IsRfc3339UtcMillis(const std::string& s) {
  // 2024-05-01T12:00:00.123Z
  if (s.size() != 24) return false;
  for (size_t i : {4u, 7u}) if (s[i] != '-') return false;
  return s[10] == 'T' && s[13] == ':' && s[16] == ':' && s[19] == '.' && s[23] == 'Z';
}

TEST(LoggerTest, WritesOneJsonObjectPerLine) {
  std::ostringstream out;
  Logger logger("gateway", &out);
  logger.Info("started", {{"port", "50051"}, {"level", "must not replace"}});
  logger.Error("multi\nline \"quoted\" message");
  logger.Debug("hidden: below the default level");

  const std::vector<Json> lines = ParseLines(out.str());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(IsRfc3339UtcMillis(lines[0].at("time").get<std::string>())) << lines[0];
  EXPECT_EQ(lines[0].at("level"), "info");
  EXPECT_EQ(lines[0].at("service"), "gateway");
  EXPECT_EQ(lines[0].at("message"), "started");
  EXPECT_EQ(lines[0].at("port"), "50051");
  EXPECT_FALSE(lines[0].contains("trace_id"));
  EXPECT_EQ(lines[1].at("level"), "error");
  EXPECT_EQ(lines[1].at("message"), "multi\nline \"quoted\" message");
}

TEST(LoggerTest, IncludesCurrentTraceId) {
  std::ostringstream out;
  Logger logger("worker", &out);
  const SpanContext context{NewTraceId(), NewSpanId(), true};
  {
    ScopedSpanContext scope(context);
    logger.Warn("slow job");
  }
  const std::vector<Json> lines = ParseLines(out.str());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].at("trace_id"), context.trace_id);
  EXPECT_EQ(lines[0].at("level"), "warn");
}

TEST(LoggerTest, RpcLinesCarryRpcFieldsAndCanBeSwitchedOff) {
  std::ostringstream out;
  Logger logger("embedding", &out);
  logger.LogRpc({"/quarry.embedding.v1.EmbeddingService/Embed", "INVALID_ARGUMENT", 1.5,
                 "4bf92f3577b34da6a3ce929d0e0e4736", "texts must not be empty"});
  logger.set_rpc_logging(false);
  logger.LogRpc({"/quarry.embedding.v1.EmbeddingService/Embed", "OK", 1.0, "", ""});

  const std::vector<Json> lines = ParseLines(out.str());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].at("service"), "embedding");
  EXPECT_EQ(lines[0].at("rpc"), "/quarry.embedding.v1.EmbeddingService/Embed");
  EXPECT_EQ(lines[0].at("status"), "INVALID_ARGUMENT");
  EXPECT_DOUBLE_EQ(lines[0].at("latency_ms").get<double>(), 1.5);
  EXPECT_EQ(lines[0].at("trace_id"), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(lines[0].at("message"), "texts must not be empty");
  EXPECT_EQ(lines[0].at("level"), "warn");
}

TEST(LoggerTest, ConcurrentLinesNeverInterleave) {
  std::ostringstream out;
  Logger logger("gateway", &out);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&logger, t] {
      for (int i = 0; i < 200; ++i) {
        logger.Info("tick", {{"thread", std::to_string(t)}, {"pad", std::string(200, 'x')}});
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(ParseLines(out.str()).size(), 800u);
}

}  // namespace
}  // namespace quarry::telemetry
