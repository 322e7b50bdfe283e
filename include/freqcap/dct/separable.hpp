// The box-restricted separable DCT path. When only coefficients inside a box
// [0, b_0) x ... x [0, b_{d-1}) can be non-zero, the inverse DCT over all axes
// is a chain of mode products with the transposed first-b_a-rows DCT bases
// (each [n_a, b_a]), and its adjoint (the DCT-II truncated to the box) a chain
// with the bases themselves. For a large layer with few kept coefficients this
// is far cheaper than FFTW over the whole tensor. The order of the axes is
// chosen to minimise the multiply-adds; BasisCache keeps the basis rows.
#pragma once

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "freqcap/dct/dct.hpp"
#include "freqcap/kernels/gemm.hpp"

namespace freqcap::dct {

/// Y = x multiplied along `axis` by op(M): op(M) is [m, n_axis] (M itself when
/// !trans_m, M^T when trans_m). M may be a row slice of a larger matrix (unit
/// column stride). Returns a contiguous tensor with shape[axis] = m.
template <class T>
Tensor<T> mode_product(const Tensor<T>& x_in, std::size_t axis, const Tensor<T>& m_in, bool trans_m) {
  const Tensor<T> x = x_in.contiguous();
  Tensor<T> mat = m_in.strides().back() == 1 ? m_in : m_in.contiguous();
  const std::size_t ldm = std::size_t(mat.strides()[0]);
  const std::int64_t n = x.shape()[axis];
  const std::int64_t m = trans_m ? mat.dim(1) : mat.dim(0);
  FREQCAP_CHECK((trans_m ? mat.dim(0) : mat.dim(1)) == n, "mode_product: matrix ", shape_str(mat.shape()),
                (trans_m ? " (transposed)" : ""), " along axis ", axis, " of ", shape_str(x.shape()));
  Shape out_shape = x.shape();
  out_shape[axis] = m;
  std::int64_t inner = 1, outer = 1;
  for (std::size_t d = axis + 1; d < x.ndim(); ++d) inner *= x.shape()[d];
  for (std::size_t d = 0; d < axis; ++d) outer *= x.shape()[d];
  Tensor<T> y = Tensor<T>::empty(out_shape);
  if (y.numel() == 0) return y;
  if (inner == 1) {
    // Y [outer, m] = X [outer, n] op(M)^T
    kernels::gemm<T>(false, !trans_m, std::size_t(outer), std::size_t(m), std::size_t(n), T(1), x.data(),
                     std::size_t(n), mat.data(), ldm, T(0), y.data(), std::size_t(m));
  } else if (outer == 1 || inner >= 64) {
    for (std::int64_t o = 0; o < outer; ++o)
      kernels::gemm<T>(trans_m, false, std::size_t(m), std::size_t(inner), std::size_t(n), T(1), mat.data(), ldm,
                       x.data() + o * n * inner, std::size_t(inner), T(0), y.data() + o * m * inner,
                       std::size_t(inner));
  } else {
    // Many small slabs: move the axis last, one GEMM, move it back.
    std::vector<std::int64_t> perm(x.ndim());
    std::iota(perm.begin(), perm.end(), 0);
    perm.erase(perm.begin() + std::ptrdiff_t(axis));
    perm.push_back(std::int64_t(axis));
    const Tensor<T> xt = x.permute(perm).contiguous();
    Shape yt_shape = xt.shape();
    yt_shape.back() = m;
    Tensor<T> yt = Tensor<T>::empty(yt_shape);
    const std::int64_t rows = xt.numel() / n;
    kernels::gemm<T>(false, !trans_m, std::size_t(rows), std::size_t(m), std::size_t(n), T(1), xt.data(),
                     std::size_t(n), mat.data(), ldm, T(0), yt.data(), std::size_t(m));
    std::vector<std::int64_t> inv(x.ndim());
    for (std::size_t i = 0; i < perm.size(); ++i) inv[std::size_t(perm[i])] = std::int64_t(i);
    y = yt.permute(inv).contiguous();
  }
  return y;
}

/// First rows of the DCT basis of every axis of a shape, grown on demand.
template <class T>
class BasisCache {
 public:
  /// The first `rows` rows of the n-point basis of axis `axis`: [rows, n] (a view).
  Tensor<T> rows(std::size_t axis, std::int64_t n, std::int64_t rows) {
    if (bases_.size() <= axis) bases_.resize(axis + 1);
    Tensor<T>& b = bases_[axis];
    if (b.ndim() != 2 || b.dim(1) != n || b.dim(0) < rows) b = dct_basis<T>(n, rows);
    return b.slice(0, 0, rows);
  }

