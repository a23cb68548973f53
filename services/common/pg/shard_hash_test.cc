#include "services/common/pg/shard_hash.h"

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace quarry::pg {
namespace {

// Golden values computed independently (Python hashlib.md5, and PostgreSQL's
// generated column); the database-backed agreement test is in schema_test.cc.
TEST(ShardHashTest, MatchesIndependentlyComputedValues) {
  EXPECT_EQ(ShardHash(1, "a"), 739318266u);
  EXPECT_EQ(ShardHash(42, "doc-1"), 780991430u);
  EXPECT_EQ(ShardHash(7, "h\xc3\xa9llo"), 940557327u);
}

TEST(ShardHashTest, SignBitIsAlwaysClear) {
  for (int i = 0; i < 2000; ++i) {
    EXPECT_LT(ShardHash(i, "doc-" + std::to_string(i)), 0x80000000u);
  }
}

TEST(ShardHashTest, ShardOfIsInRangeAndSpreads) {
  std::set<uint32_t> seen;
  for (int i = 0; i < 400; ++i) {
    const std::string id = "doc-" + std::to_string(i);
    const uint32_t shard = ShardOf(3, id, 4);
    ASSERT_LT(shard, 4u);
    EXPECT_EQ(shard, ShardHash(3, id) % 4);
    seen.insert(shard);
  }
  EXPECT_EQ(seen.size(), 4u);
  EXPECT_EQ(ShardOf(3, "x", 0), 0u);
}

TEST(ShardHashTest, CollectionIdIsPartOfTheHash) {
  EXPECT_NE(ShardHash(1, "a"), ShardHash(2, "a"));
  // The ':' after the decimal id keeps (1, "2:x") and (12, "x") apart.
  EXPECT_NE(ShardHash(1, "2:x"), ShardHash(12, "x"));
}

}  // namespace
}  // namespace quarry::pg
