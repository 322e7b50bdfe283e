// 2-D convolution, NCHW, as im2col + GEMM: forward (optional bias) and the
// backward helpers (col2im; gradients for input, weight, bias), with stride,
// padding, dilation and groups (depthwise = groups == in_channels). Also the
// direct nested-loop references the tests compare against. T = float runs the
// GEMMs through the active KernelTable (or a given one); other T (double for
// gradient checks) uses gemm_scalar. Shapes: x [N, C, H, W], w [K, C/groups,
// R, S], bias [K], y [N, K, OH, OW].
#pragma once

#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <vector>

#include "freqcap/kernels/conv2d_depthwise.hpp"
#include "freqcap/kernels/conv2d_padded.hpp"
#include "freqcap/kernels/conv2d_pointwise.hpp"
#include "freqcap/kernels/conv2d_shape.hpp"
#include "freqcap/kernels/elementwise.hpp"
#include "freqcap/kernels/gemm.hpp"
#include "freqcap/kernels/workspace.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace freqcap::kernels {

/// Unfolds one image's group of channels x [C/groups, H, W] into
/// col [C/groups * R * S, OH * OW] (zeros where the window leaves the image).
template <class T> void im2col(const Conv2dShape& s, const T* x, T* col) {
  const std::size_t oh = s.out_h(), ow = s.out_w(), rs = s.kernel_h * s.kernel_w;
  const auto rows = static_cast<std::ptrdiff_t>(s.col_rows());
FREQCAP_OMP(parallel for schedule(static) if (worth_parallel(s.col_rows() * oh * ow)))
  for (std::ptrdiff_t row = 0; row < rows; ++row) {
    const std::size_t c = std::size_t(row) / rs, ki = (std::size_t(row) % rs) / s.kernel_w,
                      kj = std::size_t(row) % s.kernel_w;
    const detail::TapColumns cols = detail::tap_columns(s, kj);
    const T* xc = x + c * s.in_h * s.in_w;
    T* out = col + std::size_t(row) * oh * ow;
    for (std::size_t oy = 0; oy < oh; ++oy, out += ow) {
      const std::ptrdiff_t iy = detail::tap_row(s, oy, ki);
      if (iy < 0) std::fill(out, out + ow, T(0));
      else detail::unfold_segment(xc + std::size_t(iy) * s.in_w, cols, s.stride_w, 0, ow, out);
    }
  }
}

/// Unfolds output pixels [p0, p1) (row-major over OH x OW) of one image's group
/// x [C/groups, H, W] into col [C/groups * R * S, p1 - p0]: a column slice of
/// im2col, small enough to stay in cache while the GEMM consumes it.
template <class T>
void im2col_pixels(const Conv2dShape& s, const T* x, T* col, std::size_t p0, std::size_t p1) {
  const std::size_t ow = s.out_w(), rs = s.kernel_h * s.kernel_w, w = p1 - p0;
  for (std::size_t row = 0; row < s.col_rows(); ++row) {
    const std::size_t c = row / rs, ki = (row % rs) / s.kernel_w, kj = row % s.kernel_w;
    const detail::TapColumns cols = detail::tap_columns(s, kj);
    const T* xc = x + c * s.in_h * s.in_w;
    T* out = col + row * w;
    std::size_t p = p0;
    while (p < p1) {  // one output row segment at a time
      const std::size_t oy = p / ow, ox0 = p % ow, ox1 = std::min(ow, ox0 + (p1 - p));
      const std::ptrdiff_t iy = detail::tap_row(s, oy, ki);
      T* o = out + (p - p0);
      if (iy < 0) std::fill(o, o + (ox1 - ox0), T(0));
      else detail::unfold_segment(xc + std::size_t(iy) * s.in_w, cols, s.stride_w, ox0, ox1, o);
      p += ox1 - ox0;
    }
  }
}

