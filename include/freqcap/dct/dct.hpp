// Orthonormal DCT-II (dct) and its inverse DCT-III (idct) over any set of axes
// of an N-d float or double tensor: one axis at a time, each as unnormalised
// row transforms through cached FFTW plans (dct/fftw_rows.hpp), with the
// orthonormal scaling applied around them. Also: the direct O(n^2)-per-axis reference the
// tests compare against, and the DCT basis matrices D[k, m] the separable
// box-restricted path (dct/separable.hpp) multiplies with.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <type_traits>
#include <vector>

#include "freqcap/core/tensor_ops.hpp"
#include "freqcap/dct/fftw_rows.hpp"

namespace freqcap::dct {

/// Orthonormal scale of frequency k of an n-point DCT: sqrt(1/n) for k = 0, sqrt(2/n) otherwise.
inline double ortho_scale(std::int64_t k, std::int64_t n) {
  return k == 0 ? std::sqrt(1.0 / double(n)) : std::sqrt(2.0 / double(n));
}

/// cos(pi * (2m + 1) * k / (2n)) with exact integer argument reduction (accurate for large n).
inline double dct_cos(std::int64_t k, std::int64_t m, std::int64_t n) {
  const std::int64_t period = 4 * n;
  const std::int64_t r = ((2 * m + 1) * (k % period)) % period;
  return std::cos(std::numbers::pi * double(r) / double(2 * n));
}

/// The first `rows` rows of the n-point orthonormal DCT-II matrix: D [rows, n],
/// D[k, m] = s_k cos(pi (m + 1/2) k / n). dct(x) = D x and idct(X) = D^T X.
template <class T>
Tensor<T> dct_basis(std::int64_t n, std::int64_t rows) {
  FREQCAP_CHECK(n > 0 && rows >= 0 && rows <= n, "dct_basis: ", rows, " rows of an ", n, "-point DCT");
  Tensor<T> d = Tensor<T>::empty({rows, n});
  for (std::int64_t k = 0; k < rows; ++k) {
    const double s = ortho_scale(k, n);
    for (std::int64_t m = 0; m < n; ++m) d.data()[k * n + m] = static_cast<T>(s * dct_cos(k, m, n));
  }
  return d;
}

namespace detail {

inline std::vector<std::int64_t> normalized_axes(const std::vector<std::int64_t>& axes, std::size_t ndim,
                                                 const char* who) {
  std::vector<std::int64_t> out;
  std::vector<bool> seen(ndim, false);
  for (auto a : axes) {
    const auto n = normalize_axis(a, ndim);
    FREQCAP_CHECK(!seen[n], who, ": axis ", a, " given twice");
    seen[n] = true;
    out.push_back(static_cast<std::int64_t>(n));
  }
  std::sort(out.begin(), out.end());
  return out;
}

inline std::vector<std::int64_t> all_axes(std::size_t ndim) {
  std::vector<std::int64_t> a(ndim);
  for (std::size_t i = 0; i < ndim; ++i) a[i] = static_cast<std::int64_t>(i);
  return a;
}

/// Multiplies x (contiguous) by prod_a scale_a[i_a] over the axes in `axes`,
/// in one pass: a factor per row times a vector along the row. Axes of size 1
/// are dropped (their factor is 1) and trailing axes are folded into the row
/// until it holds at least 64 values, so a [O, I, 1, 1] or [O, I, 3, 3] conv
/// weight does not pay an index decomposition per value or three.
/// FFTW's REDFT10 gives 2 sum x cos, REDFT01 gives X_0 + 2 sum_{k>0} X_k cos.
template <class T>
void scale_axes(Tensor<T>& x, const std::vector<std::int64_t>& axes, bool inverse) {
  const Shape& sh = x.shape();
  if (sh.empty() || x.numel() == 0) return;
  // Per axis of size > 1: its size and its factors (all 1 when not transformed).
  std::vector<std::int64_t> dims;
  std::vector<std::vector<double>> sc;
  for (std::size_t a = 0; a < sh.size(); ++a) {
    const std::int64_t n = sh[a];
    if (n == 1) continue;
    std::vector<double> v(std::size_t(n), 1.0);
    if (std::find(axes.begin(), axes.end(), std::int64_t(a)) != axes.end())
      for (std::int64_t k = 0; k < n; ++k)
        v[std::size_t(k)] = inverse && k == 0 ? ortho_scale(0, n) : ortho_scale(k, n) / 2;
    dims.push_back(n);
    sc.push_back(std::move(v));
  }
  if (dims.empty()) return;
  // The row: the last axis, times the ones before it while it is short.
  std::vector<double> row_sc = sc.back();
  std::size_t lead = dims.size() - 1;  // axes [0, lead) index rows
  while (lead > 0 && row_sc.size() < 64) {
    const std::vector<double>& f = sc[lead - 1];
    std::vector<double> folded;
    folded.reserve(f.size() * row_sc.size());
    for (double fi : f)
      for (double rj : row_sc) folded.push_back(fi * rj);
    row_sc = std::move(folded);
    --lead;
  }
  const auto n_row = static_cast<std::int64_t>(row_sc.size());
  const std::int64_t rows = x.numel() / n_row;
  std::vector<T> row(row_sc.begin(), row_sc.end());
  T* p = x.data();
#pragma omp parallel for schedule(static) if (x.numel() >= 65536)
  for (std::int64_t r = 0; r < rows; ++r) {
    double f = 1;
    std::int64_t rem = r;
    for (std::size_t a = lead; a-- > 0;) {
      f *= sc[a][std::size_t(rem % dims[a])];
      rem /= dims[a];
    }
    const T fr = static_cast<T>(f);
    T* q = p + r * n_row;
    for (std::int64_t j = 0; j < n_row; ++j) q[j] *= fr * row[std::size_t(j)];
  }
}

/// [outer, a, b] -> [outer, b, a]: a blocked copy through 16 x 16 tiles, each
/// gathered into a small buffer so neither side walks more than 16 lines at
/// a power-of-two stride (which would thrash the cache sets).
template <class T>
void swap_last_two(const T* src, T* dst, std::int64_t outer, std::int64_t a, std::int64_t b) {
  constexpr std::int64_t tile = 16;
  const std::int64_t ta = (a + tile - 1) / tile, tb = (b + tile - 1) / tile;
#pragma omp parallel for schedule(static) if (outer * a * b >= 65536)
  for (std::int64_t blk = 0; blk < outer * ta; ++blk) {
    const std::int64_t o = blk / ta, i0 = (blk % ta) * tile, i1 = std::min(a, i0 + tile);
    const T* s = src + o * a * b;
    T* d = dst + o * a * b;
    T buf[tile * tile];
    for (std::int64_t jb = 0; jb < tb; ++jb) {
      const std::int64_t j0 = jb * tile, j1 = std::min(b, j0 + tile);
      for (std::int64_t i = i0; i < i1; ++i)
        for (std::int64_t j = j0; j < j1; ++j) buf[(j - j0) * tile + (i - i0)] = s[i * b + j];
      for (std::int64_t j = j0; j < j1; ++j)
        for (std::int64_t i = i0; i < i1; ++i) d[j * a + i] = buf[(j - j0) * tile + (i - i0)];
    }
  }
}

/// The transform of a contiguous tensor, in place.
template <class T>
void transform_inplace(Tensor<T>& out, const std::vector<std::int64_t>& axes_in, Kind kind) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "dct: float or double tensors only");
  const char* who = kind == Kind::dct2 ? "dct" : "idct";
  std::vector<std::int64_t> axes;
  FREQCAP_CHECK(out.is_contiguous(), who, ": in-place transform of a strided tensor ", shape_str(out.shape()));
  for (auto a : normalized_axes(axes_in, out.ndim(), who))
    if (out.shape()[std::size_t(a)] > 1) axes.push_back(a);  // a 1-point orthonormal DCT is the identity
  if (axes.empty() || out.numel() == 0) return;
  if (kind == Kind::dct3) scale_axes(out, axes, true);
  // One axis at a time: the last axis in place on contiguous rows; any other
  // axis [outer, n, inner] in blocks of columns when inner spans a cache line,
  // else swapped last ([outer, inner, n]) and back, since FFTW's strided
  // transforms are several times slower than rows.
  const Shape& sh = out.shape();
  Tensor<T> tmp;
  for (auto a : axes) {
    const std::int64_t n = sh[std::size_t(a)];
    std::int64_t inner = 1;
    for (std::size_t d = std::size_t(a) + 1; d < sh.size(); ++d) inner *= sh[d];
    const std::int64_t outer = out.numel() / (n * inner);
    if (inner == 1) {
      transform_rows(out.data(), outer, n, kind);
      continue;
    }
    if (inner >= 16) {
      transform_columns(out.data(), outer, n, inner, kind);
      continue;
    }
    if (tmp.numel() != out.numel()) tmp = Tensor<T>::empty({out.numel()});
    swap_last_two(out.data(), tmp.data(), outer, n, inner);
    transform_rows(tmp.data(), outer * inner, n, kind);
    swap_last_two(tmp.data(), out.data(), outer, inner, n);
  }
  if (kind == Kind::dct2) scale_axes(out, axes, false);
}

