// Where a convolution (or pooling) tap reads: the output columns whose input
// column lies inside the image (tap_columns), the input row of an output row
// (tap_row), and one im2col row segment unfolded from an input row
// (unfold_segment, for im2col in conv2d.hpp). tap_columns and tap_row also
// serve the packed implicit-im2col GEMM (conv2d_packed.hpp) and the
// depthwise loops (conv2d_depthwise.hpp); tap_columns max_pool2d's windows.
#pragma once

#include <algorithm>
#include <cstddef>

#include "freqcap/kernels/conv2d_shape.hpp"

namespace freqcap::kernels::detail {

/// Output columns [lo, hi) whose input column ox * stride + off lies in [0, in_w); off too.
struct TapColumns {
  std::ptrdiff_t lo = 0, hi = 0, off = 0;
};
/// The columns of a row of out_w outputs read at stride with offset off from a row of in_w inputs.
inline TapColumns tap_columns(std::ptrdiff_t in_w, std::ptrdiff_t out_w, std::ptrdiff_t stride, std::ptrdiff_t off) {
  const std::ptrdiff_t last = in_w - 1 - off;
  const std::ptrdiff_t lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
  const std::ptrdiff_t hi = std::min(last >= 0 ? last / stride + 1 : 0, out_w);
  return {lo, std::max(lo, hi), off};
}
/// The columns of kernel column kj: off = kj * dilation_w - pad_w.
inline TapColumns tap_columns(const Conv2dShape& s, std::size_t kj) {
  return tap_columns(std::ptrdiff_t(s.in_w), std::ptrdiff_t(s.out_w()), std::ptrdiff_t(s.stride_w),
                     std::ptrdiff_t(kj * s.dilation_w) - std::ptrdiff_t(s.pad_w));
}

/// Input row of output row oy under kernel row ki, or -1 outside the image.
inline std::ptrdiff_t tap_row(const Conv2dShape& s, std::size_t oy, std::size_t ki) {
  const std::ptrdiff_t iy =
      std::ptrdiff_t(oy * s.stride_h + ki * s.dilation_h) - std::ptrdiff_t(s.pad_h);
  return iy >= 0 && iy < std::ptrdiff_t(s.in_h) ? iy : -1;
}

/// Output columns [ox0, ox1) of one im2col row: out[ox - ox0] = xr[ox * stride + c.off]
/// where that input column lies inside the row (c from tap_columns), else 0.
template <class T>
void unfold_segment(const T* xr, TapColumns c, std::size_t stride, std::size_t ox0, std::size_t ox1, T* out) {
  const std::size_t lo = std::clamp(std::size_t(c.lo), ox0, ox1), hi = std::clamp(std::size_t(c.hi), lo, ox1);
  std::fill(out, out + (lo - ox0), T(0));
  if (hi > lo) {
    const T* in = xr + (std::ptrdiff_t(lo * stride) + c.off);  // the input column of output column lo
    if (stride == 1) std::copy(in, in + (hi - lo), out + (lo - ox0));
    else
      for (std::size_t i = 0; i < hi - lo; ++i) out[lo - ox0 + i] = in[i * stride];
  }
  std::fill(out + (hi - ox0), out + (ox1 - ox0), T(0));
}

}  // namespace freqcap::kernels::detail
