#include "services/common/model/metric.h"

#include <optional>

#include "gtest/gtest.h"
#include "services/common/model/metric_proto.h"

namespace quarry::model {
namespace {

namespace pb = quarry::common::v1;

TEST(MetricTest, StoredSpellingsRoundTrip) {
  EXPECT_EQ(MetricName(Metric::kCosine), "cosine");
  EXPECT_EQ(MetricName(Metric::kDot), "dot");
  EXPECT_EQ(MetricName(Metric::kL2), "l2");
  for (Metric metric : {Metric::kCosine, Metric::kDot, Metric::kL2}) {
    EXPECT_EQ(ParseMetric(MetricName(metric)), metric);
  }
}

TEST(MetricTest, OnlyTheExactSpellingsParse) {
  EXPECT_EQ(ParseMetric(""), std::nullopt);
  EXPECT_EQ(ParseMetric("Cosine"), std::nullopt);
  EXPECT_EQ(ParseMetric("inner_product"), std::nullopt);
  EXPECT_EQ(ParseMetric("l2 "), std::nullopt);
}

TEST(MetricTest, NumberingMatchesTheProtoEnum) {
  EXPECT_EQ(static_cast<int>(Metric::kCosine), pb::METRIC_COSINE);
  EXPECT_EQ(static_cast<int>(Metric::kDot), pb::METRIC_DOT);
  EXPECT_EQ(static_cast<int>(Metric::kL2), pb::METRIC_L2);
}

TEST(MetricTest, ProtoConversionsAndTheCosineDefault) {
  for (Metric metric : {Metric::kCosine, Metric::kDot, Metric::kL2}) {
    EXPECT_EQ(MetricFromProto(MetricToProto(metric)), metric);
  }
  EXPECT_EQ(MetricFromProto(pb::METRIC_UNSPECIFIED), Metric::kCosine);
  EXPECT_EQ(MetricFromProto(static_cast<pb::Metric>(99)), Metric::kCosine);
}

}  // namespace
}  // namespace quarry::model
