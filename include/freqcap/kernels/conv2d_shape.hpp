// Conv2dShape: every size of one 2-D convolution (NCHW), shared by the
// im2col + GEMM kernels (conv2d.hpp) and the depthwise ones (conv2d_depthwise.hpp).
#pragma once

#include <cstddef>

#include "freqcap/core/error.hpp"

namespace freqcap::kernels {

/// Every size of one convolution. Fill the fields, then call validate().
struct Conv2dShape {
  std::size_t batch = 1, in_channels = 0, in_h = 0, in_w = 0;
  std::size_t out_channels = 0, kernel_h = 1, kernel_w = 1;
  std::size_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
  std::size_t dilation_h = 1, dilation_w = 1, groups = 1;

  std::size_t out_h() const {
    return (in_h + 2 * pad_h - dilation_h * (kernel_h - 1) - 1) / stride_h + 1;
  }
  std::size_t out_w() const {
    return (in_w + 2 * pad_w - dilation_w * (kernel_w - 1) - 1) / stride_w + 1;
  }
  std::size_t in_per_group() const { return in_channels / groups; }
  std::size_t out_per_group() const { return out_channels / groups; }
  /// Rows of one group's im2col matrix: C/groups * R * S.
  std::size_t col_rows() const { return in_per_group() * kernel_h * kernel_w; }
  /// Columns of the im2col matrix: OH * OW.
  std::size_t col_cols() const { return out_h() * out_w(); }
  /// A 1x1, stride-1, unpadded convolution needs no im2col.
  bool is_pointwise() const {
    return kernel_h == 1 && kernel_w == 1 && stride_h == 1 && stride_w == 1 && pad_h == 0 &&
           pad_w == 0;
  }
  /// Throws Error naming the bad field.
  void validate() const {
    FREQCAP_CHECK(groups > 0 && in_channels % groups == 0 && out_channels % groups == 0,
                  "conv2d: channels in=", in_channels, " out=", out_channels,
                  " not divisible by groups=", groups);
    FREQCAP_CHECK(stride_h > 0 && stride_w > 0 && dilation_h > 0 && dilation_w > 0 &&
                      kernel_h > 0 && kernel_w > 0,
                  "conv2d: kernel, stride and dilation must be positive");
    FREQCAP_CHECK(in_h + 2 * pad_h >= dilation_h * (kernel_h - 1) + 1 &&
                      in_w + 2 * pad_w >= dilation_w * (kernel_w - 1) + 1,
                  "conv2d: input ", in_h, "x", in_w, " (padding ", pad_h, ",", pad_w,
                  ") smaller than the dilated ", kernel_h, "x", kernel_w, " kernel");
  }
};

/// Elements of caller workspace that conv2d_* need (0 for pointwise convolutions).
inline std::size_t conv2d_workspace_size(const Conv2dShape& s) {
  return s.is_pointwise() ? 0 : s.col_rows() * s.col_cols();
}

}  // namespace freqcap::kernels
