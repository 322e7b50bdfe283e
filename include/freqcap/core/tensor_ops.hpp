// Value-level tensor operations: broadcasting elementwise maps, reductions
// over axes, concatenation, casts and comparisons. These are the building
// blocks of autograd's forward and backward passes; heavy float work (GEMM,
// convolution, softmax, norms) lives in kernels/.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "freqcap/core/tensor.hpp"

namespace freqcap {

namespace detail {
// Walks the broadcast shape `shape` once, calling fn(i, offa, offb) with the
// flat output index and the element offsets of two inputs (strides `sa`, `sb`).
template <class F>
void for_each_broadcast2(const Shape& shape, const Strides& sa, const Strides& sb, F&& fn) {
  const std::int64_t n = numel_of(shape);
  if (n == 0) return;
  std::vector<std::int64_t> idx(shape.size(), 0);
  std::int64_t oa = 0, ob = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    fn(i, oa, ob);
    for (std::size_t d = shape.size(); d-- > 0;) {
      if (++idx[d] < shape[d]) {
        oa += sa[d];
        ob += sb[d];
        break;
      }
      oa -= sa[d] * (shape[d] - 1);
      ob -= sb[d] * (shape[d] - 1);
      idx[d] = 0;
    }
  }
}
}  // namespace detail

/// out = f(a) elementwise; out is contiguous.
template <class T, class F>
Tensor<T> map(const Tensor<T>& a, F&& f) {
  Tensor<T> out = Tensor<T>::empty(a.shape());
  T* o = out.data();
  const T* p = a.data();
  if (a.is_contiguous()) {
    const std::int64_t n = a.numel();
    for (std::int64_t i = 0; i < n; ++i) o[i] = f(p[i]);
  } else {
    std::int64_t k = 0;
    a.for_each_offset([&](std::int64_t off) { o[k++] = f(p[off]); });
  }
  return out;
}

/// out = f(a, b) with NumPy broadcasting; out is contiguous.
template <class T, class F>
Tensor<T> zip(const Tensor<T>& a, const Tensor<T>& b, F&& f) {
  const Shape shape = broadcast_shapes(a.shape(), b.shape());
  Tensor<T> out = Tensor<T>::empty(shape);
  T* o = out.data();
  const T* pa = a.data();
  const T* pb = b.data();
  if (a.shape() == b.shape() && a.is_contiguous() && b.is_contiguous()) {
    const std::int64_t n = out.numel();
    for (std::int64_t i = 0; i < n; ++i) o[i] = f(pa[i], pb[i]);
    return out;
  }
  detail::for_each_broadcast2(shape, broadcast_strides(a.shape(), a.strides(), shape),
                              broadcast_strides(b.shape(), b.strides(), shape),
                              [&](std::int64_t i, std::int64_t oa, std::int64_t ob) {
                                o[i] = f(pa[oa], pb[ob]);
                              });
  return out;
}

template <class T> Tensor<T> operator+(const Tensor<T>& a, const Tensor<T>& b) { return zip(a, b, [](T x, T y) { return x + y; }); }
template <class T> Tensor<T> operator-(const Tensor<T>& a, const Tensor<T>& b) { return zip(a, b, [](T x, T y) { return x - y; }); }
template <class T> Tensor<T> operator*(const Tensor<T>& a, const Tensor<T>& b) { return zip(a, b, [](T x, T y) { return x * y; }); }
template <class T> Tensor<T> operator/(const Tensor<T>& a, const Tensor<T>& b) { return zip(a, b, [](T x, T y) { return x / y; }); }
template <class T> Tensor<T> operator-(const Tensor<T>& a) { return map(a, [](T x) { return -x; }); }
template <class T> Tensor<T> operator*(const Tensor<T>& a, T s) { return map(a, [s](T x) { return x * s; }); }
template <class T> Tensor<T> operator+(const Tensor<T>& a, T s) { return map(a, [s](T x) { return x + s; }); }

