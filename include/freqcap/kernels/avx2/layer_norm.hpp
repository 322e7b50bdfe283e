// AVX2 layer norm over the last axis of [rows, cols]: forward (two-pass
// mean / variance per row, then the affine map) and backward (per-row dx; the
// column sums dgamma, dbeta in a second pass split by columns, so threads never
// share an output). Same signatures as kernels/layer_norm.hpp's references.
#pragma once

#include "freqcap/kernels/table.hpp"
#include "freqcap/kernels/avx2/vec.hpp"

#if FREQCAP_KERNELS_X86
#include <algorithm>
#include <cmath>
#include <cstddef>

namespace freqcap::kernels::avx2 {

/// x, y: [rows, cols]; gamma, beta: [cols] or nullptr; mean, rstd: [rows] or nullptr.
FREQCAP_TARGET_AVX2 inline void layer_norm(const float* x, const float* gamma,
                                             const float* beta, float* y, float* mean,
                                             float* rstd, std::size_t rows, std::size_t cols,
                                             float eps) {
  using namespace v;
  const auto nr = static_cast<std::ptrdiff_t>(rows);
FREQCAP_OMP(parallel for schedule(static) if (rows > 1 && rows * cols >= kParallelMin))
  for (std::ptrdiff_t r = 0; r < nr; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    Vec s = zero();
    std::size_t j = 0;
    for (; j + kWidth <= cols; j += kWidth) s = add(s, load(xr + j));
    if (j < cols) s = add(s, load_partial(xr + j, cols - j));
    const float mu = reduce_add(s) / static_cast<float>(cols);
    const Vec vmu = set1(mu);
    Vec q = zero();
    for (j = 0; j + kWidth <= cols; j += kWidth) {
      const Vec d = sub(load(xr + j), vmu);
      q = fma(d, d, q);
    }
    if (j < cols) {
      const Vec d = keep_first(sub(load_partial(xr + j, cols - j), vmu), cols - j);
      q = fma(d, d, q);
    }
    const float rs = 1.0f / std::sqrt(reduce_add(q) / static_cast<float>(cols) + eps);
    const Vec vrs = set1(rs), one = set1(1.0f);
    for (j = 0; j < cols; j += kWidth) {
      const std::size_t w = std::min(kWidth, cols - j);
      const bool full = w == kWidth;
      const Vec xv = full ? load(xr + j) : load_partial(xr + j, w);
      const Vec g = gamma ? (full ? load(gamma + j) : load_partial(gamma + j, w)) : one;
      const Vec b = beta ? (full ? load(beta + j) : load_partial(beta + j, w)) : zero();
      const Vec out = fma(mul(sub(xv, vmu), vrs), g, b);
      if (full) store(yr + j, out);
      else store_partial(yr + j, out, w);
    }
    if (mean) mean[r] = mu;
    if (rstd) rstd[r] = rs;
  }
}

/// dy, x, dx: [rows, cols]; gamma: [cols] or nullptr; mean, rstd: [rows];
/// dgamma, dbeta: [cols] outputs (overwritten) or nullptr.
FREQCAP_TARGET_AVX2 inline void layer_norm_backward(const float* dy, const float* x,
                                                      const float* gamma, const float* mean,
                                                      const float* rstd, float* dx,
                                                      float* dgamma, float* dbeta,
                                                      std::size_t rows, std::size_t cols) {
  using namespace v;
  [[maybe_unused]] const bool par = rows * cols >= kParallelMin;
  // Column sums first: dx may alias dy.
  if (dgamma || dbeta) {
    constexpr std::size_t kCols = 16 * kWidth;
    const auto nb = static_cast<std::ptrdiff_t>((cols + kCols - 1) / kCols);
FREQCAP_OMP(parallel for schedule(static) if (par && nb > 1))
    for (std::ptrdiff_t bi = 0; bi < nb; ++bi) {
      const std::size_t j0 = static_cast<std::size_t>(bi) * kCols;
      const std::size_t j1 = std::min(cols, j0 + kCols);
      for (std::size_t j = j0; j < j1; ++j) {
        if (dgamma) dgamma[j] = 0.0f;
        if (dbeta) dbeta[j] = 0.0f;
      }
      for (std::size_t r = 0; r < rows; ++r) {
        const float* dyr = dy + r * cols;
        const float* xr = x + r * cols;
        const Vec vmu = set1(mean[r]), vrs = set1(rstd[r]);
        for (std::size_t j = j0; j < j1; j += kWidth) {
          const std::size_t w = std::min(kWidth, j1 - j);
          const bool full = w == kWidth;
          const Vec d = full ? load(dyr + j) : load_partial(dyr + j, w);
          if (dgamma) {
            const Vec h = mul(sub(full ? load(xr + j) : load_partial(xr + j, w), vmu), vrs);
            const Vec acc = fma(d, h, full ? load(dgamma + j) : load_partial(dgamma + j, w));
            if (full) store(dgamma + j, acc);
            else store_partial(dgamma + j, acc, w);
          }
          if (dbeta) {
            const Vec acc = add(d, full ? load(dbeta + j) : load_partial(dbeta + j, w));
            if (full) store(dbeta + j, acc);
            else store_partial(dbeta + j, acc, w);
          }
        }
      }
    }
  }
  const auto nr = static_cast<std::ptrdiff_t>(rows);
FREQCAP_OMP(parallel for schedule(static) if (par && rows > 1))
  for (std::ptrdiff_t r = 0; r < nr; ++r) {
    const float* dyr = dy + r * cols;
    const float* xr = x + r * cols;
    float* dxr = dx + r * cols;
    const Vec vmu = set1(mean[r]), vrs = set1(rstd[r]), one = set1(1.0f);
    Vec sg = zero(), sgh = zero();
    for (std::size_t j = 0; j < cols; j += kWidth) {
      const std::size_t w = std::min(kWidth, cols - j);
      const bool full = w == kWidth;
      const Vec h = mul(sub(full ? load(xr + j) : load_partial(xr + j, w), vmu), vrs);
      const Vec gm = gamma ? (full ? load(gamma + j) : load_partial(gamma + j, w)) : one;
      const Vec g = mul(full ? load(dyr + j) : load_partial(dyr + j, w), gm);  // 0 past the tail
      sg = add(sg, g);
      sgh = fma(g, h, sgh);
    }
    const float inv = 1.0f / static_cast<float>(cols);
    const Vec msg = set1(reduce_add(sg) * inv), msgh = set1(reduce_add(sgh) * inv);
    for (std::size_t j = 0; j < cols; j += kWidth) {
      const std::size_t w = std::min(kWidth, cols - j);
      const bool full = w == kWidth;
      const Vec h = mul(sub(full ? load(xr + j) : load_partial(xr + j, w), vmu), vrs);
      const Vec gm = gamma ? (full ? load(gamma + j) : load_partial(gamma + j, w)) : one;
      const Vec g = mul(full ? load(dyr + j) : load_partial(dyr + j, w), gm);
      const Vec out = mul(vrs, sub(sub(g, msg), mul(h, msgh)));
      if (full) store(dxr + j, out);
      else store_partial(dxr + j, out, w);
    }
  }
}

}  // namespace freqcap::kernels::avx2

#endif  // FREQCAP_KERNELS_X86
