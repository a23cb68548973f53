#include "services/vector_search/serving/service_options.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace quarry::vector_search {
namespace {

using ::testing::HasSubstr;

TEST(VectorSearchOptionsTest, DefaultsAreValid) {
  EXPECT_TRUE(VectorSearchOptions().Validate().ok());
}

TEST(VectorSearchOptionsTest, EachBadFieldIsNamedByItsFlagWithItsLimit) {
  struct Case {
    void (*mutate)(VectorSearchOptions&);
    const char* message;
  };
  const Case cases[] = {
      {[](VectorSearchOptions& o) { o.replica.shard_count = 0; },
       "--shard_count: must be at least 1, got 0"},
      {[](VectorSearchOptions& o) {
         o.replica.shard_count = 2;
         o.replica.shard_index = 2;
       },
       "--shard_index: must be in [0, --shard_count=2), got 2"},
      {[](VectorSearchOptions& o) { o.replica.index.default_ef = 0; },
       "--default_effort: must be in [1, 4096], got 0"},
      {[](VectorSearchOptions& o) { o.replica.index.default_ef = 4097; },
       "--default_effort: must be in [1, 4096], got 4097"},
      {[](VectorSearchOptions& o) { o.replica.index.m = 1; },
       "--hnsw_m: must be in [2, 256], got 1"},
      {[](VectorSearchOptions& o) { o.replica.index.m = 257; },
       "--hnsw_m: must be in [2, 256], got 257"},
      {[](VectorSearchOptions& o) { o.replica.index.ef_construction = 0; },
       "--hnsw_ef_construction: must be in [1, 100000], got 0"},
      {[](VectorSearchOptions& o) { o.replica.index.ef_construction = 100001; },
       "--hnsw_ef_construction: must be in [1, 100000], got 100001"},
  };
  for (const Case& c : cases) {
    VectorSearchOptions options;
    c.mutate(options);
    const absl::Status status = options.Validate();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_THAT(status.message(), HasSubstr(c.message));
  }
}

TEST(VectorSearchOptionsTest, BoundsThemselvesAreAccepted) {
  VectorSearchOptions options;
  options.replica.shard_count = 3;
  options.replica.shard_index = 2;
  options.replica.index.default_ef = VectorSearchOptions::kMaxDefaultEffort;
  options.replica.index.m = 256;
  options.replica.index.ef_construction = 100000;
  EXPECT_TRUE(options.Validate().ok());
  options.replica.index.default_ef = VectorSearchOptions::kMinDefaultEffort;
  options.replica.index.m = 2;
  options.replica.index.ef_construction = 1;
  EXPECT_TRUE(options.Validate().ok());
}

TEST(ReplicaOptionsTest, EachShardingHasItsOwnSnapshotDirectory) {
  ReplicaOptions options;
  EXPECT_EQ(options.snapshot_dir(), "");  // No --data_dir: no snapshots.
  options.data_dir = "/data";
  options.shard_index = 1;
  options.shard_count = 4;
  EXPECT_EQ(options.snapshot_dir(), "/data/shard-1-of-4");
}

}  // namespace
}  // namespace quarry::vector_search
