// Differentiable 2-D convolution with PyTorch's semantics: x [N, C, H, W],
// weight [O, C/groups, kh, kw], optional bias [O], zero padding, stride,
// dilation and groups (depthwise when groups = C). The arithmetic is
// kernels/conv2d.hpp's im2col + GEMM (dispatched SIMD sgemm for float, the
// scalar GEMM for double); the weight gradient splits the batch over threads.
#pragma once

#include <algorithm>
#include <vector>

#include "freqcap/autograd/var.hpp"
#include "freqcap/kernels/conv2d.hpp"

namespace freqcap {

/// Stride, zero padding, dilation (each per axis) and groups of a conv2d.
struct Conv2dParams {
  std::int64_t stride_h = 1, stride_w = 1;
  std::int64_t padding_h = 0, padding_w = 0;
  std::int64_t dilation_h = 1, dilation_w = 1;
  std::int64_t groups = 1;

  /// The same stride, padding and dilation on both axes.
  static Conv2dParams square(std::int64_t stride, std::int64_t padding = 0, std::int64_t dilation = 1,
                             std::int64_t groups = 1) {
    return {stride, stride, padding, padding, dilation, dilation, groups};
  }
};

namespace detail {

/// Every size a conv2d needs, checked once.
struct ConvGeom {
  std::int64_t N, C, H, W, O, kh, kw, Ho, Wo, G, Cg, Og;
  Conv2dParams p;
};

inline ConvGeom conv_geom(const Shape& x, const Shape& w, const Conv2dParams& p) {
  FREQCAP_CHECK(x.size() == 4 && w.size() == 4, "conv2d: input ", shape_str(x), " and weight ", shape_str(w),
                " must both be 4-D ([N, C, H, W] and [O, C/groups, kh, kw])");
  FREQCAP_CHECK(p.stride_h > 0 && p.stride_w > 0 && p.dilation_h > 0 && p.dilation_w > 0 && p.padding_h >= 0 &&
                    p.padding_w >= 0 && p.groups > 0,
                "conv2d: stride ", p.stride_h, "x", p.stride_w, ", dilation ", p.dilation_h, "x", p.dilation_w,
                ", padding ", p.padding_h, "x", p.padding_w, ", groups ", p.groups, " are not valid");
  ConvGeom g{x[0], x[1], x[2], x[3], w[0], w[2], w[3], 0, 0, p.groups, 0, 0, p};
  FREQCAP_CHECK(g.C % g.G == 0 && g.O % g.G == 0, "conv2d: groups ", g.G, " must divide input channels ", g.C,
                " and output channels ", g.O);
  g.Cg = g.C / g.G;
  g.Og = g.O / g.G;
  FREQCAP_CHECK(w[1] == g.Cg, "conv2d: weight ", shape_str(w), " needs ", g.Cg,
                " input channels per group for input ", shape_str(x), " with groups ", g.G);
  g.Ho = (g.H + 2 * p.padding_h - p.dilation_h * (g.kh - 1) - 1) / p.stride_h + 1;
  g.Wo = (g.W + 2 * p.padding_w - p.dilation_w * (g.kw - 1) - 1) / p.stride_w + 1;
  FREQCAP_CHECK(g.H + 2 * p.padding_h >= p.dilation_h * (g.kh - 1) + 1 &&
                    g.W + 2 * p.padding_w >= p.dilation_w * (g.kw - 1) + 1,
                "conv2d: kernel ", g.kh, "x", g.kw, " (dilation ", p.dilation_h, "x", p.dilation_w,
                ") is larger than the padded input ", shape_str(x));
  return g;
}

inline kernels::Conv2dShape kernel_shape(const ConvGeom& g) {
  kernels::Conv2dShape s;
  s.batch = std::size_t(g.N), s.in_channels = std::size_t(g.C), s.in_h = std::size_t(g.H), s.in_w = std::size_t(g.W);
  s.out_channels = std::size_t(g.O), s.kernel_h = std::size_t(g.kh), s.kernel_w = std::size_t(g.kw);
  s.stride_h = std::size_t(g.p.stride_h), s.stride_w = std::size_t(g.p.stride_w);
  s.pad_h = std::size_t(g.p.padding_h), s.pad_w = std::size_t(g.p.padding_w);
  s.dilation_h = std::size_t(g.p.dilation_h), s.dilation_w = std::size_t(g.p.dilation_w);
  s.groups = std::size_t(g.G);
  return s;
}

/// dw [O, Cg, kh, kw] (overwritten) = sum_n dy_n,g im2col(x_n,g)^T. Threads split
/// the batch, each summing into its own buffer (kernels::conv2d_backward_weight
/// splits groups only, which leaves one thread busy for groups = 1). Shapes
/// with a dedicated kernel (depthwise, small-plane pointwise) go to it.
template <class T>
void conv2d_backward_weight(const kernels::Conv2dShape& s, const T* x, const T* dy, T* dw) {
  if (kernels::has_dedicated_kernel(s)) return kernels::conv2d_backward_weight(s, x, dy, dw);
  const std::size_t cg = s.in_per_group(), kg = s.out_per_group(), kk = s.col_rows(), ohw = s.col_cols(),
                    hw = s.in_h * s.in_w, wsize = s.out_channels * kk;
  const bool direct = s.is_pointwise();
  std::fill(dw, dw + wsize, T(0));
  const auto N = static_cast<std::int64_t>(s.batch);
  const bool par = N > 1 && double(s.batch) * double(s.out_channels) * double(kk) * double(ohw) >= 1e6;
#pragma omp parallel if (par)
  {
    std::vector<T> col(direct ? 0 : kk * ohw), acc(wsize, T(0));
#pragma omp for schedule(static)
    for (std::int64_t n = 0; n < N; ++n)
      for (std::size_t g = 0; g < s.groups; ++g) {
        const T* src = x + (std::size_t(n) * s.in_channels + g * cg) * hw;
        if (!direct) {
          kernels::im2col(s, src, col.data());
          src = col.data();
        }
        kernels::gemm(false, true, kg, kk, ohw, T(1), dy + (std::size_t(n) * s.out_channels + g * kg) * ohw, ohw,
                      src, ohw, T(1), acc.data() + g * kg * kk, kk);
      }
#pragma omp critical(freqcap_conv2d_dw)
    for (std::size_t i = 0; i < wsize; ++i) dw[i] += acc[i];
  }
}

}  // namespace detail

/// 2-D convolution (cross-correlation, as PyTorch): x [N, C, H, W],
/// weight [O, C/groups, kh, kw], bias [O] or undefined -> [N, O, Ho, Wo] with
/// Ho = (H + 2*padding_h - dilation_h*(kh-1) - 1) / stride_h + 1 (Wo likewise).
template <class T>
Var<T> conv2d(const Var<T>& x, const Var<T>& weight, const Var<T>& bias = Var<T>(),
              const Conv2dParams& params = {}) {
  const detail::ConvGeom g = detail::conv_geom(x.shape(), weight.shape(), params);
  if (bias.defined())
    FREQCAP_CHECK(bias.shape() == Shape{g.O}, "conv2d: bias ", shape_str(bias.shape()), " for ", g.O,
                  " output channels");
  const Tensor<T> xc = x.value().contiguous();
  const Tensor<T> wc = weight.value().contiguous();
  Tensor<T> bc = bias.defined() ? bias.value().contiguous() : Tensor<T>();
  auto y = Tensor<T>::empty(Shape{g.N, g.O, g.Ho, g.Wo});  // conv2d_* overwrite their outputs
  const kernels::Conv2dShape ks = detail::kernel_shape(g);
  kernels::conv2d_forward(ks, xc.data(), wc.data(), bias.defined() ? bc.data() : nullptr, y.data());
  return Var<T>::make(std::move(y), {x, weight, bias}, "conv2d", [x, weight, bias, xc, wc, ks](const Tensor<T>& gy) {
    const Tensor<T> gc = gy.contiguous();
    const bool need_x = x.requires_grad(), need_w = weight.requires_grad();
    const bool need_b = bias.defined() && bias.requires_grad();
    if (need_x) {
      auto dx = Tensor<T>::empty(x.shape());
      kernels::conv2d_backward_input(ks, gc.data(), wc.data(), dx.data());
      x.accumulate(dx);
    }
    if (need_w) {
      auto dw = Tensor<T>::empty(weight.shape());
      detail::conv2d_backward_weight(ks, xc.data(), gc.data(), dw.data());
      weight.accumulate(dw);
    }
    if (need_b) {
      auto db = Tensor<T>::empty(bias.shape());
      kernels::conv2d_backward_bias(ks, gc.data(), db.data());
      bias.accumulate(db);
    }
  });
}

}  // namespace freqcap
