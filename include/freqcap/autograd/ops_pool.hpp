// Differentiable 2-D pooling over x [N, C, H, W] with PyTorch's semantics:
// max_pool2d (padding, dilation, ceil_mode; backward routes each gradient to
// the first maximum of its window), avg_pool2d (count_include_pad, ceil_mode)
// and adaptive_avg_pool2d (bins start = floor(i*H/out), end = ceil((i+1)*H/out)).
// Planes (n, c) are independent, so the loops run one plane per OpenMP step.
// Whole 2x2 stride-2 windows without a graph run kernels/max_pool.hpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "freqcap/autograd/var.hpp"
#include "freqcap/kernels/conv2d_taps.hpp"
#include "freqcap/kernels/max_pool.hpp"
#include "freqcap/kernels/partial_sums.hpp"

namespace freqcap {

/// Window, stride (0 = the window size), zero/-inf padding and dilation per
/// axis; ceil_mode rounds the output size up; count_include_pad (avg only)
/// divides by the padded window size.
struct Pool2dParams {
  std::int64_t kernel_h = 1, kernel_w = 1;
  std::int64_t stride_h = 0, stride_w = 0;
  std::int64_t padding_h = 0, padding_w = 0;
  std::int64_t dilation_h = 1, dilation_w = 1;
  bool ceil_mode = false;
  bool count_include_pad = true;

  /// A square window with the same stride and padding on both axes.
  static Pool2dParams square(std::int64_t kernel, std::int64_t stride = 0, std::int64_t padding = 0) {
    Pool2dParams p;
    p.kernel_h = p.kernel_w = kernel;
    p.stride_h = p.stride_w = stride;
    p.padding_h = p.padding_w = padding;
    return p;
  }
};

namespace detail {

// PyTorch's pooling_output_shape for one axis.
inline std::int64_t pool_out_size(std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t pad, std::int64_t d,
                                  bool ceil_mode) {
  const std::int64_t span = in + 2 * pad - d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0);
  std::int64_t out = (span >= 0 ? span / s : -((-span + s - 1) / s)) + 1;
  if (ceil_mode && (out - 1) * s >= in + pad) --out;
  return out;
}

struct PoolGeom {
  std::int64_t planes, H, W, Ho, Wo;
  Pool2dParams p;
};

inline PoolGeom pool_geom(const char* op, const Shape& x, Pool2dParams p) {
  FREQCAP_CHECK(x.size() == 4, op, ": input ", shape_str(x), " must be [N, C, H, W]");
  if (p.stride_h == 0) p.stride_h = p.kernel_h;
  if (p.stride_w == 0) p.stride_w = p.kernel_w;
  FREQCAP_CHECK(p.kernel_h > 0 && p.kernel_w > 0 && p.stride_h > 0 && p.stride_w > 0 && p.dilation_h > 0 &&
                    p.dilation_w > 0 && p.padding_h >= 0 && p.padding_w >= 0,
                op, ": kernel ", p.kernel_h, "x", p.kernel_w, ", stride ", p.stride_h, "x", p.stride_w,
                ", padding ", p.padding_h, "x", p.padding_w, ", dilation ", p.dilation_h, "x", p.dilation_w,
                " are not valid");
  FREQCAP_CHECK(p.padding_h <= p.kernel_h / 2 && p.padding_w <= p.kernel_w / 2, op, ": padding ", p.padding_h,
                "x", p.padding_w, " must be at most half the kernel ", p.kernel_h, "x", p.kernel_w);
  PoolGeom g{x[0] * x[1], x[2], x[3], 0, 0, p};
  g.Ho = pool_out_size(g.H, p.kernel_h, p.stride_h, p.padding_h, p.dilation_h, p.ceil_mode);
  g.Wo = pool_out_size(g.W, p.kernel_w, p.stride_w, p.padding_w, p.dilation_w, p.ceil_mode);
  FREQCAP_CHECK(g.Ho > 0 && g.Wo > 0, op, ": input ", shape_str(x), " is too small for kernel ", p.kernel_h, "x",
                p.kernel_w, " (output ", g.Ho, "x", g.Wo, ")");
  return g;
}

inline bool pool_parallel(std::int64_t planes, std::int64_t work) {
  return planes > 1 && work >= (std::int64_t{1} << 15);
}

/// The sum of window rows [h0, h1) x columns [w0, w1) of a plane whose rows
/// hold W values, in eight interleaved partial sums (one dependency chain
/// per add would cost its latency per element); a window of whole rows is
/// one contiguous run.
template <class T>
T window_sum(const T* xp, std::int64_t W, std::int64_t h0, std::int64_t h1, std::int64_t w0, std::int64_t w1) {
  T part[8] = {};
  auto run = [&part](const T* p, std::int64_t n) {
    std::int64_t i = 0;
    for (; i + 8 <= n; i += 8)
      for (int j = 0; j < 8; ++j) part[j] += p[i + j];
    for (; i < n; ++i) part[0] += p[i];
  };
  if (w0 == 0 && w1 == W) run(xp + h0 * W, (h1 - h0) * W);
  else
    for (std::int64_t ih = h0; ih < h1; ++ih) run(xp + ih * W + w0, w1 - w0);
  return kernels::combine8(part);
}

}  // namespace detail

