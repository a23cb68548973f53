#include "services/vector_search/filter.h"

#include "gtest/gtest.h"
#include "services/vector_search/filter_proto.h"

namespace quarry::vector_search {
namespace {

const Tags kTags = {"red", "small"};
const Metadata kMeta = {{"lang", "en"}, {"owner", ""}};

TEST(FilterTest, EmptyMatchesEverything) {
  Filter f;
  EXPECT_TRUE(f.Empty());
  EXPECT_TRUE(Matches(f, {}, {}));
  EXPECT_TRUE(Matches(f, kTags, kMeta));
}

TEST(FilterTest, AllTagsNeedsEvery) {
  EXPECT_TRUE(Matches({.all_tags = {"red", "small"}}, kTags, kMeta));
  EXPECT_FALSE(Matches({.all_tags = {"red", "big"}}, kTags, kMeta));
  EXPECT_FALSE(Matches({.all_tags = {"Red"}}, kTags, kMeta));  // case-sensitive
}

TEST(FilterTest, AnyTagsNeedsOne) {
  EXPECT_TRUE(Matches({.any_tags = {"big", "small"}}, kTags, kMeta));
  EXPECT_FALSE(Matches({.any_tags = {"big", "blue"}}, kTags, kMeta));
  EXPECT_FALSE(Matches({.any_tags = {"big"}}, {}, kMeta));
}

TEST(FilterTest, MetadataEqualsIsExact) {
  EXPECT_TRUE(Matches({.metadata_equals = {{"lang", "en"}}}, kTags, kMeta));
  EXPECT_FALSE(Matches({.metadata_equals = {{"lang", "EN"}}}, kTags, kMeta));
  EXPECT_FALSE(Matches({.metadata_equals = {{"missing", ""}}}, kTags, kMeta));
  // An empty value must be present, not merely absent.
  EXPECT_TRUE(Matches({.metadata_equals = {{"owner", ""}}}, kTags, kMeta));
}

TEST(FilterTest, ConditionsAreConjoined) {
  Filter f{.all_tags = {"red"}, .any_tags = {"small", "big"},
           .metadata_equals = {{"lang", "en"}}};
  EXPECT_TRUE(Matches(f, kTags, kMeta));
  f.metadata_equals = {{"lang", "de"}};
  EXPECT_FALSE(Matches(f, kTags, kMeta));
}

TEST(FilterProtoTest, CopiesEveryField) {
  quarry::common::v1::Filter proto;
  proto.add_all_tags("a");
  proto.add_any_tags("b");
  proto.add_any_tags("c");
  (*proto.mutable_metadata_equals())["z"] = "1";
  (*proto.mutable_metadata_equals())["k"] = "2";
  const Filter f = FilterFromProto(proto);
  EXPECT_EQ(f.all_tags, std::vector<std::string>({"a"}));
  EXPECT_EQ(f.any_tags, std::vector<std::string>({"b", "c"}));
  ASSERT_EQ(f.metadata_equals.size(), 2u);
  EXPECT_EQ(f.metadata_equals[0], std::make_pair(std::string("k"), std::string("2")));
  EXPECT_EQ(f.metadata_equals[1], std::make_pair(std::string("z"), std::string("1")));
  EXPECT_TRUE(FilterFromProto(quarry::common::v1::Filter()).Empty());
}

}  // namespace
}  // namespace quarry::vector_search