/// Folds col [C/groups * R * S, OH * OW] back, ADDING into dx [C/groups, H, W].
template <class T> void col2im(const Conv2dShape& s, const T* col, T* dx) {
  const std::size_t oh = s.out_h(), ow = s.out_w(), rs = s.kernel_h * s.kernel_w;
  const auto channels = static_cast<std::ptrdiff_t>(s.in_per_group());
FREQCAP_OMP(parallel for schedule(static) if (worth_parallel(s.col_rows() * oh * ow)))
  for (std::ptrdiff_t c = 0; c < channels; ++c) {  // a channel's rows touch only its plane
    T* xc = dx + std::size_t(c) * s.in_h * s.in_w;
    for (std::size_t r = 0; r < rs; ++r) {
      const std::size_t ki = r / s.kernel_w, kj = r % s.kernel_w;
      const detail::TapColumns cols = detail::tap_columns(s, kj);
      if (cols.lo >= cols.hi) continue;
      const std::size_t lo = std::size_t(cols.lo), n = std::size_t(cols.hi - cols.lo);
      const T* in = col + (std::size_t(c) * rs + r) * oh * ow + lo;
      for (std::size_t oy = 0; oy < oh; ++oy, in += ow) {
        const std::ptrdiff_t iy = detail::tap_row(s, oy, ki);
        if (iy < 0) continue;
        // The input column of output column lo, then every stride_w-th.
        T* xr = xc + std::size_t(iy) * s.in_w + std::size_t(std::ptrdiff_t(lo * s.stride_w) + cols.off);
        if (s.stride_w == 1)
          for (std::size_t i = 0; i < n; ++i) xr[i] += in[i];
        else
          for (std::size_t i = 0; i < n; ++i) xr[i * s.stride_w] += in[i];
      }
    }
  }
}

// ---- direct references (plain nested loops) --------------------------------

namespace detail {
/// Calls f(n, k, oy, ox, c, ki, kj, x_index, w_index, y_index) for every
/// multiply of the convolution whose input tap lies inside the image.
template <class F> void conv2d_for_each_tap(const Conv2dShape& s, F&& f) {
  const std::size_t oh = s.out_h(), ow = s.out_w(), cg = s.in_per_group(),
                    kg = s.out_per_group();
  for (std::size_t n = 0; n < s.batch; ++n)
    for (std::size_t k = 0; k < s.out_channels; ++k) {
      const std::size_t g = k / kg;
      for (std::size_t oy = 0; oy < oh; ++oy)
        for (std::size_t ox = 0; ox < ow; ++ox)
          for (std::size_t c = 0; c < cg; ++c)
            for (std::size_t ki = 0; ki < s.kernel_h; ++ki)
              for (std::size_t kj = 0; kj < s.kernel_w; ++kj) {
                const std::ptrdiff_t iy = std::ptrdiff_t(oy * s.stride_h + ki * s.dilation_h) -
                                          std::ptrdiff_t(s.pad_h);
                const std::ptrdiff_t ix = std::ptrdiff_t(ox * s.stride_w + kj * s.dilation_w) -
                                          std::ptrdiff_t(s.pad_w);
                if (iy < 0 || ix < 0 || iy >= std::ptrdiff_t(s.in_h) ||
                    ix >= std::ptrdiff_t(s.in_w))
                  continue;
                const std::size_t xi =
                    ((n * s.in_channels + g * cg + c) * s.in_h + std::size_t(iy)) * s.in_w +
                    std::size_t(ix);
                const std::size_t wi = ((k * cg + c) * s.kernel_h + ki) * s.kernel_w + kj;
                const std::size_t yi = ((n * s.out_channels + k) * oh + oy) * ow + ox;
                f(xi, wi, yi);
              }
    }
}
}  // namespace detail

