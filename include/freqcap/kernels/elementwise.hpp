// Elementwise float kernels: add/sub/mul/div of two same-length arrays,
// y = alpha*x + beta (axpb, add_const, mul_const), y += alpha*x (axpy), and the activations relu, relu6,
// silu, gelu (exact erf form), sigmoid, tanh with their backward
// dx = dy * f'(x). Holds the scalar references (`<op>_scalar<T>`, plain loops
// over std:: math) and the public entry points: T = float goes through the
// active KernelTable, any other T (double for gradient checks) runs the scalar
// template. In-place use (y == x, dx == dy) is allowed everywhere.
#pragma once

#include <cmath>
#include <cstddef>
#include <type_traits>

#include "freqcap/kernels/table.hpp"

namespace freqcap::kernels {

// ---- scalar references -----------------------------------------------------

template <class T> void add_scalar(const T* a, const T* b, T* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}
template <class T> void sub_scalar(const T* a, const T* b, T* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = a[i] - b[i];
}
template <class T> void mul_scalar(const T* a, const T* b, T* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = a[i] * b[i];
}
template <class T> void div_scalar(const T* a, const T* b, T* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = a[i] / b[i];
}
template <class T> void axpy_scalar(T alpha, const T* x, T* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}
template <class T> void axpb_scalar(const T* x, T alpha, T beta, T* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = alpha * x[i] + beta;
}

namespace detail {
/// f(x) and f'(x) of each activation, in T precision, from std:: functions.
template <class T> T act_value(Act act, T x) {
  switch (act) {
    case Act::relu: return x > T(0) ? x : T(0);
    case Act::relu6: return x > T(0) ? (x < T(6) ? x : T(6)) : T(0);
    case Act::silu: return x / (T(1) + std::exp(-x));
    case Act::gelu: return T(0.5) * x * std::erfc(-x * T(0.70710678118654752440));
    case Act::sigmoid: return T(1) / (T(1) + std::exp(-x));
    case Act::tanh: return std::tanh(x);
  }
  return x;
}
template <class T> T act_derivative(Act act, T x) {
  switch (act) {
    case Act::relu: return x > T(0) ? T(1) : T(0);
    case Act::relu6: return (x > T(0) && x < T(6)) ? T(1) : T(0);
    case Act::silu: {
      const T s = T(1) / (T(1) + std::exp(-x));
      return s * (T(1) + x * (T(1) - s));
    }
    case Act::gelu: {
      const T cdf = T(0.5) * std::erfc(-x * T(0.70710678118654752440));
      const T pdf = std::exp(T(-0.5) * x * x) * T(0.39894228040143267794);
      return cdf + x * pdf;
    }
    case Act::sigmoid: {
      const T s = T(1) / (T(1) + std::exp(-x));
      return s * (T(1) - s);
    }
    case Act::tanh: {
      const T t = std::tanh(x);
      return T(1) - t * t;
    }
  }
  return T(0);
}
}  // namespace detail

/// y = f(x), x and y: [n].
template <class T> void activation_forward_scalar(Act act, const T* x, T* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = detail::act_value(act, x[i]);
}
/// dx = dy * f'(x), all [n].
template <class T>
void activation_backward_scalar(Act act, const T* x, const T* dy, T* dx, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) dx[i] = dy[i] * detail::act_derivative(act, x[i]);
}

namespace detail {
template <Act A> void act_forward_scalar_f(const float* x, float* y, std::size_t n) {
  activation_forward_scalar<float>(A, x, y, n);
}
template <Act A>
void act_backward_scalar_f(const float* x, const float* dy, float* dx, std::size_t n) {
  activation_backward_scalar<float>(A, x, dy, dx, n);
}
}  // namespace detail

// ---- public entry points ---------------------------------------------------

/// y = a + b, all [n].
template <class T> void add(const T* a, const T* b, T* y, std::size_t n) {
  if constexpr (std::is_same_v<T, float>) table().add(a, b, y, n);
  else add_scalar(a, b, y, n);
}
/// y = a - b, all [n].
template <class T> void sub(const T* a, const T* b, T* y, std::size_t n) {
  if constexpr (std::is_same_v<T, float>) table().sub(a, b, y, n);
  else sub_scalar(a, b, y, n);
}
/// y = a * b, all [n].
template <class T> void mul(const T* a, const T* b, T* y, std::size_t n) {
  if constexpr (std::is_same_v<T, float>) table().mul(a, b, y, n);
  else mul_scalar(a, b, y, n);
}
/// y = a / b, all [n].
template <class T> void div(const T* a, const T* b, T* y, std::size_t n) {
  if constexpr (std::is_same_v<T, float>) table().div(a, b, y, n);
  else div_scalar(a, b, y, n);
}
/// y = alpha * x + beta, x and y: [n].
template <class T>
void axpb(const T* x, std::type_identity_t<T> alpha, std::type_identity_t<T> beta, T* y,
          std::size_t n) {
  if constexpr (std::is_same_v<T, float>) table().axpb(x, alpha, beta, y, n);
  else axpb_scalar(x, alpha, beta, y, n);
}
/// y += alpha * x, x and y: [n] (gradient accumulation).
template <class T> void axpy(std::type_identity_t<T> alpha, const T* x, T* y, std::size_t n) {
  if constexpr (std::is_same_v<T, float>) table().axpy(alpha, x, y, n);
  else axpy_scalar(alpha, x, y, n);
}
/// y = x + s, x and y: [n] (PyTorch's add with a scalar; named _const so it
/// cannot be confused with the scalar reference add_scalar).
template <class T> void add_const(const T* x, std::type_identity_t<T> s, T* y, std::size_t n) {
  axpb<T>(x, T(1), s, y, n);
}
/// y = x * s, x and y: [n].
template <class T> void mul_const(const T* x, std::type_identity_t<T> s, T* y, std::size_t n) {
  axpb<T>(x, s, T(0), y, n);
}
/// y = act(x), x and y: [n].
template <class T> void activation_forward(Act act, const T* x, T* y, std::size_t n) {
  if constexpr (std::is_same_v<T, float>) table().act_forward[static_cast<int>(act)](x, y, n);
  else activation_forward_scalar(act, x, y, n);
}
/// dx = dy * act'(x), all [n].
template <class T>
void activation_backward(Act act, const T* x, const T* dy, T* dx, std::size_t n) {
  if constexpr (std::is_same_v<T, float>)
    table().act_backward[static_cast<int>(act)](x, dy, dx, n);
  else activation_backward_scalar(act, x, dy, dx, n);
}

}  // namespace freqcap::kernels

#include "freqcap/kernels/dispatch.hpp"
