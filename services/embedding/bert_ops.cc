#include "services/embedding/bert_ops.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace quarry::embedding::ops {

namespace {

// exp(z) for z <= 0 without a libm call, so that the GELU loop vectorises:
// z = n ln2 + r with |r| <= ln2/2, exp(r) by Cephes' expf polynomial (relative
// error ~1e-7), 2^n by building the float exponent.
inline float ExpNonPositive(float z) {
  z = std::max(z, -87.0f);
  const float n = std::floor(z * 1.44269504088896341f + 0.5f);
  const float r = z - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return e * scale;
}

}  // namespace

// erf by Abramowitz & Stegun 7.1.26 (1.5e-7 in exact arithmetic, 5e-7 in float), which is
// several times cheaper than std::erf; GELU runs on every FFN activation
// (75M values for a batch of 64 x 128 tokens of MiniLM).
float Erf(float x) {
  const float a = std::fabs(x);
  const float t = 1.0f / (1.0f + 0.3275911f * a);
  float p = 1.061405429f;
  p = p * t - 1.453152027f;
  p = p * t + 1.421413741f;
  p = p * t - 0.284496736f;
  p = p * t + 0.254829592f;
  const float y = 1.0f - p * t * ExpNonPositive(-a * a);
  return std::copysign(y, x);
}

float Gelu(float x) { return 0.5f * x * (1.0f + Erf(x * 0.70710678118654752f)); }

void AddBiasGelu(float* x, size_t rows, size_t cols, const float* bias) {
  for (size_t r = 0; r < rows; ++r) {
    float* row = x + r * cols;
    for (size_t c = 0; c < cols; ++c) row[c] = Gelu(row[c] + bias[c]);
  }
}

void LayerNorm(float* x, size_t rows, size_t cols, const float* gamma, const float* beta,
               float eps) {
  for (size_t r = 0; r < rows; ++r) {
    float* row = x + r * cols;
    float sum = 0;
    for (size_t c = 0; c < cols; ++c) sum += row[c];
    const float mean = sum / static_cast<float>(cols);
    float var = 0;
    for (size_t c = 0; c < cols; ++c) {
      const float d = row[c] - mean;
      var += d * d;
    }
    const float inv = 1.0f / std::sqrt(var / static_cast<float>(cols) + eps);
    for (size_t c = 0; c < cols; ++c) row[c] = (row[c] - mean) * inv * gamma[c] + beta[c];
  }
}

void SoftmaxRows(float* x, size_t rows, size_t cols) {
  for (size_t r = 0; r < rows; ++r) {
    float* row = x + r * cols;
    const float max = *std::max_element(row, row + cols);
    float sum = 0;
    for (size_t c = 0; c < cols; ++c) {
      row[c] = std::exp(row[c] - max);
      sum += row[c];
    }
    const float inv = 1.0f / sum;
    for (size_t c = 0; c < cols; ++c) row[c] *= inv;
  }
}

void FillBiasResidual(float* out, size_t rows, size_t cols, const float* bias,
                      const float* residual) {
  for (size_t r = 0; r < rows; ++r) {
    float* o = out + r * cols;
    const float* res = residual + r * cols;
    if (bias == nullptr) {
      std::copy(res, res + cols, o);
    } else {
      for (size_t c = 0; c < cols; ++c) o[c] = res[c] + bias[c];
    }
  }
}

void Linear(const float* x, size_t rows, size_t in, const float* weight, const float* bias,
            size_t out, float* y, bool accumulate) {
  if (rows == 0) return;
  if (!accumulate) {
    for (size_t r = 0; r < rows; ++r) {
      float* row = y + r * out;
      if (bias == nullptr) {
        std::fill(row, row + out, 0.0f);
      } else {
        std::copy(bias, bias + out, row);
      }
    }
  } else if (bias != nullptr) {
    for (size_t r = 0; r < rows; ++r) {
      float* row = y + r * out;
      for (size_t c = 0; c < out; ++c) row[c] += bias[c];
    }
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows),
              static_cast<int>(out), static_cast<int>(in), 1.0f, x, static_cast<int>(in), weight,
              static_cast<int>(in), 1.0f, y, static_cast<int>(out));
}

void L2Normalize(float* v, size_t n) {
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += static_cast<double>(v[i]) * v[i];
  if (sum == 0) return;
  const float inv = static_cast<float>(1.0 / std::sqrt(sum));
  for (size_t i = 0; i < n; ++i) v[i] *= inv;
}

}  // namespace quarry::embedding::ops
