#include "services/common/model/vector_codec.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace quarry::model {
namespace {

TEST(VectorCodecTest, EncodesFloat32LittleEndian) {
  // The bytes schema_test.cc inserts for [1, 2]: 0x3f800000, 0x40000000.
  EXPECT_EQ(EncodeVector(std::vector<float>{1.0f, 2.0f}),
            std::string("\x00\x00\x80\x3f\x00\x00\x00\x40", 8));
  EXPECT_EQ(EncodeVector(std::vector<float>{-0.5f}), std::string("\x00\x00\x00\xbf", 4));
  EXPECT_EQ(EncodeVector({}), "");
  EXPECT_EQ(EncodedVectorBytes(384), 1536u);
}

TEST(VectorCodecTest, RoundTripsBitForBit) {
  const std::vector<float> values = {0.0f,
                                     -0.0f,
                                     1e-45f,
                                     3.4e38f,
                                     -123.456f,
                                     std::numeric_limits<float>::infinity()};
  const std::string bytes = EncodeVector(values);
  ASSERT_EQ(bytes.size(), EncodedVectorBytes(values.size()));
  const std::vector<float> decoded = DecodeVector(bytes);
  ASSERT_EQ(decoded.size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(std::signbit(decoded[i]), std::signbit(values[i])) << i;
    EXPECT_EQ(decoded[i], values[i]) << i;
  }
  const std::vector<float> nan = DecodeVector(EncodeVector(std::vector<float>{std::nanf("")}));
  ASSERT_EQ(nan.size(), 1u);
  EXPECT_TRUE(std::isnan(nan[0]));
}

TEST(VectorCodecTest, DecodeIgnoresATrailingPartialFloat) {
  EXPECT_TRUE(DecodeVector("").empty());
  EXPECT_TRUE(DecodeVector("abc").empty());
  const std::vector<float> decoded = DecodeVector(std::string("\x00\x00\x80\x3f\x01\x02", 6));
  ASSERT_EQ(decoded.size(), 1u);
  EXPECT_EQ(decoded[0], 1.0f);
}

}  // namespace
}  // namespace quarry::model
