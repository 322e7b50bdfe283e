// Differentiable elementwise ops: broadcasting add/sub/mul/div, scalar
// forms, exp/log/sqrt, and the activations relu, relu6, silu, gelu (exact erf
// form, PyTorch's default), sigmoid and tanh. A broadcast input's gradient is
// summed back to its shape with sum_to.
#pragma once

#include <cmath>

#include "freqcap/autograd/var.hpp"

namespace freqcap {

template <class T>
Var<T> add(const Var<T>& a, const Var<T>& b) {
  return Var<T>::make(a.value() + b.value(), {a, b}, "add", [a, b](const Tensor<T>& g) {
    a.accumulate(sum_to(g, a.shape()));
    b.accumulate(sum_to(g, b.shape()));
  });
}
template <class T>
Var<T> sub(const Var<T>& a, const Var<T>& b) {
  return Var<T>::make(a.value() - b.value(), {a, b}, "sub", [a, b](const Tensor<T>& g) {
    a.accumulate(sum_to(g, a.shape()));
    b.accumulate(sum_to(-g, b.shape()));
  });
}
template <class T>
Var<T> mul(const Var<T>& a, const Var<T>& b) {
  return Var<T>::make(a.value() * b.value(), {a, b}, "mul", [a, b](const Tensor<T>& g) {
    if (a.requires_grad()) a.accumulate(sum_to(g * b.value(), a.shape()));
    if (b.requires_grad()) b.accumulate(sum_to(g * a.value(), b.shape()));
  });
}
template <class T>
Var<T> div(const Var<T>& a, const Var<T>& b) {
  return Var<T>::make(a.value() / b.value(), {a, b}, "div", [a, b](const Tensor<T>& g) {
    const Tensor<T> gb = g / b.value();
    if (a.requires_grad()) a.accumulate(sum_to(gb, a.shape()));
    if (b.requires_grad()) b.accumulate(sum_to(-(gb * a.value() / b.value()), b.shape()));
  });
}
template <class T> Var<T> operator+(const Var<T>& a, const Var<T>& b) { return add(a, b); }
template <class T> Var<T> operator-(const Var<T>& a, const Var<T>& b) { return sub(a, b); }
template <class T> Var<T> operator*(const Var<T>& a, const Var<T>& b) { return mul(a, b); }
template <class T> Var<T> operator/(const Var<T>& a, const Var<T>& b) { return div(a, b); }

/// y = a * s + t for scalars s, t.
template <class T>
Var<T> affine(const Var<T>& a, T s, T t = T(0)) {
  return Var<T>::make(map(a.value(), [s, t](T x) { return x * s + t; }), {a}, "affine",
                      [a, s](const Tensor<T>& g) { a.accumulate(g * s); });
}
template <class T> Var<T> operator*(const Var<T>& a, T s) { return affine(a, s); }
template <class T> Var<T> operator-(const Var<T>& a) { return affine(a, T(-1)); }

namespace detail {
// A unary op whose derivative is a function of the input x and output y.
template <class T, class F, class D>
Var<T> unary(const Var<T>& a, const char* name, F f, D dfdx) {
  Tensor<T> y = map(a.value(), f);
  return Var<T>::make(y, {a}, name, [a, y, dfdx](const Tensor<T>& g) {
    Tensor<T> d = zip(a.value(), y, dfdx);
    a.accumulate(g * d);
  });
}
template <class T> T sigmoid_of(T x) { return T(1) / (T(1) + std::exp(-x)); }
}  // namespace detail

template <class T>
Var<T> exp(const Var<T>& a) {
  return detail::unary(a, "exp", [](T x) { return std::exp(x); }, [](T, T y) { return y; });
}
template <class T>
Var<T> log(const Var<T>& a) {
  return detail::unary(a, "log", [](T x) { return std::log(x); }, [](T x, T) { return T(1) / x; });
}
template <class T>
Var<T> sqrt(const Var<T>& a) {
  return detail::unary(a, "sqrt", [](T x) { return std::sqrt(x); }, [](T, T y) { return T(0.5) / y; });
}
template <class T>
Var<T> relu(const Var<T>& a) {
  return detail::unary(a, "relu", [](T x) { return x > 0 ? x : T(0); }, [](T x, T) { return x > 0 ? T(1) : T(0); });
}
template <class T>
Var<T> relu6(const Var<T>& a) {
  return detail::unary(
      a, "relu6", [](T x) { return std::min(std::max(x, T(0)), T(6)); },
      [](T x, T) { return x > 0 && x < 6 ? T(1) : T(0); });
}
template <class T>
Var<T> sigmoid(const Var<T>& a) {
  return detail::unary(a, "sigmoid", [](T x) { return detail::sigmoid_of(x); }, [](T, T y) { return y * (T(1) - y); });
}
template <class T>
Var<T> tanh(const Var<T>& a) {
  return detail::unary(a, "tanh", [](T x) { return std::tanh(x); }, [](T, T y) { return T(1) - y * y; });
}
/// x * sigmoid(x) (a.k.a. swish).
template <class T>
Var<T> silu(const Var<T>& a) {
  return detail::unary(
      a, "silu", [](T x) { return x * detail::sigmoid_of(x); },
      [](T x, T) {
        const T s = detail::sigmoid_of(x);
        return s * (T(1) + x * (T(1) - s));
      });
}
/// x * Phi(x), the exact (erf) GELU. ref: Hendrycks & Gimpel 2016, eq. 1.
template <class T>
Var<T> gelu(const Var<T>& a) {
  constexpr T inv_sqrt2 = T(0.70710678118654752440);
  constexpr T inv_sqrt2pi = T(0.39894228040143267794);
  return detail::unary(
      a, "gelu", [](T x) { return T(0.5) * x * (T(1) + std::erf(x * inv_sqrt2)); },
      [](T x, T) { return T(0.5) * (T(1) + std::erf(x * inv_sqrt2)) + x * inv_sqrt2pi * std::exp(T(-0.5) * x * x); });
}

}  // namespace freqcap