/// In place: a += b, where b broadcasts to a's shape.
template <class T>
void add_(Tensor<T>& a, const Tensor<T>& b) {
  FREQCAP_CHECK(broadcast_shapes(a.shape(), b.shape()) == a.shape(), "add_: shape ",
                shape_str(b.shape()), " does not broadcast to ", shape_str(a.shape()));
  T* pa = a.data();
  const T* pb = b.data();
  if (a.shape() == b.shape() && a.is_contiguous() && b.is_contiguous()) {
    const std::int64_t n = a.numel();
    for (std::int64_t i = 0; i < n; ++i) pa[i] += pb[i];
    return;
  }
  detail::for_each_broadcast2(a.shape(), a.strides(), broadcast_strides(b.shape(), b.strides(), a.shape()),
                              [&](std::int64_t, std::int64_t oa, std::int64_t ob) { pa[oa] += pb[ob]; });
}

/// Converts element type.
template <class U, class T>
Tensor<U> cast(const Tensor<T>& a) {
  Tensor<U> out = Tensor<U>::empty(a.shape());
  U* o = out.data();
  const T* p = a.data();
  std::int64_t k = 0;
  a.for_each_offset([&](std::int64_t off) { o[k++] = static_cast<U>(p[off]); });
  return out;
}

/// Reduces `a` over `axes` (all axes when empty) with `op`, starting from `init`.
/// keepdim keeps reduced axes as size 1.
template <class T, class Op>
Tensor<T> reduce(const Tensor<T>& a, std::vector<std::int64_t> axes, bool keepdim, T init, Op op) {
  std::vector<bool> red(a.ndim(), axes.empty());
  for (auto ax : axes) red[normalize_axis(ax, a.ndim())] = true;
  Shape kept(a.ndim());
  for (std::size_t i = 0; i < a.ndim(); ++i) kept[i] = red[i] ? 1 : a.shape()[i];
  Tensor<T> out(kept, init);
  // Output strides as seen from the input's index space: 0 on reduced axes.
  Strides os = contiguous_strides(kept);
  for (std::size_t i = 0; i < a.ndim(); ++i)
    if (red[i]) os[i] = 0;
  T* o = out.data();
  const T* p = a.data();
  detail::for_each_broadcast2(a.shape(), a.strides(), os,
                              [&](std::int64_t, std::int64_t ia, std::int64_t io) { o[io] = op(o[io], p[ia]); });
  if (keepdim) return out;
  Shape squeezed;
  for (std::size_t i = 0; i < a.ndim(); ++i)
    if (!red[i]) squeezed.push_back(a.shape()[i]);
  return out.reshape(squeezed);
}

template <class T>
Tensor<T> sum(const Tensor<T>& a, std::vector<std::int64_t> axes = {}, bool keepdim = false) {
  return reduce(a, std::move(axes), keepdim, T{0}, [](T acc, T x) { return acc + x; });
}
template <class T>
Tensor<T> max(const Tensor<T>& a, std::vector<std::int64_t> axes = {}, bool keepdim = false) {
  return reduce(a, std::move(axes), keepdim, std::numeric_limits<T>::lowest(),
                [](T acc, T x) { return std::max(acc, x); });
}
template <class T>
Tensor<T> mean(const Tensor<T>& a, std::vector<std::int64_t> axes = {}, bool keepdim = false) {
  std::int64_t count = 1;
  if (axes.empty()) {
    count = a.numel();
  } else {
    for (auto ax : axes) count *= a.shape()[normalize_axis(ax, a.ndim())];
  }
  Tensor<T> s = sum(a, std::move(axes), keepdim);
  const T inv = T(1) / static_cast<T>(std::max<std::int64_t>(count, 1));
  return map(s, [inv](T x) { return x * inv; });
}