/// y = conv(x, w) + bias by direct loops (bias may be nullptr).
template <class T>
void conv2d_forward_direct(const Conv2dShape& s, const T* x, const T* w,
                           const std::type_identity_t<T>* bias, T* y) {
  s.validate();
  const std::size_t plane = s.col_cols();
  for (std::size_t i = 0; i < s.batch * s.out_channels; ++i)
    std::fill(y + i * plane, y + (i + 1) * plane, bias ? bias[i % s.out_channels] : T(0));
  detail::conv2d_for_each_tap(s, [&](std::size_t xi, std::size_t wi, std::size_t yi) {
    y[yi] += x[xi] * w[wi];
  });
}
/// dx = d conv / dx applied to dy, by direct loops (dx overwritten).
template <class T>
void conv2d_backward_input_direct(const Conv2dShape& s, const T* dy, const T* w, T* dx) {
  s.validate();
  std::fill(dx, dx + s.batch * s.in_channels * s.in_h * s.in_w, T(0));
  detail::conv2d_for_each_tap(s, [&](std::size_t xi, std::size_t wi, std::size_t yi) {
    dx[xi] += dy[yi] * w[wi];
  });
}
/// dw = d conv / dw applied to dy, by direct loops (dw overwritten).
template <class T>
void conv2d_backward_weight_direct(const Conv2dShape& s, const T* x, const T* dy, T* dw) {
  s.validate();
  std::fill(dw, dw + s.out_channels * s.col_rows(), T(0));
  detail::conv2d_for_each_tap(s, [&](std::size_t xi, std::size_t wi, std::size_t yi) {
    dw[wi] += dy[yi] * x[xi];
  });
}

// ---- im2col + GEMM ---------------------------------------------------------

