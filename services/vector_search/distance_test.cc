#include "services/vector_search/distance.h"

#include <cmath>
#include <random>

#include "gtest/gtest.h"

namespace quarry::vector_search {
namespace {

std::vector<float> RandomVector(size_t n, std::mt19937* rng) {
  std::normal_distribution<float> normal;
  std::vector<float> v(n);
  for (float& x : v) x = normal(*rng);
  return v;
}

double ReferenceDot(const std::vector<float>& a, const std::vector<float>& b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += double{a[i]} * b[i];
  return sum;
}

double ReferenceL2(const std::vector<float>& a, const std::vector<float>& b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += (double{a[i]} - b[i]) * (double{a[i]} - b[i]);
  return sum;
}

// Every kernel the CPU runs agrees with a double-precision reference on every
// length around the vector widths (tails, masked loads) and on 384.
TEST(DistanceTest, EveryKernelMatchesTheReferenceOnEveryLength) {
  std::mt19937 rng(7);
  const auto kernels = internal::SupportedKernels();
  ASSERT_FALSE(kernels.empty());
  EXPECT_STREQ(kernels.back().name, "portable");
  std::vector<size_t> lengths;
  for (size_t n = 0; n <= 70; ++n) lengths.push_back(n);
  lengths.push_back(384);
  lengths.push_back(1536);
  for (size_t n : lengths) {
    const auto a = RandomVector(n, &rng), b = RandomVector(n, &rng);
    const double dot = ReferenceDot(a, b), l2 = ReferenceL2(a, b);
    const double tolerance = 1e-4 * (1 + std::sqrt(static_cast<double>(n)) * 4);
    for (const auto& kernel : kernels) {
      SCOPED_TRACE(std::string(kernel.name) + " n=" + std::to_string(n));
      EXPECT_NEAR(kernel.dot(a.data(), b.data(), n), dot, tolerance);
      EXPECT_NEAR(kernel.l2(a.data(), b.data(), n), l2, tolerance * 4);
    }
  }
}

TEST(DistanceTest, HnswCallingConventionUsesTheChosenKernel) {
  std::mt19937 rng(11);
  const size_t n = 384;
  auto a = RandomVector(n, &rng), b = RandomVector(n, &rng);
  EXPECT_NEAR(InnerProductDistanceFn()(a.data(), b.data(), &n), 1.0 - ReferenceDot(a, b), 1e-3);
  EXPECT_NEAR(L2DistanceFn()(a.data(), b.data(), &n), ReferenceL2(a, b), 1e-2);
  EXPECT_STREQ(DistanceKernelName(), internal::SupportedKernels().front().name);
  NormalizeInPlace(a.data(), n);
  EXPECT_NEAR(Dot(a.data(), a.data(), n), 1.0f, 1e-5);
  // Idempotent to the bit: stored vectors are normalised again on reload.
  const std::vector<float> once = a;
  NormalizeInPlace(a.data(), n);
  EXPECT_EQ(a, once);
}

}  // namespace
}  // namespace quarry::vector_search
