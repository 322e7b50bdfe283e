// The scalar twins of the depthwise-convolution plane kernels (the ISA
// versions are simd/depthwise.inc): one output plane of a depthwise
// convolution, and the weight gradient of one plane pair, every tap read from
// a zero-padded input plane so no tap needs a bounds test.
#pragma once

#include <cstddef>

namespace freqcap::kernels {

/// Kernels with more taps than this (5x5 is 25) take the tap loops of conv2d_depthwise.hpp.
inline constexpr std::size_t kDepthwiseMaxTaps = 25;

/// y[oy, ox] = (bias ? *bias : y[oy, ox]) + sum over ki < kh, kj < kw of w[ki * kw + kj] * p[(oy * sh + ki * dh) * pw + ox * sw + kj * dw]
/// for oy < oh, ox < ow (y row-major [oh, ow], p row-major with row length pw),
/// accumulated in that order per output. kh * kw <= kDepthwiseMaxTaps. The SIMD
/// versions may read up to 2 * (vector width) floats past the last tap of p.
inline void depthwise_plane_scalar(const float* p, std::size_t pw, const float* w, std::size_t kh, std::size_t kw,
                                   std::size_t sh, std::size_t sw, std::size_t dh, std::size_t dw,
                                   const float* bias, float* y, std::size_t oh, std::size_t ow) {
  for (std::size_t oy = 0; oy < oh; ++oy, y += ow)
    for (std::size_t ox = 0; ox < ow; ++ox) {
      float acc = bias ? *bias : y[ox];
      for (std::size_t ki = 0; ki < kh; ++ki) {
        const float* r = p + (oy * sh + ki * dh) * pw + ox * sw;
        for (std::size_t kj = 0; kj < kw; ++kj) acc += w[ki * kw + kj] * r[kj * dw];
      }
      y[ox] = acc;
    }
}

/// g[ki * kw + kj] += sum over oy < oh, ox < ow of dy[oy * ow + ox] *
/// p[(oy * sh + ki * dh) * pw + ox * sw + kj * dw] (p as depthwise_plane_scalar,
/// dy row-major [oh, ow]), summed per tap in row-major order of (oy, ox).
/// kh * kw <= kDepthwiseMaxTaps; the SIMD versions read p as depthwise_plane does.
inline void depthwise_plane_grad_scalar(const float* p, std::size_t pw, const float* dy, std::size_t kh,
                                        std::size_t kw, std::size_t sh, std::size_t sw, std::size_t dh,
                                        std::size_t dw, float* g, std::size_t oh, std::size_t ow) {
  for (std::size_t ki = 0; ki < kh; ++ki)
    for (std::size_t kj = 0; kj < kw; ++kj) {
      float acc = 0.0f;
      for (std::size_t oy = 0; oy < oh; ++oy) {
        const float* r = p + (oy * sh + ki * dh) * pw + kj * dw;
        for (std::size_t ox = 0; ox < ow; ++ox) acc += dy[oy * ow + ox] * r[ox * sw];
      }
      g[ki * kw + kj] += acc;
    }
}

}  // namespace freqcap::kernels
