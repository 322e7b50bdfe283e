// AVX2 softmax and log-softmax over the last axis of [rows, cols]: one
// vectorised pass for the row maximum, one for exp and the sum, one to scale.
// Rows are split over OpenMP threads when rows * cols >= kParallelMin.
#pragma once

#include "freqcap/kernels/table.hpp"
#include "freqcap/kernels/avx2/vec.hpp"

#if FREQCAP_KERNELS_X86
#include <cmath>
#include <cstddef>

namespace freqcap::kernels::avx2 {

namespace sm {
using namespace v;

FREQCAP_TARGET_AVX2 inline float row_max(const float* x, std::size_t n) {
  Vec m = set1(-INFINITY);
  std::size_t i = 0;
  for (; i + kWidth <= n; i += kWidth) m = max(m, load(x + i));
  if (i < n) m = max(m, load_partial_or(x + i, n - i, -INFINITY));
  return reduce_max(m);
}

/// Writes y = exp(x - m) (when y != nullptr) and returns its sum.
FREQCAP_TARGET_AVX2 inline float exp_sum(const float* x, float m, float* y, std::size_t n) {
  const Vec vm = set1(m);
  Vec s = zero();
  std::size_t i = 0;
  for (; i + kWidth <= n; i += kWidth) {
    const Vec e = exp(sub(load(x + i), vm));
    if (y) store(y + i, e);
    s = add(s, e);
  }
  if (i < n) {
    const Vec e = exp(sub(load_partial_or(x + i, n - i, -INFINITY), vm));  // exp(-inf) = 0
    if (y) store_partial(y + i, e, n - i);
    s = add(s, e);
  }
  return reduce_add(s);
}

/// y = x * a + b over n floats.
FREQCAP_TARGET_AVX2 inline void scale_shift(const float* x, float a, float b, float* y,
                                              std::size_t n) {
  const Vec va = set1(a), vb = set1(b);
  std::size_t i = 0;
  for (; i + kWidth <= n; i += kWidth) store(y + i, fma(load(x + i), va, vb));
  if (i < n) store_partial(y + i, fma(load_partial(x + i, n - i), va, vb), n - i);
}
}  // namespace sm

/// Softmax over the last axis; x, y: [rows, cols].
FREQCAP_TARGET_AVX2 inline void softmax(const float* x, float* y, std::size_t rows,
                                          std::size_t cols) {
  const auto nr = static_cast<std::ptrdiff_t>(rows);
FREQCAP_OMP(parallel for schedule(static) if (rows > 1 && rows * cols >= kParallelMin))
  for (std::ptrdiff_t r = 0; r < nr; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    const float m = sm::row_max(xr, cols);
    const float s = sm::exp_sum(xr, m, yr, cols);
    sm::scale_shift(yr, 1.0f / s, 0.0f, yr, cols);
  }
}

/// Log-softmax over the last axis; x, y: [rows, cols].
FREQCAP_TARGET_AVX2 inline void log_softmax(const float* x, float* y, std::size_t rows,
                                              std::size_t cols) {
  const auto nr = static_cast<std::ptrdiff_t>(rows);
FREQCAP_OMP(parallel for schedule(static) if (rows > 1 && rows * cols >= kParallelMin))
  for (std::ptrdiff_t r = 0; r < nr; ++r) {
    const float* xr = x + r * cols;
    const float m = sm::row_max(xr, cols);
    const float lse = m + std::log(sm::exp_sum(xr, m, nullptr, cols));
    sm::scale_shift(xr, 1.0f, -lse, y + r * cols, cols);
  }
}

}  // namespace freqcap::kernels::avx2

#endif  // FREQCAP_KERNELS_X86
