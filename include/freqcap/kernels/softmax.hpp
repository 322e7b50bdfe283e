// Softmax and log-softmax over the last axis of a contiguous [rows, cols]
// array, numerically stable (the row maximum is subtracted first). Holds the
// scalar references and the public entry points (float: active KernelTable;
// other T: the scalar template). y may alias x.
#pragma once

#include <cmath>
#include <cstddef>
#include <type_traits>

#include "freqcap/kernels/table.hpp"

namespace freqcap::kernels {

/// y[r, :] = exp(x[r, :] - max) / sum exp(x[r, :] - max); x, y: [rows, cols].
template <class T> void softmax_scalar(const T* x, T* y, std::size_t rows, std::size_t cols) {
  for (std::size_t r = 0; r < rows; ++r) {
    const T* xr = x + r * cols;
    T* yr = y + r * cols;
    T m = -INFINITY;
    for (std::size_t j = 0; j < cols; ++j) m = xr[j] > m ? xr[j] : m;
    T s = 0;
    for (std::size_t j = 0; j < cols; ++j) {
      yr[j] = std::exp(xr[j] - m);
      s += yr[j];
    }
    const T inv = T(1) / s;
    for (std::size_t j = 0; j < cols; ++j) yr[j] *= inv;
  }
}

/// y[r, :] = x[r, :] - max - log sum exp(x[r, :] - max); x, y: [rows, cols].
template <class T>
void log_softmax_scalar(const T* x, T* y, std::size_t rows, std::size_t cols) {
  for (std::size_t r = 0; r < rows; ++r) {
    const T* xr = x + r * cols;
    T* yr = y + r * cols;
    T m = -INFINITY;
    for (std::size_t j = 0; j < cols; ++j) m = xr[j] > m ? xr[j] : m;
    T s = 0;
    for (std::size_t j = 0; j < cols; ++j) s += std::exp(xr[j] - m);
    const T lse = m + std::log(s);
    for (std::size_t j = 0; j < cols; ++j) yr[j] = xr[j] - lse;
  }
}

/// Softmax over the last axis; x, y: [rows, cols].
template <class T> void softmax(const T* x, T* y, std::size_t rows, std::size_t cols) {
  if constexpr (std::is_same_v<T, float>) table().softmax(x, y, rows, cols);
  else softmax_scalar(x, y, rows, cols);
}
/// Log-softmax over the last axis; x, y: [rows, cols].
template <class T> void log_softmax(const T* x, T* y, std::size_t rows, std::size_t cols) {
  if constexpr (std::is_same_v<T, float>) table().log_softmax(x, y, rows, cols);
  else log_softmax_scalar(x, y, rows, cols);
}

}  // namespace freqcap::kernels

#include "freqcap/kernels/dispatch.hpp"
