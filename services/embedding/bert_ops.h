#ifndef QUARRY_SERVICES_EMBEDDING_BERT_OPS_H_
#define QUARRY_SERVICES_EMBEDDING_BERT_OPS_H_

// The element-wise and row-wise kernels of the BERT forward pass, as pure
// functions over row-major float matrices so that each is testable alone.

#include <cstddef>

namespace quarry::embedding::ops {

// erf(x) within 1e-6 absolute error (A&S 7.1.26 in float), without a libm call.
float Erf(float x);

// GELU with the exact erf form BERT uses: x/2 * (1 + erf(x/sqrt(2))).
float Gelu(float x);

// x[r][c] = Gelu(x[r][c] + bias[c]) for a rows x cols matrix.
void AddBiasGelu(float* x, size_t rows, size_t cols, const float* bias);

// Each row of x (rows x cols) becomes (row - mean) / sqrt(var + eps) * gamma + beta,
// with the biased variance, as torch.nn.LayerNorm.
void LayerNorm(float* x, size_t rows, size_t cols, const float* gamma, const float* beta,
               float eps);

// Numerically stable softmax of each row, in place.
void SoftmaxRows(float* x, size_t rows, size_t cols);

// out[r][c] = residual[r][c] + bias[c] (bias may be null): the C operand of a
// GEMM with beta = 1, so that bias and residual come for free.
void FillBiasResidual(float* out, size_t rows, size_t cols, const float* bias,
                      const float* residual);

// y = x W^T + bias for x: rows x in, W: out x in (PyTorch's Linear layout, so
// weights are used in place), y: rows x out. `accumulate` adds to y instead of
// overwriting it (y must then be initialised, e.g. by FillBiasResidual).
void Linear(const float* x, size_t rows, size_t in, const float* weight, const float* bias,
            size_t out, float* y, bool accumulate = false);

// Scales v (n values) to unit L2 norm; a zero vector stays zero.
void L2Normalize(float* v, size_t n);

}  // namespace quarry::embedding::ops

#endif  // QUARRY_SERVICES_EMBEDDING_BERT_OPS_H_
