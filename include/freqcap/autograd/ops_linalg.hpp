// Differentiable matrix products: matmul with batch broadcasting
// (a [..., M, K] x b [..., K, N]) and linear (x W^T + b, PyTorch's layout).
#pragma once

#include "freqcap/autograd/ops_elementwise.hpp"
#include "freqcap/core/linalg.hpp"
#include "freqcap/kernels/gemm.hpp"

namespace freqcap {

namespace detail {
// How kernels::gemm reads a [rows, cols] matrix with strides (rs, cs): row-major
// with leading dimension rs, or (cs-major) transposed. False when neither fits.
inline bool gemm_operand(std::int64_t rows, std::int64_t cols, std::int64_t rs, std::int64_t cs, bool& trans,
                         std::size_t& ld) {
  if (cs == 1 && rs >= std::max<std::int64_t>(cols, 1)) {
    trans = false;
    ld = static_cast<std::size_t>(rs);
    return true;
  }
  if (rs == 1 && cs >= std::max<std::int64_t>(rows, 1)) {
    trans = true;
    ld = static_cast<std::size_t>(cs);
    return true;
  }
  return false;
}

/// a [..., M, K] x b [..., K, N]. Float matrices whose rows or columns are
/// unit-stride run on the dispatched SIMD GEMM in place (no copies); anything
/// else (double, odd strides) takes core's Eigen::Map path.
template <class T>
Tensor<T> mm(const Tensor<T>& a, const Tensor<T>& b) {
  if constexpr (std::is_same_v<T, float>) {
    if (a.ndim() >= 2 && b.ndim() >= 2 && a.dim(-1) == b.dim(-2)) {
      const std::int64_t M = a.dim(-2), K = a.dim(-1), N = b.dim(-1);
      bool ta = false, tb = false;
      std::size_t lda = 0, ldb = 0;
      if (M > 0 && N > 0 && K > 0 && gemm_operand(M, K, a.strides()[a.ndim() - 2], a.strides()[a.ndim() - 1], ta, lda) &&
          gemm_operand(K, N, b.strides()[b.ndim() - 2], b.strides()[b.ndim() - 1], tb, ldb)) {
        return batched_product(a, b, [&](const float* pa, const float* pb, float* pc) {
          kernels::gemm<float>(ta, tb, static_cast<std::size_t>(M), static_cast<std::size_t>(N),
                               static_cast<std::size_t>(K), 1.0f, pa, lda, pb, ldb, 0.0f, pc,
                               static_cast<std::size_t>(N));
        });
      }
    }
  }
  return matmul(a, b);
}
}  // namespace detail

/// Batched, broadcasting matrix product. dA = g B^T, dB = A^T g, each summed
/// back over broadcast batch dimensions.
template <class T>
Var<T> matmul(const Var<T>& a, const Var<T>& b) {
  return Var<T>::make(detail::mm(a.value(), b.value()), {a, b}, "matmul", [a, b](const Tensor<T>& g) {
    if (a.requires_grad()) a.accumulate(sum_to(detail::mm(g, b.value().transpose(-1, -2)), a.shape()));
    if (b.requires_grad()) b.accumulate(sum_to(detail::mm(a.value().transpose(-1, -2), g), b.shape()));
  });
}

namespace detail {
/// y [rows, n] (contiguous) += b [n] on every row.
template <class T>
void add_row_bias(Tensor<T>& y, const Tensor<T>& b) {
  const Tensor<T> bc = b.contiguous();
  const std::int64_t n = bc.numel(), rows = y.numel() / std::max<std::int64_t>(n, 1);
  T* py = y.data();
  const T* pb = bc.data();
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t j = 0; j < n; ++j) py[r * n + j] += pb[j];
}
/// Sums of g [rows, n] over its rows -> [n].
template <class T>
Tensor<T> column_sums(const Tensor<T>& g) {
  const Tensor<T> gc = g.contiguous();
  const std::int64_t rows = gc.dim(0), n = gc.dim(1);
  Tensor<T> out({n});
  T* po = out.data();
  const T* pg = gc.data();
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t j = 0; j < n; ++j) po[j] += pg[r * n + j];
  return out;
}
}  // namespace detail

/// y = x W^T (+ bias): x [..., in], weight [out, in], bias [out] or undefined.
template <class T>
Var<T> linear(const Var<T>& x, const Var<T>& weight, const Var<T>& bias = Var<T>()) {
  FREQCAP_CHECK(x.ndim() >= 1 && weight.ndim() == 2 && x.dim(-1) == weight.dim(1), "linear: input ",
                shape_str(x.shape()), " does not match weight ", shape_str(weight.shape()));
  Shape flat{-1, x.dim(-1)};
  Shape out_shape = x.shape();
  out_shape.back() = weight.dim(0);
  const Tensor<T> x2 = x.value().reshape(flat);
  Tensor<T> y = detail::mm(x2, weight.value().transpose(0, 1));
  if (bias.defined()) detail::add_row_bias(y, bias.value());
  return Var<T>::make(y.reshape(out_shape), {x, weight, bias}, "linear",
                      [x, weight, bias, x2](const Tensor<T>& g) {
                        const Tensor<T> g2 = g.reshape({-1, weight.dim(0)});
                        if (x.requires_grad()) x.accumulate(detail::mm(g2, weight.value()).reshape(x.shape()));
                        if (weight.requires_grad()) weight.accumulate(detail::mm(g2.transpose(0, 1), x2));
                        if (bias.defined() && bias.requires_grad()) bias.accumulate(detail::column_sums(g2));
                      });
}

}  // namespace freqcap