template <class T>
Tensor<T> transform(const Tensor<T>& x, const std::vector<std::int64_t>& axes, Kind kind) {
  Tensor<T> out = x.clone();  // contiguous, offset 0
  transform_inplace(out, axes, kind);
  return out;
}

}  // namespace detail

/// Orthonormal DCT-II of x over `axes` (any subset, negative allowed); same shape.
/// X[k] = prod_a s_{k_a} sum_m x[m] prod_a cos(pi (m_a + 1/2) k_a / n_a).
template <class T>
Tensor<T> dct(const Tensor<T>& x, const std::vector<std::int64_t>& axes) {
  return detail::transform(x, axes, Kind::dct2);
}
/// Orthonormal DCT-II over every axis.
template <class T>
Tensor<T> dct(const Tensor<T>& x) {
  return detail::transform(x, detail::all_axes(x.ndim()), Kind::dct2);
}
/// Orthonormal DCT-III (the inverse of dct) over `axes`; same shape.
template <class T>
Tensor<T> idct(const Tensor<T>& x, const std::vector<std::int64_t>& axes) {
  return detail::transform(x, axes, Kind::dct3);
}
/// Orthonormal DCT-III over every axis.
template <class T>
Tensor<T> idct(const Tensor<T>& x) {
  return detail::transform(x, detail::all_axes(x.ndim()), Kind::dct3);
}

