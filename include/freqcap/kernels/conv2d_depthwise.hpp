// Depthwise convolution (one input channel per group, `multiplier` =
// out_channels / groups outputs each): forward, input gradient and weight
// gradient as direct loops over kernel taps. im2col + GEMM would run a 1-row
// GEMM and a col2im per channel and image; here each tap is one pass over the
// output columns whose input column lies inside the image (contiguous, so an
// axpy, when the stride is 1). conv2d.hpp sends depthwise shapes here; the
// tests compare these with the direct references there.
#pragma once

#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <utility>

#include "freqcap/kernels/conv2d_shape.hpp"
#include "freqcap/kernels/elementwise.hpp"
#include "freqcap/kernels/isa.hpp"
#include "freqcap/kernels/table.hpp"

namespace freqcap::kernels {

/// Depthwise = every group holds one input channel (and more than one group).
inline bool is_depthwise(const Conv2dShape& s) { return s.in_per_group() == 1 && s.groups > 1; }

namespace detail {

/// The output columns [lo, hi) whose input column ox*stride_w + off, with
/// off = kj*dilation_w - pad_w, lies in [0, in_w); off is returned too.
struct TapColumns {
  std::ptrdiff_t lo = 0, hi = 0, off = 0;
};
inline TapColumns tap_columns(const Conv2dShape& s, std::size_t kj) {
  const std::ptrdiff_t off = std::ptrdiff_t(kj * s.dilation_w) - std::ptrdiff_t(s.pad_w);
  const std::ptrdiff_t sw = std::ptrdiff_t(s.stride_w), last = std::ptrdiff_t(s.in_w) - 1 - off;
  const std::ptrdiff_t lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
  const std::ptrdiff_t hi = std::min(last >= 0 ? last / sw + 1 : 0, std::ptrdiff_t(s.out_w()));
  return {lo, std::max(lo, hi), off};
}

/// Input row of output row oy under kernel row ki, or -1 outside the image.
inline std::ptrdiff_t tap_row(const Conv2dShape& s, std::size_t oy, std::size_t ki) {
  const std::ptrdiff_t iy =
      std::ptrdiff_t(oy * s.stride_h + ki * s.dilation_h) - std::ptrdiff_t(s.pad_h);
  return iy >= 0 && iy < std::ptrdiff_t(s.in_h) ? iy : -1;
}

/// Calls f(oy, iy, ki, kj, cols) for every tap and output row whose input row is inside.
template <class F> void for_each_tap_row(const Conv2dShape& s, F&& f) {
  for (std::size_t kj = 0; kj < s.kernel_w; ++kj) {
    const TapColumns cols = tap_columns(s, kj);
    if (cols.lo >= cols.hi) continue;
    for (std::size_t oy = 0; oy < s.out_h(); ++oy)
      for (std::size_t ki = 0; ki < s.kernel_h; ++ki)
        if (const std::ptrdiff_t iy = tap_row(s, oy, ki); iy >= 0) f(oy, std::size_t(iy), ki, kj, cols);
  }
}

/// y[ox] += a * x[ox * stride] for ox in [lo, hi) (x already offset by the tap).
template <class T>
void tap_axpy(T a, const T* x, std::ptrdiff_t stride, T* y, std::ptrdiff_t lo, std::ptrdiff_t hi) {
  if constexpr (std::is_same_v<T, float>) {
    if (stride == 1) return table().axpy(a, x + lo, y + lo, std::size_t(hi - lo));
  }
  for (std::ptrdiff_t i = lo; i < hi; ++i) y[i] += a * x[i * stride];
}
/// The transpose: x[ox * stride] += a * y[ox].
template <class T>
void tap_axpy_scatter(T a, const T* y, T* x, std::ptrdiff_t stride, std::ptrdiff_t lo, std::ptrdiff_t hi) {
  if constexpr (std::is_same_v<T, float>) {
    if (stride == 1) return table().axpy(a, y + lo, x + lo, std::size_t(hi - lo));
  }
  for (std::ptrdiff_t i = lo; i < hi; ++i) x[i * stride] += a * y[i];
}
/// sum over ox in [lo, hi) of y[ox] * x[ox * stride], in 8 partial sums.
template <class T>
T tap_dot(const T* y, const T* x, std::ptrdiff_t stride, std::ptrdiff_t lo, std::ptrdiff_t hi) {
  T part[8] = {};
  std::ptrdiff_t i = lo;
  if (stride == 1)
    for (; i + 8 <= hi; i += 8)
      for (int j = 0; j < 8; ++j) part[j] += y[i + j] * x[i + j];
  for (; i < hi; ++i) part[0] += y[i] * x[i * stride];
  return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}

/// y = depthwise conv(x, w) + bias (bias may be nullptr).
template <class T>
void conv2d_forward_depthwise(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  const std::size_t ohw = s.col_cols(), hw = s.in_h * s.in_w, kk = s.kernel_h * s.kernel_w,
                    mult = s.out_per_group();
  const auto planes = static_cast<std::ptrdiff_t>(s.batch * s.out_channels);
FREQCAP_OMP(parallel for schedule(static) if (worth_parallel(std::size_t(planes) * ohw * kk)))
  for (std::ptrdiff_t pi = 0; pi < planes; ++pi) {
    const std::size_t n = std::size_t(pi) / s.out_channels, k = std::size_t(pi) % s.out_channels;
    const T* xc = x + (n * s.in_channels + k / mult) * hw;
    const T* wk = w + k * kk;
    T* yp = y + std::size_t(pi) * ohw;
    std::fill(yp, yp + ohw, bias ? bias[k] : T(0));
    for_each_tap_row(s, [&](std::size_t oy, std::size_t iy, std::size_t ki, std::size_t kj, TapColumns c) {
      tap_axpy(wk[ki * s.kernel_w + kj], xc + iy * s.in_w + c.off, std::ptrdiff_t(s.stride_w),
               yp + oy * s.out_w(), c.lo, c.hi);
    });
  }
}

/// dx (overwritten) from dy: every input plane gathers its `mult` output planes.
template <class T>
void conv2d_backward_input_depthwise(const Conv2dShape& s, const T* dy, const T* w, T* dx) {
  const std::size_t ohw = s.col_cols(), hw = s.in_h * s.in_w, kk = s.kernel_h * s.kernel_w,
                    mult = s.out_per_group();
  const auto planes = static_cast<std::ptrdiff_t>(s.batch * s.in_channels);
FREQCAP_OMP(parallel for schedule(static) if (worth_parallel(std::size_t(planes) * mult * ohw * kk)))
  for (std::ptrdiff_t pi = 0; pi < planes; ++pi) {
    const std::size_t n = std::size_t(pi) / s.in_channels, c = std::size_t(pi) % s.in_channels;
    T* xp = dx + std::size_t(pi) * hw;
    std::fill(xp, xp + hw, T(0));
    for (std::size_t k = c * mult; k < (c + 1) * mult; ++k) {
      const T* wk = w + k * kk;
      const T* yp = dy + (n * s.out_channels + k) * ohw;
      for_each_tap_row(s, [&](std::size_t oy, std::size_t iy, std::size_t ki, std::size_t kj, TapColumns t) {
        tap_axpy_scatter(wk[ki * s.kernel_w + kj], yp + oy * s.out_w(), xp + iy * s.in_w + t.off,
                         std::ptrdiff_t(s.stride_w), t.lo, t.hi);
      });
    }
  }
}

/// dw (overwritten) = sum over images of dy * x per tap; one output channel per item.
template <class T>
void conv2d_backward_weight_depthwise(const Conv2dShape& s, const T* x, const T* dy, T* dw) {
  const std::size_t ohw = s.col_cols(), hw = s.in_h * s.in_w, kk = s.kernel_h * s.kernel_w,
                    mult = s.out_per_group();
  const auto channels = static_cast<std::ptrdiff_t>(s.out_channels);
FREQCAP_OMP(parallel for schedule(static) if (worth_parallel(s.batch * std::size_t(channels) * ohw * kk)))
  for (std::ptrdiff_t ki_ = 0; ki_ < channels; ++ki_) {
    const std::size_t k = std::size_t(ki_);
    T* wk = dw + k * kk;
    std::fill(wk, wk + kk, T(0));
    for (std::size_t n = 0; n < s.batch; ++n) {
      const T* xc = x + (n * s.in_channels + k / mult) * hw;
      const T* yp = dy + (n * s.out_channels + k) * ohw;
      for_each_tap_row(s, [&](std::size_t oy, std::size_t iy, std::size_t ki, std::size_t kj, TapColumns t) {
        wk[ki * s.kernel_w + kj] += tap_dot(yp + oy * s.out_w(), xc + iy * s.in_w + t.off,
                                            std::ptrdiff_t(s.stride_w), t.lo, t.hi);
      });
    }
  }
}

}  // namespace detail
}  // namespace freqcap::kernels