/// Max pooling: x [N, C, H, W] -> [N, C, Ho, Wo]; padded cells never win.
template <class T>
Var<T> max_pool2d(const Var<T>& x, const Pool2dParams& params) {
  const detail::PoolGeom g = detail::pool_geom("max_pool2d", x.shape(), params);
  FREQCAP_CHECK(g.H * g.W < (std::int64_t{1} << 31), "max_pool2d: plane of ", g.H, "x", g.W, " is too large");
  const auto& p = g.p;
  const Tensor<T> xc = x.value().contiguous();
  auto y = Tensor<T>::empty(Shape{x.dim(0), x.dim(1), g.Ho, g.Wo});  // every window written below
  // The winners' flat indices within their H*W planes, kept only for a backward pass.
  const bool need_arg = grad_mode_enabled() && x.requires_grad();
  Tensor<std::int32_t> arg = need_arg ? Tensor<std::int32_t>::empty(y.shape()) : Tensor<std::int32_t>();
  const T* px = xc.data();
  T* py = y.data();
  std::int32_t* pa = need_arg ? arg.data() : nullptr;
  const bool parallel = detail::pool_parallel(g.planes, y.numel() * p.kernel_h * p.kernel_w);
  if constexpr (std::is_same_v<T, float>)
    if (!need_arg && p.kernel_h == 2 && p.kernel_w == 2 && p.stride_h == 2 && p.stride_w == 2 && p.padding_h == 0 &&
        p.padding_w == 0 && p.dilation_h == 1 && p.dilation_w == 1 && 2 * g.Ho <= g.H && 2 * g.Wo <= g.W) {
#pragma omp parallel for schedule(static) if (parallel)
      for (std::int64_t pl = 0; pl < g.planes; ++pl)
        kernels::max_pool_2x2(px + pl * g.H * g.W, std::size_t(g.W), std::size_t(g.Ho), std::size_t(g.Wo),
                              py + pl * g.Ho * g.Wo);
      return Var<T>(std::move(y));
    }
  // Tap by tap over a whole output row (inner loops over output columns, no
  // branches): each window still sees its cells in row-major order, and a
  // cell wins when it is strictly greater or NaN, so the first maximum (or
  // the last NaN) wins, as in PyTorch.
#pragma omp parallel for schedule(static) if (parallel)
  for (std::int64_t pl = 0; pl < g.planes; ++pl) {
    const T* xp = px + pl * g.H * g.W;
    for (std::int64_t oh = 0; oh < g.Ho; ++oh) {
      T* yr = py + (pl * g.Ho + oh) * g.Wo;
      std::fill(yr, yr + g.Wo, -std::numeric_limits<T>::infinity());
      std::int64_t h0 = oh * p.stride_h - p.padding_h;
      while (h0 < 0) h0 += p.dilation_h;  // the window's first row inside the plane
      std::int32_t* ar = need_arg ? pa + (pl * g.Ho + oh) * g.Wo : nullptr;
      if (ar)  // a window of -inf keeps its first cell
        for (std::int64_t ow = 0; ow < g.Wo; ++ow) {
          std::int64_t w0 = ow * p.stride_w - p.padding_w;
          while (w0 < 0) w0 += p.dilation_w;
          ar[ow] = static_cast<std::int32_t>(h0 * g.W + w0);
        }
      for (std::int64_t ki = 0; ki < p.kernel_h; ++ki) {
        const std::int64_t ih = oh * p.stride_h - p.padding_h + ki * p.dilation_h;
        if (ih < 0 || ih >= g.H) continue;
        for (std::int64_t kj = 0; kj < p.kernel_w; ++kj) {
          // Output columns [tc.lo, tc.hi) whose input column ow * sw + off lies in [0, W).
          const std::int64_t off = kj * p.dilation_w - p.padding_w, sw = p.stride_w;
          const kernels::detail::TapColumns tc = kernels::detail::tap_columns(g.W, g.Wo, sw, off);
          const T* xr = xp + ih * g.W;  // input column ow * sw + off
          if (ar)
            for (std::int64_t ow = tc.lo; ow < tc.hi; ++ow) {
              const T v = xr[ow * sw + off];
              const bool take = v > yr[ow] || v != v;
              yr[ow] = take ? v : yr[ow];
              ar[ow] = take ? static_cast<std::int32_t>(ih * g.W + ow * sw + off) : ar[ow];
            }
          else
            for (std::int64_t ow = tc.lo; ow < tc.hi; ++ow) {
              const T v = xr[ow * sw + off];
              yr[ow] = (v > yr[ow] || v != v) ? v : yr[ow];
            }
        }
      }
    }
  }
  return Var<T>::make(std::move(y), {x}, "max_pool2d", [x, arg, g](const Tensor<T>& gy) {
    const Tensor<T> gc = gy.contiguous();
    Tensor<T> dx(x.shape());
    const T* pg = gc.data();
    const std::int32_t* pa = arg.data();
    T* pd = dx.data();
    const std::int64_t per = g.Ho * g.Wo;
#pragma omp parallel for schedule(static) if (detail::pool_parallel(g.planes, g.planes * per))
    for (std::int64_t pl = 0; pl < g.planes; ++pl)
      for (std::int64_t i = pl * per; i < (pl + 1) * per; ++i) pd[pl * g.H * g.W + pa[i]] += pg[i];
    x.accumulate(dx);
  });
}

