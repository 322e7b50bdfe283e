// Differentiable shape ops: reshape, permute, transpose, slice, select,
// unsqueeze and concat. Their backward passes move the gradient back into
// the input's shape without arithmetic.
#pragma once

#include <numeric>

#include "freqcap/autograd/var.hpp"

namespace freqcap {

template <class T>
Var<T> reshape(const Var<T>& a, Shape s) {
  return Var<T>::make(a.value().reshape(std::move(s)), {a}, "reshape",
                      [a](const Tensor<T>& g) { a.accumulate(g.reshape(a.shape())); });
}

template <class T>
Var<T> permute(const Var<T>& a, const std::vector<std::int64_t>& perm) {
  return Var<T>::make(a.value().permute(perm), {a}, "permute", [a, perm](const Tensor<T>& g) {
    std::vector<std::int64_t> inv(perm.size());
    for (std::size_t i = 0; i < perm.size(); ++i) inv[normalize_axis(perm[i], perm.size())] = static_cast<std::int64_t>(i);
    a.accumulate(g.permute(inv).contiguous());
  });
}

template <class T>
Var<T> transpose(const Var<T>& a, std::int64_t d0, std::int64_t d1) {
  std::vector<std::int64_t> perm(a.ndim());
  std::iota(perm.begin(), perm.end(), 0);
  std::swap(perm[normalize_axis(d0, a.ndim())], perm[normalize_axis(d1, a.ndim())]);
  return permute(a, perm);
}

/// a.slice(axis, start, stop, step) with the gradient scattered back.
template <class T>
Var<T> slice(const Var<T>& a, std::int64_t axis, std::int64_t start, std::int64_t stop, std::int64_t step = 1) {
  return Var<T>::make(a.value().slice(axis, start, stop, step).contiguous(), {a}, "slice",
                      [a, axis, start, stop, step](const Tensor<T>& g) {
                        Tensor<T> full(a.shape());
                        full.slice(axis, start, stop, step).copy_from(g);
                        a.accumulate(full);
                      });
}

template <class T>
Var<T> select(const Var<T>& a, std::int64_t axis, std::int64_t index) {
  return Var<T>::make(a.value().select(axis, index).contiguous(), {a}, "select",
                      [a, axis, index](const Tensor<T>& g) {
                        Tensor<T> full(a.shape());
                        full.select(axis, index).copy_from(g);
                        a.accumulate(full);
                      });
}

template <class T>
Var<T> unsqueeze(const Var<T>& a, std::int64_t axis) {
  Shape s = a.value().unsqueeze(axis).shape();
  return reshape(a, s);
}

template <class T>
Var<T> concat(const std::vector<Var<T>>& parts, std::int64_t axis) {
  std::vector<Tensor<T>> values;
  for (const auto& p : parts) values.push_back(p.value());
  return Var<T>::make(concat(values, axis), parts, "concat", [parts, axis](const Tensor<T>& g) {
    std::int64_t at = 0;
    for (const auto& p : parts) {
      const std::int64_t len = p.dim(axis);
      if (p.requires_grad()) p.accumulate(g.slice(axis, at, at + len).contiguous());
      at += len;
    }
  });
}

}  // namespace freqcap