namespace detail {
template <class T> T* conv_scratch(std::size_t n) {
  if constexpr (std::is_same_v<T, float>) {
    return scratch(Scratch::im2col).data(n);
  } else {
    thread_local std::vector<T> buf;
    if (buf.size() < n) buf.resize(n);
    return buf.data();
  }
}

/// The kernels a convolution runs on: `sgemm`, a table's sgemm (im2col and
/// pointwise convolutions, called through kern.gemm()), `depthwise`, the table
/// whose depthwise kernels run (nullptr: the active one), and `packed`, a
/// table's implicit-im2col forward (nullptr: im2col + sgemm). Tests and
/// benchmarks pass one table's kernels to pin an ISA. Other T use gemm_scalar
/// and the plain depthwise loops.
template <class T> struct ConvKernels {
  SgemmFn sgemm = nullptr;
  const KernelTable* depthwise = nullptr;
  Conv2dPackedFn packed = nullptr;
  void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a, std::size_t lda,
            const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc) const {
    if constexpr (std::is_same_v<T, float>) sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    else gemm_scalar(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
};
template <class T> ConvKernels<T> active_conv_kernels() {
  if constexpr (std::is_same_v<T, float>)
    return {table().sgemm, &table(), table().conv2d_packed};
  else return {};
}

/// Runs body(item, workspace) for item < items, over threads when the items
/// are many and small (each then uses its thread's scratch and a 1-thread GEMM),
/// else in order with `ws` (or this thread's scratch) and multi-threaded GEMMs.
template <class T, class Body>
void for_each_item(std::size_t items, [[maybe_unused]] double flops_per_item, std::size_t ws_size, T* ws,
                   Body&& body) {
  bool par = false;
#if defined(_OPENMP)
  par = !omp_in_parallel() && omp_get_max_threads() > 1 &&
        items >= 2 * static_cast<std::size_t>(omp_get_max_threads()) && flops_per_item < 5e7;
#endif
  if (par) {
    const auto n = static_cast<std::ptrdiff_t>(items);
FREQCAP_OMP(parallel for schedule(static))
    for (std::ptrdiff_t i = 0; i < n; ++i)
      body(std::size_t(i), ws_size ? conv_scratch<T>(ws_size) : nullptr);
    return;
  }
  T* w = ws ? ws : (ws_size ? conv_scratch<T>(ws_size) : nullptr);
  for (std::size_t i = 0; i < items; ++i) body(i, w);
}
}  // namespace detail


/// Shapes the conv2d_* functions below send to a dedicated kernel (depthwise
/// tap loops, one batched GEMM for pointwise over small planes or for a kernel
/// that covers its input) instead of per-image im2col + GEMM.
inline bool has_dedicated_kernel(const Conv2dShape& s) {
  return is_depthwise(s) || batched_pointwise(s) || whole_plane(s);
}

/// y = conv(x, w) + bias; x [N, C, H, W], w [K, C/groups, R, S], bias [K] or
/// nullptr, y [N, K, OH, OW]. workspace: nullptr (a thread-local buffer is
/// used) or conv2d_workspace_size(s) elements. kern: which kernels (float only).
/// Depthwise convolutions run the plane kernels of conv2d_depthwise.hpp instead,
/// pointwise ones over small planes one batched GEMM (conv2d_pointwise.hpp), and
/// other float ones kern.packed (conv2d_packed.hpp; no workspace) when given,
/// as the active kernels do: 1x1 ones too, whose bias then starts the GEMM's
/// sums instead of taking a pass over y of its own (1-6% of EfficientNet-B0,
/// MobileNetV2 and ResNet-50 forwards; benchmarks/README.md).
template <class T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* w, const std::type_identity_t<T>* bias, T* y,
                    std::type_identity_t<T>* workspace = nullptr,
                    detail::ConvKernels<std::type_identity_t<T>> kern = detail::active_conv_kernels<T>()) {
  s.validate();
  if (is_depthwise(s)) return detail::conv2d_forward_depthwise(s, x, w, bias, y, kern.depthwise);
  if (batched_pointwise(s)) return detail::pointwise_forward_batched(s, x, w, bias, y, kern);
  if (whole_plane(s)) return detail::whole_plane_forward(s, x, w, bias, y, kern);
  if constexpr (std::is_same_v<T, float>)
    if (kern.packed) return kern.packed(s, x, w, bias, y);
  const std::size_t cg = s.in_per_group(), kg = s.out_per_group(), kk = s.col_rows(),
                    ohw = s.col_cols(), hw = s.in_h * s.in_w;
  const bool direct = s.is_pointwise();
  // Items are (image, group, pixel chunk): each chunk's im2col slice (~512 KB)
  // is built and multiplied while it is still in cache.
  const std::size_t chunk = direct ? ohw : std::max<std::size_t>(64, ((std::size_t{1} << 17) / kk) / 64 * 64);
  const std::size_t chunks = (ohw + chunk - 1) / chunk;
  detail::for_each_item<T>(
      s.batch * s.groups * chunks, 2.0 * double(kg) * double(kk) * double(std::min(chunk, ohw)),
      direct ? 0 : kk * std::min(chunk, ohw), workspace, [&](std::size_t item, T* ws) {
        const std::size_t n = item / (s.groups * chunks), g = (item / chunks) % s.groups;
        const std::size_t p0 = (item % chunks) * chunk, p1 = std::min(ohw, p0 + chunk);
        const T* xg = x + (n * s.in_channels + g * cg) * hw;
        T* yg = y + (n * s.out_channels + g * kg) * ohw;
        if (direct) {
          kern.gemm(false, false, kg, p1 - p0, kk, T(1), w + g * kg * kk, kk, xg + p0, hw, T(0),
               yg + p0, ohw);
        } else {
          im2col_pixels(s, xg, ws, p0, p1);
          kern.gemm(false, false, kg, p1 - p0, kk, T(1), w + g * kg * kk, kk, ws, p1 - p0, T(0),
               yg + p0, ohw);
        }
        if (bias)
          for (std::size_t k = 0; k < kg; ++k) {
            const T b = bias[g * kg + k];
            T* yk = yg + k * ohw;
            for (std::size_t i = p0; i < p1; ++i) yk[i] += b;
          }
      });
}

