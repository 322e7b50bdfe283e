// Differentiable elementwise ops: broadcasting add/sub/mul/div, scalar
// forms, exp/log/sqrt, and the activations relu, relu6, silu, gelu (exact erf
// form, PyTorch's default), sigmoid and tanh, which run on kernels/. A broadcast input's gradient is
// summed back to its shape with sum_to.
#pragma once

#include <cmath>

#include "freqcap/autograd/var.hpp"
#include "freqcap/kernels/elementwise.hpp"

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
namespace detail {
// An activation through kernels/elementwise.hpp: SIMD for float (dispatched
// by CPU), the scalar twin for double. Backward recomputes f'(x) from x.
template <class T>
Var<T> activation(const Var<T>& a, kernels::Act act, const char* name) {
  const Tensor<T> x = a.value().contiguous();
  Tensor<T> y = Tensor<T>::empty(x.shape());
  const auto n = static_cast<std::size_t>(x.numel());
  kernels::activation_forward(act, x.data(), y.data(), n);
  return Var<T>::make(std::move(y), {a}, name, [a, x, act, n](const Tensor<T>& g) {
    const Tensor<T> gc = g.contiguous();
    Tensor<T> dx = Tensor<T>::empty(x.shape());
    kernels::activation_backward(act, x.data(), gc.data(), dx.data(), n);
    a.accumulate(dx);
  });
}
}  // namespace detail

/// The activation `act` as an op named after it: activation(a, Act::relu) is relu(a).
template <class T> Var<T> activation(const Var<T>& a, kernels::Act act) {
  return detail::activation(a, act, kernels::act_name(act));
}
template <class T> Var<T> relu(const Var<T>& a) { return detail::activation(a, kernels::Act::relu, "relu"); }
/// min(max(x, 0), 6)
template <class T> Var<T> relu6(const Var<T>& a) { return detail::activation(a, kernels::Act::relu6, "relu6"); }
template <class T> Var<T> sigmoid(const Var<T>& a) { return detail::activation(a, kernels::Act::sigmoid, "sigmoid"); }
template <class T> Var<T> tanh(const Var<T>& a) { return detail::activation(a, kernels::Act::tanh, "tanh"); }
/// x * sigmoid(x) (a.k.a. swish).
template <class T> Var<T> silu(const Var<T>& a) { return detail::activation(a, kernels::Act::silu, "silu"); }
/// x * Phi(x), the exact (erf) GELU. ref: Hendrycks & Gimpel 2016, eq. 1.
template <class T> Var<T> gelu(const Var<T>& a) { return detail::activation(a, kernels::Act::gelu, "gelu"); }

}  // namespace freqcap
