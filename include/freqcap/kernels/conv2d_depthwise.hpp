// Depthwise convolution (one input channel per group, `multiplier` =
// out_channels / groups outputs each): forward, input gradient and weight
// gradient without im2col (which would run a 1-row GEMM and a col2im per
// channel and image). In float, planes at most kDepthwiseSmallWidth wide
// (multiplier 1) run the channel-blocked kernels of
// conv2d_depthwise_small.hpp; larger ones are copied into a zero-padded
// scratch plane and run the plane kernels of conv2d_depthwise_plane.hpp: the
// forward pass sums all taps of an output row in registers, the input
// gradient at stride 1 is the same kernel over the padded output gradient
// with the taps flipped, and the weight gradient keeps one running sum per
// tap. Otherwise (double, strided input gradients of larger planes, kernels
// over 25 taps) each tap is one pass over the output columns whose input
// column lies inside the image (contiguous, so an axpy, when the stride is 1).
// conv2d.hpp sends depthwise shapes here; the tests compare these with the
// direct references there.
#pragma once

#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <utility>

#include "freqcap/kernels/conv2d_depthwise_plane.hpp"
#include "freqcap/kernels/conv2d_depthwise_small.hpp"
#include "freqcap/kernels/conv2d_shape.hpp"
#include "freqcap/kernels/conv2d_taps.hpp"
#include "freqcap/kernels/elementwise.hpp"
#include "freqcap/kernels/isa.hpp"
#include "freqcap/kernels/partial_sums.hpp"
#include "freqcap/kernels/table.hpp"
#include "freqcap/kernels/workspace.hpp"

namespace freqcap::kernels {

/// Depthwise = every group holds one input channel (and more than one group).
inline bool is_depthwise(const Conv2dShape& s) { return s.in_per_group() == 1 && s.groups > 1; }

namespace detail {

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
  return combine8(part);
}

/// One thread's zero-padded copy of a plane [h, w]: top and bottom rows, left
/// and right columns of zeros around it, then kDepthwiseSlack floats. The
/// borders and slack are zeroed once; each copy() then only writes the h rows
/// of the interior, so small planes do not pay for their padding every time.
inline constexpr std::size_t kDepthwiseSlack = 64;  // >= 2 * the widest vector, in floats
class PaddedPlane {
 public:
  PaddedPlane(std::size_t h, std::size_t w, std::size_t top, std::size_t left)
      : h_(h), w_(w), pw_(w + 2 * left), buf_(scratch(Scratch::im2col).data((h + 2 * top) * pw_ + kDepthwiseSlack)),
        interior_(buf_ + top * pw_ + left) {
    std::fill(buf_, buf_ + (h + 2 * top) * pw_ + kDepthwiseSlack, 0.0f);
  }
  /// Copies src [h, w] into the interior; returns the padded plane.
  const float* copy(const float* src) {
    for (std::size_t i = 0; i < h_; ++i) std::copy(src + i * w_, src + (i + 1) * w_, interior_ + i * pw_);
    return buf_;
  }
  std::size_t row_length() const { return pw_; }