/// Max pooling with a square window; stride 0 means stride = kernel.
template <class T>
Var<T> max_pool2d(const Var<T>& x, std::int64_t kernel, std::int64_t stride = 0, std::int64_t padding = 0) {
  return max_pool2d(x, Pool2dParams::square(kernel, stride, padding));
}

/// Average pooling: x [N, C, H, W] -> [N, C, Ho, Wo] (dilation must be 1).
template <class T>
Var<T> avg_pool2d(const Var<T>& x, const Pool2dParams& params) {
  const detail::PoolGeom g = detail::pool_geom("avg_pool2d", x.shape(), params);
  FREQCAP_CHECK(g.p.dilation_h == 1 && g.p.dilation_w == 1, "avg_pool2d: dilation must be 1");
  const Tensor<T> xc = x.value().contiguous();
  auto y = Tensor<T>::empty(Shape{x.dim(0), x.dim(1), g.Ho, g.Wo});  // every window written below
  // Calls fn(h0, h1, w0, w1, inv) per output cell: the clipped window and 1/divisor.
  auto windows = [g](auto&& fn) {
    const auto& p = g.p;
    for (std::int64_t oh = 0; oh < g.Ho; ++oh)
      for (std::int64_t ow = 0; ow < g.Wo; ++ow) {
        std::int64_t h0 = oh * p.stride_h - p.padding_h, w0 = ow * p.stride_w - p.padding_w;
        std::int64_t h1 = std::min(h0 + p.kernel_h, g.H + p.padding_h);
        std::int64_t w1 = std::min(w0 + p.kernel_w, g.W + p.padding_w);
        const std::int64_t padded = (h1 - h0) * (w1 - w0);
        h0 = std::max<std::int64_t>(h0, 0);
        w0 = std::max<std::int64_t>(w0, 0);
        h1 = std::min(h1, g.H);
        w1 = std::min(w1, g.W);
        const std::int64_t count = p.count_include_pad ? padded : (h1 - h0) * (w1 - w0);
        fn(oh * g.Wo + ow, h0, h1, w0, w1, count > 0 && h0 < h1 && w0 < w1 ? T(1) / T(count) : T(0));
      }
  };
  const T* px = xc.data();
  T* py = y.data();
#pragma omp parallel for schedule(static) if (detail::pool_parallel(g.planes, y.numel() * g.p.kernel_h * g.p.kernel_w))
  for (std::int64_t pl = 0; pl < g.planes; ++pl) {
    const T* xp = px + pl * g.H * g.W;
    T* yp = py + pl * g.Ho * g.Wo;
    windows([&](std::int64_t o, std::int64_t h0, std::int64_t h1, std::int64_t w0, std::int64_t w1, T inv) {
      yp[o] = detail::window_sum(xp, g.W, h0, h1, w0, w1) * inv;
    });
  }
  return Var<T>::make(std::move(y), {x}, "avg_pool2d", [x, g, windows](const Tensor<T>& gy) {
    const Tensor<T> gc = gy.contiguous();
    Tensor<T> dx(x.shape());
    const T* pg = gc.data();
    T* pd = dx.data();
#pragma omp parallel for schedule(static) if (detail::pool_parallel(g.planes, gc.numel() * g.p.kernel_h * g.p.kernel_w))
    for (std::int64_t pl = 0; pl < g.planes; ++pl) {
      T* dp = pd + pl * g.H * g.W;
      const T* gp = pg + pl * g.Ho * g.Wo;
      windows([&](std::int64_t o, std::int64_t h0, std::int64_t h1, std::int64_t w0, std::int64_t w1, T inv) {
        const T v = gp[o] * inv;
        for (std::int64_t ih = h0; ih < h1; ++ih)
          for (std::int64_t iw = w0; iw < w1; ++iw) dp[ih * g.W + iw] += v;
      });
    }
    x.accumulate(dx);
  });
}

