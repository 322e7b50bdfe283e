// Differentiable matrix products: matmul with batch broadcasting
// (a [..., M, K] x b [..., K, N]) and linear (x W^T + b, PyTorch's layout).
#pragma once

#include "freqcap/autograd/ops_elementwise.hpp"
#include "freqcap/core/linalg.hpp"

namespace freqcap {

/// Batched, broadcasting matrix product. dA = g B^T, dB = A^T g, each summed
/// back over broadcast batch dimensions.
template <class T>
Var<T> matmul(const Var<T>& a, const Var<T>& b) {
  return Var<T>::make(matmul(a.value(), b.value()), {a, b}, "matmul", [a, b](const Tensor<T>& g) {
    if (a.requires_grad()) a.accumulate(sum_to(matmul(g, b.value().transpose(-1, -2)), a.shape()));
    if (b.requires_grad()) b.accumulate(sum_to(matmul(a.value().transpose(-1, -2), g), b.shape()));
  });
}

/// y = x W^T (+ bias): x [..., in], weight [out, in], bias [out] or undefined.
template <class T>
Var<T> linear(const Var<T>& x, const Var<T>& weight, const Var<T>& bias = Var<T>()) {
  FREQCAP_CHECK(x.ndim() >= 1 && weight.ndim() == 2 && x.dim(-1) == weight.dim(1), "linear: input ",
                shape_str(x.shape()), " does not match weight ", shape_str(weight.shape()));
  Shape flat{-1, x.dim(-1)};
  Shape out_shape = x.shape();
  out_shape.back() = weight.dim(0);
  const Tensor<T> x2 = x.value().reshape(flat);
  Tensor<T> y = matmul(x2, weight.value().transpose(0, 1));
  if (bias.defined()) add_(y, bias.value());
  return Var<T>::make(y.reshape(out_shape), {x, weight, bias}, "linear",
                      [x, weight, bias, x2](const Tensor<T>& g) {
                        const Tensor<T> g2 = g.reshape({-1, weight.dim(0)});
                        if (x.requires_grad()) x.accumulate(matmul(g2, weight.value()).reshape(x.shape()));
                        if (weight.requires_grad()) weight.accumulate(matmul(g2.transpose(0, 1), x2));
                        if (bias.defined() && bias.requires_grad()) bias.accumulate(sum(g2, {0}));
                      });
}

}  // namespace freqcap
