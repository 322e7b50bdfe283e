// Differentiable 2-D convolution with PyTorch's semantics: x [N, C, H, W],
// weight [O, C/groups, kh, kw], optional bias [O], zero padding, stride,
// dilation and groups (depthwise when groups = C). The arithmetic is im2col +
// GEMM through Eigen (float and double alike), one sample per OpenMP thread;
// the detail:: entry points are where a kernels/conv2d.hpp kernel plugs in.
#pragma once

#include <algorithm>
#include <vector>

#include <omp.h>

#include <Eigen/Core>

#include "freqcap/autograd/var.hpp"
#include "freqcap/core/linalg.hpp"

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
  std::int64_t K() const { return Cg * kh * kw; }  // GEMM inner size per group
  std::int64_t L() const { return Ho * Wo; }       // output pixels per sample
  bool is_pointwise() const {
    return kh == 1 && kw == 1 && p.stride_h == 1 && p.stride_w == 1 && p.padding_h == 0 && p.padding_w == 0;
  }
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

// Output columns [lo, hi) whose input coordinate o*s + off lies in [0, n).
inline void valid_range(std::int64_t off, std::int64_t s, std::int64_t n, std::int64_t out, std::int64_t& lo,
                        std::int64_t& hi) {
  lo = off >= 0 ? 0 : (-off + s - 1) / s;
  hi = (n - 1 - off) >= 0 ? std::min(out, (n - 1 - off) / s + 1) : 0;
  lo = std::min(lo, out);
  hi = std::max(hi, lo);
}

/// col [Cg*kh*kw, Ho*Wo] from channels [c0, c0 + Cg) of one sample x [C, H, W].
template <class T>
void im2col(const T* x, const ConvGeom& g, std::int64_t c0, T* col) {
  const auto& p = g.p;
  T* dst = col;
  for (std::int64_t c = c0; c < c0 + g.Cg; ++c) {
    const T* xc = x + c * g.H * g.W;
    for (std::int64_t i = 0; i < g.kh; ++i) {
      for (std::int64_t j = 0; j < g.kw; ++j) {
        const std::int64_t offw = j * p.dilation_w - p.padding_w;
        std::int64_t lo, hi;
        valid_range(offw, p.stride_w, g.W, g.Wo, lo, hi);
        for (std::int64_t oh = 0; oh < g.Ho; ++oh, dst += g.Wo) {
          const std::int64_t ih = oh * p.stride_h - p.padding_h + i * p.dilation_h;
          if (ih < 0 || ih >= g.H) {
            std::fill(dst, dst + g.Wo, T(0));
            continue;
          }
          const T* row = xc + ih * g.W + offw;
          std::fill(dst, dst + lo, T(0));
          if (p.stride_w == 1) std::copy(row + lo, row + hi, dst + lo);
          else
            for (std::int64_t ow = lo; ow < hi; ++ow) dst[ow] = row[ow * p.stride_w];
          std::fill(dst + hi, dst + g.Wo, T(0));
        }
      }
    }
  }
}

/// dx[c0:c0+Cg] += col2im(dcol), the adjoint of im2col.
template <class T>
void col2im_add(const T* dcol, const ConvGeom& g, std::int64_t c0, T* dx) {
  const auto& p = g.p;
  const T* src = dcol;
  for (std::int64_t c = c0; c < c0 + g.Cg; ++c) {
    T* xc = dx + c * g.H * g.W;
    for (std::int64_t i = 0; i < g.kh; ++i) {
      for (std::int64_t j = 0; j < g.kw; ++j) {
        const std::int64_t offw = j * p.dilation_w - p.padding_w;
        std::int64_t lo, hi;
        valid_range(offw, p.stride_w, g.W, g.Wo, lo, hi);
        for (std::int64_t oh = 0; oh < g.Ho; ++oh, src += g.Wo) {
          const std::int64_t ih = oh * p.stride_h - p.padding_h + i * p.dilation_h;
          if (ih < 0 || ih >= g.H) continue;
          T* row = xc + ih * g.W + offw;
          for (std::int64_t ow = lo; ow < hi; ++ow) row[ow * p.stride_w] += src[ow];
        }
      }
    }
  }
}

template <class T>
using MatMap = Eigen::Map<RowMatrix<T>>;
template <class T>
using ConstMatMap = Eigen::Map<const RowMatrix<T>>;

// Parallelise over samples only when there is enough work per thread.
inline bool conv_parallel(const ConvGeom& g) {
  return g.N > 1 && g.N * g.O * g.L() * g.K() >= (std::int64_t{1} << 16);
}