/// dx [N, C, H, W] (overwritten) from dy [N, K, OH, OW] and w [K, C/groups, R, S]:
/// dcol = W_g^T dy_g, then col2im. workspace as conv2d_forward.
template <class T>
void conv2d_backward_input(const Conv2dShape& s, const T* dy, const T* w, T* dx,
                           std::type_identity_t<T>* workspace = nullptr,
                           detail::ConvKernels<std::type_identity_t<T>> kern = detail::active_conv_kernels<T>()) {
  s.validate();
  if (is_depthwise(s)) return detail::conv2d_backward_input_depthwise(s, dy, w, dx, kern.depthwise);
  if (batched_pointwise(s)) return detail::pointwise_backward_input_batched(s, dy, w, dx, kern);
  if (whole_plane(s)) return detail::whole_plane_backward_input(s, dy, w, dx, kern);
  const std::size_t cg = s.in_per_group(), kg = s.out_per_group(), kk = s.col_rows(),
                    ohw = s.col_cols(), hw = s.in_h * s.in_w;
  const bool direct = s.is_pointwise();
  detail::for_each_item<T>(
      s.batch * s.groups, 2.0 * double(kg) * double(kk) * double(ohw),
      direct ? 0 : conv2d_workspace_size(s), workspace, [&](std::size_t item, T* ws) {
        const std::size_t n = item / s.groups, g = item % s.groups;
        T* dxg = dx + (n * s.in_channels + g * cg) * hw;
        const T* dyg = dy + (n * s.out_channels + g * kg) * ohw;
        const T* wg = w + g * kg * kk;
        if (direct) {
          kern.gemm(true, false, kk, ohw, kg, T(1), wg, kk, dyg, ohw, T(0), dxg, ohw);
          return;
        }
        kern.gemm(true, false, kk, ohw, kg, T(1), wg, kk, dyg, ohw, T(0), ws, ohw);
        std::fill(dxg, dxg + cg * hw, T(0));
        col2im(s, ws, dxg);
      });
}

/// dw [K, C/groups, R, S] (overwritten) = sum_n dy_n,g * im2col(x_n,g)^T.
/// workspace as conv2d_forward.
template <class T>
void conv2d_backward_weight(const Conv2dShape& s, const T* x, const T* dy, T* dw,
                            std::type_identity_t<T>* workspace = nullptr,
                            detail::ConvKernels<std::type_identity_t<T>> kern = detail::active_conv_kernels<T>()) {
  s.validate();
  if (is_depthwise(s)) return detail::conv2d_backward_weight_depthwise(s, x, dy, dw, kern.depthwise);
  if (batched_pointwise(s)) return detail::pointwise_backward_weight_batched(s, x, dy, dw, kern);
  if (whole_plane(s)) return detail::whole_plane_backward_weight(s, x, dy, dw, kern);
  const std::size_t cg = s.in_per_group(), kg = s.out_per_group(), kk = s.col_rows(),
                    ohw = s.col_cols(), hw = s.in_h * s.in_w;
  const bool direct = s.is_pointwise();
  // One item per group (items never share dw); the batch is summed inside.
  detail::for_each_item<T>(
      s.groups, 2.0 * double(s.batch) * double(kg) * double(kk) * double(ohw),
      direct ? 0 : conv2d_workspace_size(s), workspace, [&](std::size_t g, T* ws) {
        T* dwg = dw + g * kg * kk;
        for (std::size_t n = 0; n < s.batch; ++n) {
          const T* xg = x + (n * s.in_channels + g * cg) * hw;
          const T* col = xg;
          if (!direct) {
            im2col(s, xg, ws);
            col = ws;
          }
          const T* dyg = dy + (n * s.out_channels + g * kg) * ohw;
          kern.gemm(false, true, kg, kk, ohw, T(1), dyg, ohw, col, ohw, n == 0 ? T(0) : T(1), dwg,
               kk);
        }
      });
}

/// db [K] (overwritten) = sum over n, oy, ox of dy [N, K, OH, OW].
template <class T> void conv2d_backward_bias(const Conv2dShape& s, const T* dy, T* db) {
  const std::size_t ohw = s.col_cols();
  for (std::size_t k = 0; k < s.out_channels; ++k) {
    T acc = 0;
    for (std::size_t n = 0; n < s.batch; ++n) {
      const T* p = dy + (n * s.out_channels + k) * ohw;
      for (std::size_t i = 0; i < ohw; ++i) acc += p[i];
    }
    db[k] = acc;
  }
}

}  // namespace freqcap::kernels