/// Index of the largest element along `axis` (first one on ties); that axis is removed.
template <class T>
Tensor<std::int64_t> argmax(const Tensor<T>& a, std::int64_t axis) {
  const auto ax = normalize_axis(axis, a.ndim());
  const std::int64_t len = a.shape()[ax], step = a.strides()[ax];
  FREQCAP_CHECK(len > 0, "argmax over an empty axis of shape ", shape_str(a.shape()));
  Shape out_shape = a.shape();
  Strides in_strides = a.strides();
  out_shape.erase(out_shape.begin() + static_cast<std::ptrdiff_t>(ax));
  in_strides.erase(in_strides.begin() + static_cast<std::ptrdiff_t>(ax));
  Tensor<std::int64_t> out(out_shape);
  const T* p = a.data();
  std::int64_t* o = out.data();
  detail::for_each_broadcast2(out_shape, in_strides, contiguous_strides(out_shape),
                              [&](std::int64_t, std::int64_t ia, std::int64_t io) {
                                std::int64_t best = 0;
                                for (std::int64_t k = 1; k < len; ++k)
                                  if (p[ia + k * step] > p[ia + best * step]) best = k;
                                o[io] = best;
                              });
  return out;
}

/// Reduces a gradient of broadcast shape back to `shape` by summing the
/// broadcast dimensions (ref: tinygrad's one "sum to shape" step).
template <class T>
Tensor<T> sum_to(const Tensor<T>& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  FREQCAP_CHECK(broadcast_shapes(shape, g.shape()) == g.shape(), "sum_to: shape ",
                shape_str(g.shape()), " is not a broadcast of ", shape_str(shape));
  const std::size_t lead = g.ndim() - shape.size();
  std::vector<std::int64_t> axes;
  for (std::size_t i = 0; i < g.ndim(); ++i)
    if (i < lead || (shape[i - lead] == 1 && g.shape()[i] != 1)) axes.push_back(static_cast<std::int64_t>(i));
  return sum(g, axes, true).reshape(shape);
}

/// Joins tensors along `axis`; all other dimensions must agree.
template <class T>
Tensor<T> concat(const std::vector<Tensor<T>>& parts, std::int64_t axis) {
  FREQCAP_CHECK(!parts.empty(), "concat of no tensors");
  const auto ax = normalize_axis(axis, parts[0].ndim());
  Shape out_shape = parts[0].shape();
  out_shape[ax] = 0;
  for (const auto& p : parts) {
    FREQCAP_CHECK(p.ndim() == out_shape.size(), "concat: shapes ", shape_str(parts[0].shape()),
                  " and ", shape_str(p.shape()), " differ in rank");
    for (std::size_t i = 0; i < p.ndim(); ++i)
      FREQCAP_CHECK(i == ax || p.shape()[i] == parts[0].shape()[i], "concat along axis ", axis,
                    ": shapes ", shape_str(parts[0].shape()), " and ", shape_str(p.shape()), " differ");
    out_shape[ax] += p.shape()[ax];
  }
  Tensor<T> out(out_shape);
  std::int64_t at = 0;
  for (const auto& p : parts) {
    Tensor<T> dst = out.slice(static_cast<std::int64_t>(ax), at, at + p.shape()[ax]);
    dst.copy_from(p);
    at += p.shape()[ax];
  }
  return out;
}

/// Largest |a - b| over all elements (shapes must match).
template <class T>
double max_abs_diff(const Tensor<T>& a, const Tensor<T>& b) {
  FREQCAP_CHECK(a.shape() == b.shape(), "max_abs_diff: shapes ", shape_str(a.shape()), " and ",
                shape_str(b.shape()), " differ");
  const auto va = a.to_vector(), vb = b.to_vector();
  double m = 0;
  for (std::size_t i = 0; i < va.size(); ++i)
    m = std::max(m, std::abs(static_cast<double>(va[i]) - static_cast<double>(vb[i])));
  return m;
}

/// |a - b| <= atol + rtol * |b| everywhere (NumPy's allclose).
template <class T>
bool allclose(const Tensor<T>& a, const Tensor<T>& b, double rtol = 1e-5, double atol = 1e-8) {
  if (a.shape() != b.shape()) return false;
  const auto va = a.to_vector(), vb = b.to_vector();
  for (std::size_t i = 0; i < va.size(); ++i) {
    const double x = static_cast<double>(va[i]), y = static_cast<double>(vb[i]);
    if (!(std::abs(x - y) <= atol + rtol * std::abs(y))) return false;
  }
  return true;
}

}  // namespace freqcap