/// y [N, O, Ho, Wo] = conv(x [N, C, H, W], w [O, Cg, kh, kw]) + b [O] (b may be null).
template <class T>
void conv2d_forward(const T* x, const T* w, const T* b, T* y, const ConvGeom& g) {
  const std::int64_t K = g.K(), L = g.L();
  const bool direct = g.is_pointwise();
#pragma omp parallel if (conv_parallel(g))
  {
    std::vector<T> col(direct ? 0 : static_cast<std::size_t>(K * L));
#pragma omp for schedule(static)
    for (std::int64_t n = 0; n < g.N; ++n) {
      const T* xn = x + n * g.C * g.H * g.W;
      for (std::int64_t gr = 0; gr < g.G; ++gr) {
        const T* src = xn + gr * g.Cg * g.H * g.W;
        if (!direct) {
          im2col(xn, g, gr * g.Cg, col.data());
          src = col.data();
        }
        MatMap<T> Y(y + (n * g.O + gr * g.Og) * L, g.Og, L);
        Y.noalias() = ConstMatMap<T>(w + gr * g.Og * K, g.Og, K) * ConstMatMap<T>(src, K, L);
      }
      if (b)
        for (std::int64_t o = 0; o < g.O; ++o) {
          T* yo = y + (n * g.O + o) * L;
          for (std::int64_t l = 0; l < L; ++l) yo[l] += b[o];
        }
    }
  }
}

/// Gradients of conv2d_forward given dy [N, O, Ho, Wo]. Each of dx, dw, db may
/// be null (not needed); the ones given are overwritten.
template <class T>
void conv2d_backward(const T* dy, const T* x, const T* w, T* dx, T* dw, T* db, const ConvGeom& g) {
  const std::int64_t K = g.K(), L = g.L(), wsize = g.O * K;
  const bool direct = g.is_pointwise();
  if (dx) std::fill(dx, dx + g.N * g.C * g.H * g.W, T(0));
  if (dw) std::fill(dw, dw + wsize, T(0));
  if (db) {
    std::fill(db, db + g.O, T(0));
    for (std::int64_t n = 0; n < g.N; ++n)
      for (std::int64_t o = 0; o < g.O; ++o) {
        const T* d = dy + (n * g.O + o) * L;
        T s = 0;
        for (std::int64_t l = 0; l < L; ++l) s += d[l];
        db[o] += s;
      }
  }
  if (!dx && !dw) return;
#pragma omp parallel if (conv_parallel(g))
  {
    std::vector<T> col(direct ? 0 : static_cast<std::size_t>(K * L));
    std::vector<T> dw_local(dw ? static_cast<std::size_t>(wsize) : 0, T(0));
#pragma omp for schedule(static)
    for (std::int64_t n = 0; n < g.N; ++n) {
      const T* xn = x + n * g.C * g.H * g.W;
      for (std::int64_t gr = 0; gr < g.G; ++gr) {
        ConstMatMap<T> dY(dy + (n * g.O + gr * g.Og) * L, g.Og, L);
        ConstMatMap<T> Wg(w + gr * g.Og * K, g.Og, K);
        if (dw) {
          const T* src = xn + gr * g.Cg * g.H * g.W;
          if (!direct) {
            im2col(xn, g, gr * g.Cg, col.data());
            src = col.data();
          }
          MatMap<T>(dw_local.data() + gr * g.Og * K, g.Og, K).noalias() +=
              dY * ConstMatMap<T>(src, K, L).transpose();
        }
        if (dx) {
          T* dxn = dx + n * g.C * g.H * g.W;
          if (direct) {
            MatMap<T>(dxn + gr * g.Cg * g.H * g.W, K, L).noalias() += Wg.transpose() * dY;
          } else {
            MatMap<T>(col.data(), K, L).noalias() = Wg.transpose() * dY;
            col2im_add(col.data(), g, gr * g.Cg, dxn);
          }
        }
      }
    }
    if (dw) {
#pragma omp critical(freqcap_conv2d_dw)
      for (std::int64_t i = 0; i < wsize; ++i) dw[i] += dw_local[static_cast<std::size_t>(i)];
    }
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
  Tensor<T> y(Shape{g.N, g.O, g.Ho, g.Wo});
  detail::conv2d_forward(xc.data(), wc.data(), bias.defined() ? bc.data() : nullptr, y.data(), g);
  return Var<T>::make(std::move(y), {x, weight, bias}, "conv2d", [x, weight, bias, xc, wc, g](const Tensor<T>& gy) {
    const Tensor<T> gc = gy.contiguous();
    const bool need_x = x.requires_grad(), need_w = weight.requires_grad();
    const bool need_b = bias.defined() && bias.requires_grad();
    Tensor<T> dx(need_x ? x.shape() : Shape{0}), dw(need_w ? weight.shape() : Shape{0});
    Tensor<T> db(need_b ? bias.shape() : Shape{0});
    detail::conv2d_backward(gc.data(), xc.data(), wc.data(), need_x ? dx.data() : nullptr,
                            need_w ? dw.data() : nullptr, need_b ? db.data() : nullptr, g);
    if (need_x) x.accumulate(dx);
    if (need_w) weight.accumulate(dw);
    if (need_b) bias.accumulate(db);
  });
}

}  // namespace freqcap
