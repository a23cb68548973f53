#include "services/common/model/finite.h"

#include <cmath>
#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace quarry::model {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

TEST(FiniteTest, FiniteValuesIncludingExtremesPass) {
  const std::vector<float> values = {0.0f, -0.0f, 1e-45f, -3.4e38f,
                                     std::numeric_limits<float>::max()};
  EXPECT_EQ(FirstNonFinite(values), std::nullopt);
  EXPECT_TRUE(AllFinite(values));
}

TEST(FiniteTest, AnEmptySpanIsFinite) {
  EXPECT_EQ(FirstNonFinite({}), std::nullopt);
  EXPECT_TRUE(AllFinite({}));
}

TEST(FiniteTest, NamesTheFirstNanOrInfinity) {
  EXPECT_EQ(FirstNonFinite(std::vector<float>{1, std::nanf(""), kInf}), 1u);
  EXPECT_EQ(FirstNonFinite(std::vector<float>{1, 2, -kInf}), 2u);
  EXPECT_EQ(FirstNonFinite(std::vector<float>{kInf}), 0u);
  EXPECT_FALSE(AllFinite(std::vector<float>{0, std::nanf("")}));
}

}  // namespace
}  // namespace quarry::model
