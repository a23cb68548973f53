#include "services/common/model/shard_answer.h"

#include <optional>

#include "gtest/gtest.h"

namespace quarry::model {
namespace {

TEST(ShardAnswerTest, OnlyNotFoundIsAnEmptyShare) {
  EXPECT_TRUE(IsEmptyShardShare(absl::NotFoundError("collection_id: 12 not found")));
  EXPECT_FALSE(IsEmptyShardShare(absl::OkStatus()));
  EXPECT_FALSE(IsEmptyShardShare(absl::UnavailableError("down")));
  EXPECT_FALSE(IsEmptyShardShare(absl::DeadlineExceededError("slow")));
  EXPECT_FALSE(IsEmptyShardShare(absl::InvalidArgumentError("k: must be in [1, 1000]")));
}

TEST(ShardAnswerTest, MinScoreDropsStrictlyBelowOnly) {
  EXPECT_FALSE(BelowMinScore(-1e30f, std::nullopt));
  EXPECT_TRUE(BelowMinScore(0.49f, 0.5f));
  EXPECT_FALSE(BelowMinScore(0.5f, 0.5f));
  EXPECT_FALSE(BelowMinScore(0.51f, 0.5f));
}

}  // namespace
}  // namespace quarry::model