/// Average pooling with a square window; stride 0 means stride = kernel.
template <class T>
Var<T> avg_pool2d(const Var<T>& x, std::int64_t kernel, std::int64_t stride = 0, std::int64_t padding = 0,
                  bool count_include_pad = true) {
  Pool2dParams p = Pool2dParams::square(kernel, stride, padding);
  p.count_include_pad = count_include_pad;
  return avg_pool2d(x, p);
}

/// Adaptive average pooling: x [N, C, H, W] -> [N, C, out_h, out_w]; output
/// cell i averages rows floor(i*H/out_h) .. ceil((i+1)*H/out_h) - 1 (columns likewise).
template <class T>
Var<T> adaptive_avg_pool2d(const Var<T>& x, std::int64_t out_h, std::int64_t out_w) {
  FREQCAP_CHECK(x.ndim() == 4, "adaptive_avg_pool2d: input ", shape_str(x.shape()), " must be [N, C, H, W]");
  FREQCAP_CHECK(out_h > 0 && out_w > 0, "adaptive_avg_pool2d: output size ", out_h, "x", out_w,
                " must be positive");
  const std::int64_t planes = x.dim(0) * x.dim(1), H = x.dim(2), W = x.dim(3);
  FREQCAP_CHECK(H > 0 && W > 0, "adaptive_avg_pool2d: empty input ", shape_str(x.shape()));
  auto windows = [=](auto&& fn) {
    for (std::int64_t oh = 0; oh < out_h; ++oh) {
      const std::int64_t h0 = oh * H / out_h, h1 = ((oh + 1) * H + out_h - 1) / out_h;
      for (std::int64_t ow = 0; ow < out_w; ++ow) {
        const std::int64_t w0 = ow * W / out_w, w1 = ((ow + 1) * W + out_w - 1) / out_w;
        fn(oh * out_w + ow, h0, h1, w0, w1, T(1) / T((h1 - h0) * (w1 - w0)));
      }
    }
  };
  const Tensor<T> xc = x.value().contiguous();
  auto y = Tensor<T>::empty(Shape{x.dim(0), x.dim(1), out_h, out_w});  // every window written below
  const T* px = xc.data();
  T* py = y.data();
#pragma omp parallel for schedule(static) if (detail::pool_parallel(planes, planes * H * W))
  for (std::int64_t pl = 0; pl < planes; ++pl) {
    const T* xp = px + pl * H * W;
    T* yp = py + pl * out_h * out_w;
    windows([&](std::int64_t o, std::int64_t h0, std::int64_t h1, std::int64_t w0, std::int64_t w1, T inv) {
      yp[o] = detail::window_sum(xp, W, h0, h1, w0, w1) * inv;
    });
  }
  return Var<T>::make(std::move(y), {x}, "adaptive_avg_pool2d",
                      [x, windows, planes, H, W, out_h, out_w](const Tensor<T>& gy) {
                        const Tensor<T> gc = gy.contiguous();
                        Tensor<T> dx(x.shape());
                        const T* pg = gc.data();
                        T* pd = dx.data();
#pragma omp parallel for schedule(static) if (detail::pool_parallel(planes, planes * H * W))
                        for (std::int64_t pl = 0; pl < planes; ++pl) {
                          T* dp = pd + pl * H * W;
                          const T* gp = pg + pl * out_h * out_w;
                          windows([&](std::int64_t o, std::int64_t h0, std::int64_t h1, std::int64_t w0,
                                      std::int64_t w1, T inv) {
                            const T v = gp[o] * inv;
                            for (std::int64_t ih = h0; ih < h1; ++ih)
                              for (std::int64_t iw = w0; iw < w1; ++iw) dp[ih * W + iw] += v;
                          });
                        }
                        x.accumulate(dx);
                      });
}

}  // namespace freqcap
