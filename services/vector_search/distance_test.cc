#include "services/vector_search/distance.h"

#include <cmath>
#include <cstdint>
#include <random>

#include "gtest/gtest.h"
#include "services/vector_search/quantizer.h"

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

std::vector<uint8_t> RandomCodes(size_t n, std::mt19937* rng) {
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<uint8_t> codes(n);
  for (uint8_t& c : codes) c = static_cast<uint8_t>(byte(*rng));
  return codes;
}

// Per-dimension quantizer parameters of the size embeddings have.
std::vector<float> RandomScale(size_t n, std::mt19937* rng) {
  std::uniform_real_distribution<float> uniform(0.0f, 0.02f);
  std::vector<float> v(n);
  for (float& x : v) x = uniform(*rng);
  return v;
}

// A relative tolerance, taken against the sum of the terms' magnitudes: a
// dot product of mixed signs can cancel to near 0, where a tolerance
// relative to the result would demand more than float arithmetic gives.
constexpr double kRelative = 1e-4;

struct U8Case {
  std::vector<float> query, offset, scale;
  std::vector<uint8_t> a, b;
};

U8Case RandomU8Case(size_t n, std::mt19937* rng) {
  U8Case c{RandomVector(n, rng), RandomVector(n, rng), RandomScale(n, rng), RandomCodes(n, rng),
           RandomCodes(n, rng)};
  for (float& o : c.offset) o *= 0.1f;
  return c;
}

// Every kernel's uint8 distances agree with double-precision references on
// lengths around the vector widths (tails, the zero-padded 16-code load),
// 384 and 1000; every level is covered (SupportedKernels lists them all).
TEST(DistanceTest, EveryKernelsU8DistancesMatchTheReference) {
  std::mt19937 rng(13);
  std::vector<size_t> lengths = {1, 7, 16, 33, 384, 1000};
  for (size_t n = 0; n <= 70; ++n) lengths.push_back(n);
  for (size_t n : lengths) {
    const U8Case c = RandomU8Case(n, &rng);
    double dot_u8 = 0, dot_u8_magnitude = 0, l2_u8 = 0, l2_u8u8 = 0;
    double dot_u8u8 = 0, dot_u8u8_magnitude = 0;
    for (size_t d = 0; d < n; ++d) {
      const double code = c.a[d];
      dot_u8 += double{c.query[d]} * code;
      dot_u8_magnitude += std::fabs(double{c.query[d]} * code);
      const double diff = double{c.query[d]} - double{c.scale[d]} * code;
      l2_u8 += diff * diff;
      const double code_diff = double{c.scale[d]} * (int{c.a[d]} - int{c.b[d]});
      l2_u8u8 += code_diff * code_diff;
      const double x = double{c.offset[d]} + double{c.scale[d]} * c.a[d];
      const double y = double{c.offset[d]} + double{c.scale[d]} * c.b[d];
      dot_u8u8 += x * y;
      dot_u8u8_magnitude += std::fabs(x * y);
    }
    for (const auto& kernel : internal::SupportedKernels()) {
      SCOPED_TRACE(std::string(kernel.name) + " n=" + std::to_string(n));
      EXPECT_NEAR(kernel.dot_u8(c.query.data(), c.a.data(), n), dot_u8,
                  kRelative * dot_u8_magnitude);
      EXPECT_NEAR(kernel.l2_u8(c.query.data(), c.scale.data(), c.a.data(), n), l2_u8,
                  kRelative * l2_u8);
      EXPECT_NEAR(kernel.l2_u8u8(c.scale.data(), c.a.data(), c.b.data(), n), l2_u8u8,
                  kRelative * l2_u8u8);
      EXPECT_NEAR(kernel.dot_u8u8(c.offset.data(), c.scale.data(), c.a.data(), c.b.data(), n),
                  dot_u8u8, kRelative * dot_u8u8_magnitude);
    }
  }
}

// The public functions and the quantizer's hnswlib distances go through the
// chosen kernel and mean what they say in the decoded space.
TEST(DistanceTest, U8FunctionsAndQuantizerDistancesUseTheChosenKernel) {
  std::mt19937 rng(17);
  const size_t n = 384;
  const U8Case c = RandomU8Case(n, &rng);
  const internal::DistanceKernel chosen = internal::SupportedKernels().front();
  EXPECT_EQ(DotU8(c.query.data(), c.a.data(), n), chosen.dot_u8(c.query.data(), c.a.data(), n));
  EXPECT_EQ(L2U8(c.query.data(), c.scale.data(), c.a.data(), n),
            chosen.l2_u8(c.query.data(), c.scale.data(), c.a.data(), n));
  EXPECT_EQ(L2U8U8(c.scale.data(), c.a.data(), c.b.data(), n),
            chosen.l2_u8u8(c.scale.data(), c.a.data(), c.b.data(), n));
  EXPECT_EQ(DotDecodedU8U8(c.offset.data(), c.scale.data(), c.a.data(), c.b.data(), n),
            chosen.dot_u8u8(c.offset.data(), c.scale.data(), c.a.data(), c.b.data(), n));

  const ScalarQuantizer quantizer(c.offset, c.scale);
  std::vector<float> x(n), y(n);
  for (size_t d = 0; d < n; ++d) {
    x[d] = c.offset[d] + c.scale[d] * c.a[d];
    y[d] = c.offset[d] + c.scale[d] * c.b[d];
  }
  const double l2 = ReferenceL2(x, y), dot = ReferenceDot(x, y);
  EXPECT_NEAR(ScalarQuantizer::L2Distance(c.a.data(), c.b.data(), &quantizer), l2, 1e-4 * l2);
  EXPECT_NEAR(ScalarQuantizer::IpDistance(c.a.data(), c.b.data(), &quantizer), 1.0 - dot,
              1e-4 * (1 + std::fabs(dot)));

  // The asymmetric forms, with the query folded in as GraphSearch does:
  // q.(o + s*c) = q.o + (q*s).c and (q - o) - s*c = q - (o + s*c).
  std::vector<float> query_scaled(n), query_minus_offset(n);
  double query_offset = 0;
  for (size_t d = 0; d < n; ++d) {
    query_scaled[d] = c.query[d] * c.scale[d];
    query_minus_offset[d] = c.query[d] - c.offset[d];
    query_offset += double{c.query[d]} * c.offset[d];
  }
  EXPECT_NEAR(query_offset + DotU8(query_scaled.data(), c.a.data(), n), ReferenceDot(c.query, x),
              1e-3);
  const double query_l2 = ReferenceL2(c.query, x);
  EXPECT_NEAR(L2U8(query_minus_offset.data(), c.scale.data(), c.a.data(), n), query_l2,
              1e-4 * query_l2);
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