 private:
  std::size_t h_, w_, pw_;
  float* buf_;
  float* interior_;
};

/// Whether the float kernels take this shape: at most kDepthwiseMaxTaps taps;
/// `small`: multiplier 1 and planes no wider than kDepthwiseSmallWidth
/// (`width`: the width of the planes written), which go channel-blocked.
inline bool plane_kernels_fit(const Conv2dShape& s) { return s.kernel_h * s.kernel_w <= kDepthwiseMaxTaps; }
inline bool small_planes(const Conv2dShape& s, std::size_t width) {
  return plane_kernels_fit(s) && s.out_per_group() == 1 && width <= kDepthwiseSmallWidth;
}

/// Calls f(i0, i1) over [0, items) in ranges of whole blocks of 16 items
/// (a multiple of every vector width), one range per thread when `work` is
/// worth a parallel region, else one range.
template <class F> void for_each_block_range(std::size_t items, std::size_t work, F&& f) {
  std::size_t parts = 1;
#if defined(_OPENMP)
  if (worth_parallel(work)) parts = std::min<std::size_t>((items + 15) / 16, std::size_t(omp_get_max_threads()));
#else
  (void)work;
#endif
  for_each_range(items, 16, parts, f);
}

/// Calls body(pad, item) for item < items, over threads when `work` is worth
/// a parallel region; each thread pads its planes [h, w] by top and left
/// (and as much again at the bottom and right) in its own PaddedPlane.
template <class F>
void for_each_padded(std::size_t items, std::size_t work, std::size_t h, std::size_t w, std::size_t top,
                     std::size_t left, F&& body) {
  const auto n = static_cast<std::ptrdiff_t>(items);
FREQCAP_OMP(parallel if (worth_parallel(work)))
  {
    PaddedPlane pad(h, w, top, left);
FREQCAP_OMP(for schedule(static))
    for (std::ptrdiff_t i = 0; i < n; ++i) body(pad, std::size_t(i));
  }
}

/// y = depthwise conv(x, w) + bias (bias may be nullptr). `kt`: the kernel
/// table of the float paths (nullptr: the active one).
template <class T>
void conv2d_forward_depthwise(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y,
                              [[maybe_unused]] const KernelTable* kt = nullptr) {
  const std::size_t ohw = s.col_cols(), hw = s.in_h * s.in_w, kk = s.kernel_h * s.kernel_w,
                    mult = s.out_per_group();
  if constexpr (std::is_same_v<T, float>) {
    if (!kt) kt = &table();
    if (small_planes(s, s.out_w())) {
      for_each_block_range(s.batch * s.in_channels, s.batch * s.out_channels * ohw * kk,
                           [&](std::size_t p0, std::size_t p1) { kt->depthwise_planes(s, x, w, bias, y, p0, p1); });
      return;
    }
    if (plane_kernels_fit(s)) {
      const DepthwisePlaneFn plane = kt->depthwise_plane;
      for_each_padded(s.batch * s.in_channels, s.batch * s.out_channels * ohw * kk, s.in_h, s.in_w, s.pad_h,
                      s.pad_w, [&](PaddedPlane& pad, std::size_t pi) {
                        const float* p = pad.copy(x + pi * hw);
                        const std::size_t n = pi / s.in_channels, c = pi % s.in_channels;
                        for (std::size_t k = c * mult; k < (c + 1) * mult; ++k) {
                          const float zero = 0.0f;
                          plane(p, pad.row_length(), w + k * kk, s.kernel_h, s.kernel_w, s.stride_h, s.stride_w,
                                s.dilation_h, s.dilation_w, bias ? bias + k : &zero,
                                y + (n * s.out_channels + k) * ohw, s.out_h(), s.out_w());
                        }
                      });
      return;
    }
  }
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
/// In float: small planes scatter channel-blocked; larger ones at stride 1 (and
/// padding <= (kernel - 1) * dilation) run the forward plane kernel over dy
/// padded by (kernel - 1) * dilation - padding, taps flipped.
template <class T>
void conv2d_backward_input_depthwise(const Conv2dShape& s, const T* dy, const T* w, T* dx,
                                     [[maybe_unused]] const KernelTable* kt = nullptr) {
  const std::size_t ohw = s.col_cols(), hw = s.in_h * s.in_w, kk = s.kernel_h * s.kernel_w,
                    mult = s.out_per_group();
  if constexpr (std::is_same_v<T, float>) {
    if (!kt) kt = &table();
    if (small_planes(s, s.in_w)) {
      for_each_block_range(s.batch * s.in_channels, s.batch * s.out_channels * ohw * kk,
                           [&](std::size_t p0, std::size_t p1) { kt->depthwise_planes_input_grad(s, dy, w, dx, p0, p1); });
      return;
    }
    const std::size_t reach_h = (s.kernel_h - 1) * s.dilation_h, reach_w = (s.kernel_w - 1) * s.dilation_w;
    if (plane_kernels_fit(s) && s.stride_h == 1 && s.stride_w == 1 && s.pad_h <= reach_h &&
        s.pad_w <= reach_w) {
      const std::size_t oh = s.out_h(), ow = s.out_w(), top = reach_h - s.pad_h, left = reach_w - s.pad_w;
      const DepthwisePlaneFn plane = kt->depthwise_plane;
      const std::size_t planes = s.batch * s.in_channels;
      for_each_padded(planes, planes * mult * ohw * kk, oh, ow, top, left, [&](PaddedPlane& pad, std::size_t pi) {
        const std::size_t n = pi / s.in_channels, c = pi % s.in_channels;
        const float zero = 0.0f;
        for (std::size_t k = c * mult; k < (c + 1) * mult; ++k) {
          float flipped[kDepthwiseMaxTaps];
          std::reverse_copy(w + k * kk, w + (k + 1) * kk, flipped);
          const float* p = pad.copy(dy + (n * s.out_channels + k) * ohw);
          plane(p, pad.row_length(), flipped, s.kernel_h, s.kernel_w, 1, 1, s.dilation_h, s.dilation_w,
                k == c * mult ? &zero : nullptr, dx + pi * hw, s.in_h, s.in_w);  // the first overwrites
        }
      });
      return;
    }
  }
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

/// dw (overwritten) = sum over images of dy * x per tap; one output channel per
/// item. In float: the table's plane gradient over each image's padded input plane.
template <class T>
void conv2d_backward_weight_depthwise(const Conv2dShape& s, const T* x, const T* dy, T* dw,
                                      [[maybe_unused]] const KernelTable* kt = nullptr) {
  const std::size_t ohw = s.col_cols(), hw = s.in_h * s.in_w, kk = s.kernel_h * s.kernel_w,
                    mult = s.out_per_group();
  if constexpr (std::is_same_v<T, float>) {
    if (!kt) kt = &table();
    if (small_planes(s, s.out_w())) {
      for_each_block_range(s.out_channels, s.batch * s.out_channels * ohw * kk,
                           [&](std::size_t c0, std::size_t c1) { kt->depthwise_channels_grad(s, x, dy, dw, c0, c1); });
      return;
    }
    if (plane_kernels_fit(s)) {
      const DepthwisePlaneGradFn grad = kt->depthwise_plane_grad;
      for_each_padded(s.out_channels, s.batch * s.out_channels * ohw * kk, s.in_h, s.in_w, s.pad_h, s.pad_w,
                      [&](PaddedPlane& pad, std::size_t k) {
                        std::fill(dw + k * kk, dw + (k + 1) * kk, 0.0f);
                        for (std::size_t n = 0; n < s.batch; ++n) {
                          const float* p = pad.copy(x + (n * s.in_channels + k / mult) * hw);
                          grad(p, pad.row_length(), dy + (n * s.out_channels + k) * ohw, s.kernel_h, s.kernel_w,
                               s.stride_h, s.stride_w, s.dilation_h, s.dilation_w, dw + k * kk, s.out_h(),
                               s.out_w());
                        }
                      });
      return;
    }
  }
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
