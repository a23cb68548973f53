#include "services/common/sql/text_array.h"

#include "gtest/gtest.h"

namespace quarry::sql {
namespace {

TEST(TextArray, QuotesAndEscapes) {
  EXPECT_EQ(TextArray({}), "{}");
  EXPECT_EQ(TextArray({"a", "b c", "q\"x", "back\\slash", ""}),
            R"({"a","b c","q\"x","back\\slash",""})");
}

TEST(TextArray, ParsesWhatPostgresPrints) {
  EXPECT_TRUE(ParseTextArray("{}").empty());
  EXPECT_EQ(ParseTextArray(R"({a,"b c","q\"x",NULL,"NULL"})"),
            (std::vector<std::string>{"a", "b c", "q\"x", "", "NULL"}));
  std::vector<std::string> values = {"x,y", "{z}", "\\", "é"};
  EXPECT_EQ(ParseTextArray(TextArray(values)), values);
}

}  // namespace
}  // namespace quarry::sql