/// In-place orthonormal DCT-II / DCT-III over every axis of a contiguous tensor.
template <class T>
void dct_(Tensor<T>& x) {
  detail::transform_inplace(x, detail::all_axes(x.ndim()), Kind::dct2);
}
template <class T>
void idct_(Tensor<T>& x) {
  detail::transform_inplace(x, detail::all_axes(x.ndim()), Kind::dct3);
}

/// Number of cached FFTW plans for element type T (for tests of the cache).
template <class T>
std::size_t cached_plan_count() {
  return detail::PlanCache<T>::instance().size();
}

/// Direct reference: the same transform by explicit cosine sums, one axis at a
/// time, accumulated in double (O(n_a) work per output element per axis).
template <class T>
Tensor<T> dct_direct(const Tensor<T>& x, const std::vector<std::int64_t>& axes_in, Kind kind) {
  Tensor<double> cur = cast<double>(x.contiguous());
  for (auto a : detail::normalized_axes(axes_in, x.ndim(), "dct_direct")) {
    const Shape sh = cur.shape();
    const std::int64_t n = sh[std::size_t(a)];
    std::int64_t inner = 1, outer = 1;
    for (std::size_t d = std::size_t(a) + 1; d < sh.size(); ++d) inner *= sh[d];
    for (std::size_t d = 0; d < std::size_t(a); ++d) outer *= sh[d];
    Tensor<double> nxt(sh);
    for (std::int64_t o = 0; o < outer; ++o)
      for (std::int64_t i = 0; i < inner; ++i)
        for (std::int64_t j = 0; j < n; ++j) {
          double acc = 0;
          for (std::int64_t m = 0; m < n; ++m) {
            const double v = cur.data()[(o * n + m) * inner + i];
            // dct2: out[j=k] = s_k sum_m x[m] cos(k, m); dct3: out[j=m] = sum_k s_k X[k] cos(k, m)
            acc += kind == Kind::dct2 ? ortho_scale(j, n) * v * dct_cos(j, m, n) : ortho_scale(m, n) * v * dct_cos(m, j, n);
          }
          nxt.data()[(o * n + j) * inner + i] = acc;
        }
    cur = nxt;
  }
  return cast<T>(cur);
}

}  // namespace freqcap::dct
