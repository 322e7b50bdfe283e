// Pointwise (1x1, stride 1, unpadded, one group) convolutions over small
// planes, batched. Per image such a convolution is the GEMM [K, C] x [C, HW];
// with HW down to 4 or 1 (EfficientNet's late stages) that is nearly a
// matrix-vector product, which rereads all of W for every image. Packing the
// batch into [C, N*HW] makes the N products one GEMM that reads W once.
// A kernel that covers its whole unpadded input (one output pixel, e.g.
// LeNet-5's fc1 as a 4x4 convolution on the 4x4 map) is a Linear: x [N, C*R*S]
// is already its im2col, so the batch is one GEMM with no packing at all.
// conv2d.hpp (forward, input gradient) and autograd's conv2d (weight gradient)
// send such shapes here; the tests compare them with the direct references.
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

#include "freqcap/kernels/conv2d_shape.hpp"

namespace freqcap::kernels {

/// Planes smaller than this (OH * OW) are batched into one GEMM.
inline constexpr std::size_t kPointwiseBatchPlane = 256;

/// Whether the batched pointwise path applies to `s`.
inline bool batched_pointwise(const Conv2dShape& s) {
  return s.is_pointwise() && s.groups == 1 && s.batch > 1 && s.col_cols() < kPointwiseBatchPlane;
}

/// Whether `s` is a batched Linear: one group, no padding, dilation 1, and a
/// kernel the size of the input (so one output pixel per image).
inline bool whole_plane(const Conv2dShape& s) {
  return s.groups == 1 && s.batch > 1 && s.pad_h == 0 && s.pad_w == 0 && s.dilation_h == 1 && s.dilation_w == 1 &&
         s.kernel_h == s.in_h && s.kernel_w == s.in_w;
}

namespace detail {

/// Planes this small are moved element by element: a library copy per plane
/// costs more in calls than it moves.
inline constexpr std::size_t kPointwiseShortPlane = 16;

/// [N, C, P] -> [C, N*P].
template <class T> void pack_batch(const T* src, T* dst, std::size_t n, std::size_t c, std::size_t p) {
  for (std::size_t i = 0; i < n; ++i) {
    const T* s = src + i * c * p;
    T* d = dst + i * p;
    if (p < kPointwiseShortPlane) {
      for (std::size_t t = 0; t < p; ++t)
        for (std::size_t j = 0; j < c; ++j) d[j * n * p + t] = s[j * p + t];
    } else {
      for (std::size_t j = 0; j < c; ++j) std::copy(s + j * p, s + (j + 1) * p, d + j * n * p);
    }
  }
}
/// [C, N*P] -> [N, C, P].
template <class T> void unpack_batch(const T* src, T* dst, std::size_t n, std::size_t c, std::size_t p) {
  for (std::size_t i = 0; i < n; ++i) {
    const T* s = src + i * p;
    T* d = dst + i * c * p;
    if (p < kPointwiseShortPlane) {
      for (std::size_t t = 0; t < p; ++t)
        for (std::size_t j = 0; j < c; ++j) d[j * p + t] = s[j * n * p + t];
    } else {
      for (std::size_t j = 0; j < c; ++j) std::copy(s + j * n * p, s + j * n * p + p, d + j * p);
    }
  }
}
/// Two per-thread packing buffers of at least a and b elements.
template <class T> std::pair<T*, T*> pointwise_buffers(std::size_t a, std::size_t b) {
  thread_local std::vector<T> x, y;
  if (x.size() < a) x.resize(a);
  if (y.size() < b) y.resize(b);
  return {x.data(), y.data()};
}

/// y [N, K, P] = w [K, C] x [N, C, P] (+ bias [K] or nullptr), as one GEMM.
template <class T, class Kernels>
void pointwise_forward_batched(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y, const Kernels& kern) {
  const std::size_t n = s.batch, c = s.in_channels, k = s.out_channels, p = s.col_cols(), np = n * p;
  auto [xp, yp] = pointwise_buffers<T>(c * np, k * np);
  pack_batch(x, xp, n, c, p);
  kern.gemm(false, false, k, np, c, T(1), w, c, xp, np, T(0), yp, np);
  if (bias)
    for (std::size_t j = 0; j < k; ++j)
      for (std::size_t i = 0; i < np; ++i) yp[j * np + i] += bias[j];
  unpack_batch(yp, y, n, k, p);
}

/// dx [N, C, P] = w^T dy, as one GEMM.
template <class T, class Kernels>
void pointwise_backward_input_batched(const Conv2dShape& s, const T* dy, const T* w, T* dx, const Kernels& kern) {
  const std::size_t n = s.batch, c = s.in_channels, k = s.out_channels, p = s.col_cols(), np = n * p;
  auto [dyp, dxp] = pointwise_buffers<T>(k * np, c * np);
  pack_batch(dy, dyp, n, k, p);
  kern.gemm(true, false, c, np, k, T(1), w, c, dyp, np, T(0), dxp, np);
  unpack_batch(dxp, dx, n, c, p);
}

/// dw [K, C] = sum over images of dy x^T, as one GEMM (dw overwritten).
template <class T, class Kernels>
void pointwise_backward_weight_batched(const Conv2dShape& s, const T* x, const T* dy, T* dw, const Kernels& kern) {
  const std::size_t n = s.batch, c = s.in_channels, k = s.out_channels, p = s.col_cols(), np = n * p;
  auto [xp, dyp] = pointwise_buffers<T>(c * np, k * np);
  pack_batch(x, xp, n, c, p);
  pack_batch(dy, dyp, n, k, p);
  kern.gemm(false, true, k, c, np, T(1), dyp, np, xp, np, T(0), dw, c);
}

/// whole_plane shapes: y [N, K] = x [N, CRS] w^T (+ bias [K] or nullptr).
template <class T, class Kernels>
void whole_plane_forward(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y, const Kernels& kern) {
  const std::size_t n = s.batch, k = s.out_channels, kk = s.col_rows();
  kern.gemm(false, true, n, k, kk, T(1), x, kk, w, kk, T(0), y, k);
  if (bias)
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < k; ++j) y[i * k + j] += bias[j];
}
/// whole_plane shapes: dx [N, CRS] = dy [N, K] w.
template <class T, class Kernels>
void whole_plane_backward_input(const Conv2dShape& s, const T* dy, const T* w, T* dx, const Kernels& kern) {
  const std::size_t n = s.batch, k = s.out_channels, kk = s.col_rows();
  kern.gemm(false, false, n, kk, k, T(1), dy, k, w, kk, T(0), dx, kk);
}
/// whole_plane shapes: dw [K, CRS] = dy^T x (overwritten).
template <class T, class Kernels>
void whole_plane_backward_weight(const Conv2dShape& s, const T* x, const T* dy, T* dw, const Kernels& kern) {
  const std::size_t n = s.batch, k = s.out_channels, kk = s.col_rows();
  kern.gemm(true, false, k, kk, n, T(1), dy, k, x, kk, T(0), dw, kk);
}

}  // namespace detail
}  // namespace freqcap::kernels
