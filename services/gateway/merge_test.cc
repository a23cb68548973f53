#include "services/gateway/merge.h"

#include "gtest/gtest.h"

namespace quarry::gateway {
namespace {

using quarry::gateway::v1::ShardOutcome;

ShardAnswer Answer(uint32_t shard, std::vector<std::pair<std::string, float>> hits,
                   int64_t watermark = 7) {
  ShardAnswer answer;
  answer.shard = shard;
  answer.response.set_shard(shard);
  answer.response.set_watermark(watermark);
  for (const auto& [id, score] : hits) {
    auto* hit = answer.response.add_hits();
    hit->set_id(id);
    hit->set_score(score);
  }
  return answer;
}

std::vector<std::string> Ids(const MergeResult& result) {
  std::vector<std::string> ids;
  for (const auto& hit : result.hits) ids.push_back(hit.id);
  return ids;
}

TEST(Merge, TakesTheGlobalTopKWithTiesById) {
  MergeResult result = MergeShardAnswers(
      {Answer(1, {{"b", 0.9f}, {"d", 0.5f}}), Answer(0, {{"c", 0.9f}, {"a", 0.7f}, {"e", 0.1f}})},
      3, std::nullopt);
  EXPECT_EQ(Ids(result), (std::vector<std::string>{"b", "c", "a"}));
  EXPECT_EQ(result.hits[0].shard, 1u);
  EXPECT_FALSE(result.partial);
  ASSERT_EQ(result.reports.size(), 2u);
  EXPECT_EQ(result.reports[0].shard(), 0u);  // Shard order.
  EXPECT_EQ(result.reports[1].outcome(), ShardOutcome::SHARD_OUTCOME_ANSWERED);
  EXPECT_EQ(result.reports[1].watermark(), 7);
}

TEST(Merge, MinScoreDropsWeakHits) {
  MergeResult result = MergeShardAnswers({Answer(0, {{"a", 0.8f}, {"b", 0.3f}})}, 10, 0.5f);
  EXPECT_EQ(Ids(result), (std::vector<std::string>{"a"}));
}

TEST(Merge, FailedAndTimedOutShardsAreReportedAndMakeThePartial) {
  ShardAnswer timed_out;
  timed_out.shard = 1;
  timed_out.status = absl::DeadlineExceededError("deadline");
  ShardAnswer failed;
  failed.shard = 2;
  failed.status = absl::UnavailableError("connection refused");
  MergeResult result =
      MergeShardAnswers({Answer(0, {{"a", 0.8f}}), timed_out, failed}, 10, std::nullopt);
  EXPECT_TRUE(result.partial);
  EXPECT_EQ(Ids(result), (std::vector<std::string>{"a"}));
  EXPECT_EQ(result.reports[1].outcome(), ShardOutcome::SHARD_OUTCOME_TIMED_OUT);
  EXPECT_EQ(result.reports[2].outcome(), ShardOutcome::SHARD_OUTCOME_FAILED);
  EXPECT_EQ(result.reports[2].message(), "connection refused");
}

// A shard that has no document of a new collection yet does not know it and
// answers NOT_FOUND: its share is empty, and the answer is complete.
TEST(Merge, AShardThatHasNotSeenTheCollectionContributesNothingAndIsNotPartial) {
  ShardAnswer unknown;
  unknown.shard = 1;
  unknown.status = absl::NotFoundError("collection_id: 12 not found");
  MergeResult result = MergeShardAnswers({Answer(0, {{"a", 0.5f}}), unknown}, 5, std::nullopt);
  EXPECT_EQ(Ids(result), (std::vector<std::string>{"a"}));
  EXPECT_FALSE(result.partial);
  ASSERT_EQ(result.reports.size(), 2u);
  EXPECT_EQ(result.reports[1].outcome(), ShardOutcome::SHARD_OUTCOME_ANSWERED);
}

TEST(Merge, ADocumentReturnedByTwoShardsAppearsOnceWithItsBestScore) {
  MergeResult result =
      MergeShardAnswers({Answer(0, {{"a", 0.4f}}), Answer(1, {{"a", 0.6f}})}, 10, std::nullopt);
  ASSERT_EQ(result.hits.size(), 1u);
  EXPECT_FLOAT_EQ(result.hits[0].score, 0.6f);
  EXPECT_EQ(result.hits[0].shard, 1u);
}

}  // namespace
}  // namespace quarry::gateway
