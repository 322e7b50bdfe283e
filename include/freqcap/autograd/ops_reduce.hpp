// Differentiable reductions and normalisers: sum and mean over axes,
// softmax and log_softmax along one axis (numerically stable: the row
// maximum is subtracted first).
#pragma once

#include <cmath>

#include "freqcap/autograd/ops_elementwise.hpp"

namespace freqcap {

namespace detail {
// Shape of `s` with `axes` kept as size 1 (all axes when empty).
inline Shape keepdim_shape(const Shape& s, const std::vector<std::int64_t>& axes) {
  Shape out = s;
  if (axes.empty()) std::fill(out.begin(), out.end(), 1);
  for (auto ax : axes) out[normalize_axis(ax, s.size())] = 1;
  return out;
}
}  // namespace detail

/// Sum over `axes` (all when empty).
template <class T>
Var<T> sum(const Var<T>& a, std::vector<std::int64_t> axes = {}, bool keepdim = false) {
  const Shape kept = detail::keepdim_shape(a.shape(), axes);
  return Var<T>::make(sum(a.value(), axes, keepdim), {a}, "sum", [a, kept](const Tensor<T>& g) {
    a.accumulate(g.reshape(kept).expand(a.shape()).contiguous());
  });
}

/// Mean over `axes` (all when empty).
template <class T>
Var<T> mean(const Var<T>& a, std::vector<std::int64_t> axes = {}, bool keepdim = false) {
  std::int64_t count = 1;
  if (axes.empty()) count = a.value().numel();
  for (auto ax : axes) count *= a.dim(ax);
  return affine(sum(a, std::move(axes), keepdim), T(1) / static_cast<T>(std::max<std::int64_t>(count, 1)));
}

template <class T>
Tensor<T> softmax(const Tensor<T>& x, std::int64_t axis) {
  const Tensor<T> e = map(x - max(x, {axis}, true), [](T v) { return std::exp(v); });
  return e / sum(e, {axis}, true);
}

template <class T>
Tensor<T> log_softmax(const Tensor<T>& x, std::int64_t axis) {
  const Tensor<T> shifted = x - max(x, {axis}, true);
  const Tensor<T> lse = map(sum(map(shifted, [](T v) { return std::exp(v); }), {axis}, true),
                            [](T v) { return std::log(v); });
  return shifted - lse;
}

/// softmax along `axis`; backward dx = y * (g - sum(g * y)).
template <class T>
Var<T> softmax(const Var<T>& a, std::int64_t axis = -1) {
  Tensor<T> y = softmax(a.value(), axis);
  return Var<T>::make(y, {a}, "softmax", [a, y, axis](const Tensor<T>& g) {
    const Tensor<T> gy = g * y;
    a.accumulate(gy - y * sum(gy, {axis}, true));
  });
}

/// log(softmax) along `axis`; backward dx = g - softmax * sum(g).
template <class T>
Var<T> log_softmax(const Var<T>& a, std::int64_t axis = -1) {
  Tensor<T> y = log_softmax(a.value(), axis);
  return Var<T>::make(y, {a}, "log_softmax", [a, y, axis](const Tensor<T>& g) {
    const Tensor<T> p = map(y, [](T v) { return std::exp(v); });
    a.accumulate(g - p * sum(g, {axis}, true));
  });
}

}  // namespace freqcap
