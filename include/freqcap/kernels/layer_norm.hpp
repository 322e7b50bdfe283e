// Layer normalisation over the last axis of a contiguous [rows, cols] array:
// forward (y, plus per-row mean and rstd = 1/sqrt(var + eps) kept for the
// backward) and backward (dx, dgamma, dbeta). Biased variance, as PyTorch.
// Holds the scalar references and the public entry points (float: active
// KernelTable; other T: the scalar template).
#pragma once

#include <cmath>
#include <cstddef>
#include <type_traits>

#include "freqcap/kernels/table.hpp"

namespace freqcap::kernels {

/// x, y: [rows, cols]; gamma, beta: [cols] or nullptr (1 and 0);
/// mean, rstd: [rows] outputs (either may be nullptr when not needed).
template <class T>
void layer_norm_scalar(const T* x, const T* gamma, const T* beta, T* y, T* mean, T* rstd,
                       std::size_t rows, std::size_t cols, T eps) {
  for (std::size_t r = 0; r < rows; ++r) {
    const T* xr = x + r * cols;
    T* yr = y + r * cols;
    T s = 0;
    for (std::size_t j = 0; j < cols; ++j) s += xr[j];
    const T mu = s / T(cols);
    T v = 0;
    for (std::size_t j = 0; j < cols; ++j) v += (xr[j] - mu) * (xr[j] - mu);
    const T rs = T(1) / std::sqrt(v / T(cols) + eps);
    for (std::size_t j = 0; j < cols; ++j) {
      const T h = (xr[j] - mu) * rs;
      yr[j] = h * (gamma ? gamma[j] : T(1)) + (beta ? beta[j] : T(0));
    }
    if (mean) mean[r] = mu;
    if (rstd) rstd[r] = rs;
  }
}

/// dy, x, dx: [rows, cols]; gamma: [cols] or nullptr; mean, rstd: [rows] from
/// the forward. Writes dx, and (each may be nullptr) dgamma[j] = sum_r dy*xhat,
/// dbeta[j] = sum_r dy — overwritten, not accumulated. dx may alias dy.
/// ref: dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * gamma.
template <class T>
void layer_norm_backward_scalar(const T* dy, const T* x, const T* gamma, const T* mean,
                                const T* rstd, T* dx, T* dgamma, T* dbeta, std::size_t rows,
                                std::size_t cols) {
  if (dgamma)
    for (std::size_t j = 0; j < cols; ++j) dgamma[j] = 0;
  if (dbeta)
    for (std::size_t j = 0; j < cols; ++j) dbeta[j] = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    const T* dyr = dy + r * cols;
    const T* xr = x + r * cols;
    const T mu = mean[r], rs = rstd[r];
    T sg = 0, sgh = 0;
    for (std::size_t j = 0; j < cols; ++j) {
      const T h = (xr[j] - mu) * rs;
      const T g = dyr[j] * (gamma ? gamma[j] : T(1));
      sg += g;
      sgh += g * h;
      if (dgamma) dgamma[j] += dyr[j] * h;
      if (dbeta) dbeta[j] += dyr[j];
    }
    sg /= T(cols);
    sgh /= T(cols);
    T* dxr = dx + r * cols;
    for (std::size_t j = 0; j < cols; ++j) {
      const T h = (xr[j] - mu) * rs;
      const T g = dyr[j] * (gamma ? gamma[j] : T(1));
      dxr[j] = rs * (g - sg - h * sgh);
    }
  }
}

/// Layer norm forward; see layer_norm_scalar for shapes.
template <class T>
void layer_norm(const T* x, const T* gamma, const T* beta, T* y, T* mean, T* rstd,
                std::size_t rows, std::size_t cols, std::type_identity_t<T> eps) {
  if constexpr (std::is_same_v<T, float>)
    table().layer_norm(x, gamma, beta, y, mean, rstd, rows, cols, eps);
  else layer_norm_scalar(x, gamma, beta, y, mean, rstd, rows, cols, eps);
}
/// Layer norm backward; see layer_norm_backward_scalar for shapes.
template <class T>
void layer_norm_backward(const T* dy, const T* x, const T* gamma, const T* mean, const T* rstd,
                         T* dx, T* dgamma, T* dbeta, std::size_t rows, std::size_t cols) {
  if constexpr (std::is_same_v<T, float>)
    table().layer_norm_backward(dy, x, gamma, mean, rstd, dx, dgamma, dbeta, rows, cols);
  else layer_norm_backward_scalar(dy, x, gamma, mean, rstd, dx, dgamma, dbeta, rows, cols);
}

}  // namespace freqcap::kernels

#include "freqcap/kernels/dispatch.hpp"
