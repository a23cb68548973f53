#include "tools/loadgen/workload.h"

#include "gtest/gtest.h"
#include "services/common/model/limits.h"
#include "services/gateway/validation.h"

namespace quarry::loadgen {
namespace {

TEST(SpecUpserts, FindsUpsertInPlainAndMixedSpecs) {
  EXPECT_TRUE(SpecUpserts("upsert"));
  EXPECT_TRUE(SpecUpserts("search:8,upsert:2"));
  EXPECT_FALSE(SpecUpserts("search"));
  EXPECT_FALSE(SpecUpserts("search:8,search_batch:2"));
  EXPECT_FALSE(SpecUpserts("health"));
}

TEST(OwnUpsertCollectionName, IsAValidNameDistinctFromTheSearchedOne) {
  const std::string name = OwnUpsertCollectionName("soak", 4242, 1765000000);
  EXPECT_EQ(name, "soak-loadgen-4242-1765000000");
  EXPECT_TRUE(quarry::gateway::ValidateCollectionName("name", name).ok());
  const std::string long_name = OwnUpsertCollectionName(std::string(100, 'a'), 4242, 1765000000);
  EXPECT_EQ(long_name.size(), quarry::model::kMaxCollectionNameBytes);
  EXPECT_TRUE(quarry::gateway::ValidateCollectionName("name", long_name).ok()) << long_name;
  EXPECT_TRUE(quarry::gateway::ValidateCollectionName("name", OwnUpsertCollectionName("", 1, 2))
                  .ok());
}

TEST(MakeWorkload, UpsertsNeedTheirCollection) {
  WorkloadOptions options;
  options.texts = DefaultTexts();
  auto channel = grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials());
  EXPECT_FALSE(MakeMix("search:8,upsert:2", channel, options).ok());
  options.upsert_collection = "writes";
  EXPECT_TRUE(MakeMix("search:8,upsert:2", channel, options).ok());
}

}  // namespace
}  // namespace quarry::loadgen
