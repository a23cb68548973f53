#include "services/embedding/bert_ops.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace quarry::embedding::ops {
namespace {

TEST(BertOpsTest, GeluKnownValues) {
  EXPECT_FLOAT_EQ(Gelu(0.0f), 0.0f);
  // x * Phi(x): Phi(1) = 0.8413447, Phi(-1) = 0.1586553, Phi(2) = 0.9772499.
  EXPECT_NEAR(Gelu(1.0f), 0.8413447f, 1e-6);
  EXPECT_NEAR(Gelu(-1.0f), -0.1586553f, 1e-6);
  EXPECT_NEAR(Gelu(2.0f), 1.9544997f, 1e-6);
  EXPECT_NEAR(Gelu(-6.0f), 0.0f, 1e-6);
}

TEST(BertOpsTest, ErfMatchesLibm) {
  float worst = 0;
  for (float x = -6.0f; x <= 6.0f; x += 0.001f) {
    worst = std::max(worst, std::fabs(Erf(x) - std::erf(x)));
  }
  EXPECT_LT(worst, 1e-6f);
  EXPECT_EQ(Erf(-100.0f), -1.0f);
  EXPECT_EQ(Erf(100.0f), 1.0f);
}

TEST(BertOpsTest, AddBiasGelu) {
  std::vector<float> x = {0.5f, -1.5f, 1.0f, 0.0f};
  const float bias[2] = {0.5f, 0.5f};
  AddBiasGelu(x.data(), 2, 2, bias);
  EXPECT_NEAR(x[0], Gelu(1.0f), 1e-6);
  EXPECT_NEAR(x[1], Gelu(-1.0f), 1e-6);
  EXPECT_NEAR(x[2], Gelu(1.5f), 1e-6);
  EXPECT_NEAR(x[3], Gelu(0.5f), 1e-6);
}

TEST(BertOpsTest, LayerNormMatchesDefinition) {
  std::vector<float> x = {1, 2, 3, 4, -2, -2, -2, -2};
  const float gamma[4] = {1, 2, 1, 1};
  const float beta[4] = {0, 0, 1, 0};
  LayerNorm(x.data(), 2, 4, gamma, beta, 1e-12f);
  // Row 1: mean 2.5, variance 1.25.
  const float inv = 1.0f / std::sqrt(1.25f);
  EXPECT_NEAR(x[0], -1.5f * inv, 1e-5);
  EXPECT_NEAR(x[1], 2 * -0.5f * inv, 1e-5);
  EXPECT_NEAR(x[2], 0.5f * inv + 1, 1e-5);
  EXPECT_NEAR(x[3], 1.5f * inv, 1e-5);
  // A constant row normalises to beta (eps keeps it finite).
  EXPECT_NEAR(x[4], 0.0f, 1e-5);
  EXPECT_NEAR(x[6], 1.0f, 1e-5);
}

TEST(BertOpsTest, SoftmaxRowsIsStable) {
  std::vector<float> x = {1000, 1000, 0, std::log(3.0f)};
  SoftmaxRows(x.data(), 2, 2);
  EXPECT_NEAR(x[0], 0.5f, 1e-6);
  EXPECT_NEAR(x[1], 0.5f, 1e-6);
  EXPECT_NEAR(x[2], 0.25f, 1e-6);
  EXPECT_NEAR(x[3], 0.75f, 1e-6);
}

TEST(BertOpsTest, LinearUsesPyTorchLayout) {
  // x: 2x3, W: 2x3 (out x in), y = x W^T + b.
  const std::vector<float> x = {1, 2, 3, 4, 5, 6};
  const std::vector<float> w = {1, 0, -1, 0.5f, 0.5f, 0.5f};
  const float bias[2] = {10, 20};
  std::vector<float> y(4, -7);
  Linear(x.data(), 2, 3, w.data(), bias, 2, y.data());
  EXPECT_FLOAT_EQ(y[0], 1 - 3 + 10);
  EXPECT_FLOAT_EQ(y[1], 3 + 20);
  EXPECT_FLOAT_EQ(y[2], 4 - 6 + 10);
  EXPECT_FLOAT_EQ(y[3], 7.5f + 20);
  // Accumulating onto bias + residual.
  const std::vector<float> residual = {1, 1, 2, 2};
  FillBiasResidual(y.data(), 2, 2, bias, residual.data());
  Linear(x.data(), 2, 3, w.data(), nullptr, 2, y.data(), /*accumulate=*/true);
  EXPECT_FLOAT_EQ(y[0], 1 + 10 - 2);
  EXPECT_FLOAT_EQ(y[3], 2 + 20 + 7.5f);
}

TEST(BertOpsTest, L2Normalize) {
  std::vector<float> v = {3, 4};
  L2Normalize(v.data(), 2);
  EXPECT_FLOAT_EQ(v[0], 0.6f);
  EXPECT_FLOAT_EQ(v[1], 0.8f);
  std::vector<float> zero = {0, 0};
  L2Normalize(zero.data(), 2);
  EXPECT_EQ(zero[0], 0.0f);
}

}  // namespace
}  // namespace quarry::embedding::ops
