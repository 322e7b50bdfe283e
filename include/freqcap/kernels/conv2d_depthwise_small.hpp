// The scalar twins of the channel-blocked depthwise kernels for small planes
// (the ISA versions are simd/depthwise_small.inc). A plane a few pixels wide
// fills a fraction of a vector along its rows, so these kernels vectorize
// across channels instead: a block of one vector's width of planes is
// transposed into a zero-padded [ph, pw, width] buffer and every tap is one
// FMA for the whole block. Multiplier 1 only (plane p of x [N * C, H, W] is
// channel p % C). The twins compute the same sums with bounds-tested loops.
#pragma once

#include <cstddef>

#include "freqcap/kernels/conv2d_shape.hpp"

namespace freqcap::kernels {

/// Output planes this narrow (or narrower) take the channel-blocked kernels.
inline constexpr std::size_t kDepthwiseSmallWidth = 8;

namespace detail {
/// Calls f(tap, input offset, output offset) for every tap of one plane whose input lies inside it.
template <class F> void for_each_plane_tap(const Conv2dShape& s, F&& f) {
  for (std::size_t oy = 0; oy < s.out_h(); ++oy)
    for (std::size_t ox = 0; ox < s.out_w(); ++ox)
      for (std::size_t ki = 0; ki < s.kernel_h; ++ki)
        for (std::size_t kj = 0; kj < s.kernel_w; ++kj) {
          const std::ptrdiff_t iy = std::ptrdiff_t(oy * s.stride_h + ki * s.dilation_h) - std::ptrdiff_t(s.pad_h);
          const std::ptrdiff_t ix = std::ptrdiff_t(ox * s.stride_w + kj * s.dilation_w) - std::ptrdiff_t(s.pad_w);
          if (iy >= 0 && ix >= 0 && iy < std::ptrdiff_t(s.in_h) && ix < std::ptrdiff_t(s.in_w))
            f(ki * s.kernel_w + kj, std::size_t(iy) * s.in_w + std::size_t(ix), oy * s.out_w() + ox);
        }
}
}  // namespace detail

/// y[p] = (bias ? bias[p % C] : 0) + the taps of w[p % C] over x[p], for planes
/// p in [p0, p1) of a depthwise convolution with multiplier 1 (C = s.out_channels).
inline void depthwise_planes_scalar(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                                    float* y, std::size_t p0, std::size_t p1) {
  const std::size_t hw = s.in_h * s.in_w, ohw = s.col_cols(), kk = s.kernel_h * s.kernel_w;
  for (std::size_t p = p0; p < p1; ++p) {
    const std::size_t k = p % s.out_channels;
    float* yp = y + p * ohw;
    for (std::size_t i = 0; i < ohw; ++i) yp[i] = bias ? bias[k] : 0.0f;
    detail::for_each_plane_tap(s, [&](std::size_t tap, std::size_t xi, std::size_t yi) {
      yp[yi] += w[k * kk + tap] * x[p * hw + xi];
    });
  }
}

/// dx[p] (overwritten) = the input gradient of plane p from dy[p] and the taps
/// of w[p % C], for planes p in [p0, p1) (multiplier 1): every tap scatters
/// w * dy into the input pixel it read.
inline void depthwise_planes_input_grad_scalar(const Conv2dShape& s, const float* dy, const float* w, float* dx,
                                               std::size_t p0, std::size_t p1) {
  const std::size_t hw = s.in_h * s.in_w, ohw = s.col_cols(), kk = s.kernel_h * s.kernel_w;
  for (std::size_t p = p0; p < p1; ++p) {
    const std::size_t k = p % s.out_channels;
    float* xp = dx + p * hw;
    for (std::size_t i = 0; i < hw; ++i) xp[i] = 0.0f;
    detail::for_each_plane_tap(s, [&](std::size_t tap, std::size_t xi, std::size_t yi) {
      xp[xi] += w[k * kk + tap] * dy[p * ohw + yi];
    });
  }
}

/// dw[c] (overwritten) = the sum over the batch of dy[n, c] * x[n, c] per tap,
/// for channels c in [c0, c1) of a depthwise convolution with multiplier 1.
inline void depthwise_channels_grad_scalar(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                                           std::size_t c0, std::size_t c1) {
  const std::size_t hw = s.in_h * s.in_w, ohw = s.col_cols(), kk = s.kernel_h * s.kernel_w;
  for (std::size_t c = c0; c < c1; ++c) {
    float* g = dw + c * kk;
    for (std::size_t t = 0; t < kk; ++t) g[t] = 0.0f;
    for (std::size_t n = 0; n < s.batch; ++n) {
      const std::size_t p = n * s.in_channels + c;
      detail::for_each_plane_tap(s, [&](std::size_t tap, std::size_t xi, std::size_t yi) {
        g[tap] += dy[p * ohw + yi] * x[p * hw + xi];
      });
    }
  }
}

}  // namespace freqcap::kernels