 private:
  std::vector<Tensor<T>> bases_;
};

namespace detail {

/// Axis order (over axes where from != to) minimising the multiply-adds of a
/// chain of mode products turning extents `from` into `to`; returns its cost.
inline double best_order(const Shape& from, const Shape& to, std::vector<std::size_t>& order) {
  std::vector<std::size_t> axes;
  for (std::size_t a = 0; a < from.size(); ++a)
    if (from[a] != to[a] || to[a] > 1) axes.push_back(a);
  std::sort(axes.begin(), axes.end());
  double best = -1;
  std::vector<std::size_t> best_axes = axes;
  auto cost_of = [&](const std::vector<std::size_t>& ax) {
    Shape cur = from;
    double cost = 0;
    for (auto a : ax) {
      double rest = 1;
      for (std::size_t d = 0; d < cur.size(); ++d)
        if (d != a) rest *= double(cur[d]);
      cost += rest * double(from[a]) * double(to[a]);
      cur[a] = to[a];
    }
    return cost;
  };
  if (axes.size() <= 6) {
    do {
      const double c = cost_of(axes);
      if (best < 0 || c < best) best = c, best_axes = axes;
    } while (std::next_permutation(axes.begin(), axes.end()));
  } else {
    best = cost_of(axes);
  }
  order = best_axes;
  return std::max(best, 0.0);
}

}  // namespace detail

/// Multiply-adds of box_idct (and of its adjoint box_dct) for these extents.
inline double box_cost(const Shape& box, const Shape& full) {
  std::vector<std::size_t> order;
  return detail::best_order(box, full, order);
}

/// Rough multiply-add count of an FFTW DCT over every axis of `full`, for
/// choosing between the two paths.
inline double fftw_cost(const Shape& full) {
  double n = double(numel_of(full)), c = 0;
  for (auto d : full)
    if (d > 1) c += 2.5 * std::log2(double(d)) + 2;
  return n * (c + 2);
}

/// IDCT over all axes of a coefficient tensor that is zero outside the box:
/// coef_box [b_0, ..., b_{d-1}] -> [n_0, ..., n_{d-1}] = idct(zero-padded coef_box).
template <class T>
Tensor<T> box_idct(const Tensor<T>& coef_box, const Shape& full, BasisCache<T>& bases) {
  FREQCAP_CHECK(coef_box.ndim() == full.size(), "box_idct: box ", shape_str(coef_box.shape()), " for shape ",
                shape_str(full));
  std::vector<std::size_t> order;
  detail::best_order(coef_box.shape(), full, order);
  Tensor<T> cur = coef_box.contiguous();
  for (auto a : order) cur = mode_product(cur, a, bases.rows(a, full[a], coef_box.shape()[a]), true);
  return cur;
}

/// The adjoint of box_idct: the orthonormal DCT-II over all axes of x [n...],
/// truncated to its first box[a] frequencies per axis -> [box].
template <class T>
Tensor<T> box_dct(const Tensor<T>& x, const Shape& box, BasisCache<T>& bases) {
  FREQCAP_CHECK(x.ndim() == box.size(), "box_dct: box ", shape_str(box), " for shape ", shape_str(x.shape()));
  std::vector<std::size_t> order;
  detail::best_order(x.shape(), box, order);
  Tensor<T> cur = x.contiguous();
  for (auto a : order) cur = mode_product(cur, a, bases.rows(a, x.shape()[a], box[a]), false);
  return cur;
}

}  // namespace freqcap::dct
