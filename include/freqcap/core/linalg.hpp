// Matrix products on tensors through Eigen::Map: each [M, K] matrix of a
// tensor is mapped in place with its own strides (so transposed and sliced
// views multiply without copies), and the product is written straight into
// the output tensor's memory.
#pragma once

#include <Eigen/Core>

#include "freqcap/core/tensor_ops.hpp"

namespace freqcap {

namespace detail {
template <class T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using DynStride = Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>;

template <class T>
auto map_matrix(const T* p, std::int64_t rows, std::int64_t cols, std::int64_t rs, std::int64_t cs) {
  // Eigen wants non-zero strides even for size-1 dimensions.
  return Eigen::Map<const RowMatrix<T>, Eigen::Unaligned, DynStride>(
      p, rows, cols, DynStride(rs == 0 ? cols : rs, cs == 0 ? 1 : cs));
}
}  // namespace detail

/// The batching of a matrix product: checks a [..., M, K] x b [..., K, N],
/// broadcasts the batch dimensions, allocates out [..., M, N] and calls
/// product(A, B, C) with the first element of each batch item's matrices
/// (A and B keep their input strides; C is contiguous [M, N]).
template <class T, class Product>
Tensor<T> batched_product(const Tensor<T>& a, const Tensor<T>& b, Product&& product) {
  FREQCAP_CHECK(a.ndim() >= 2 && b.ndim() >= 2, "matmul needs matrices, got shapes ",
                shape_str(a.shape()), " and ", shape_str(b.shape()));
  const std::int64_t M = a.dim(-2), K = a.dim(-1), N = b.dim(-1);
  FREQCAP_CHECK(b.dim(-2) == K, "matmul: inner dimensions differ in shapes ", shape_str(a.shape()),
                " and ", shape_str(b.shape()));
  const Shape ab(a.shape().begin(), a.shape().end() - 2), bb(b.shape().begin(), b.shape().end() - 2);
  const Shape batch = broadcast_shapes(ab, bb);
  Shape out_shape = batch;
  out_shape.push_back(M);
  out_shape.push_back(N);
  Tensor<T> out = Tensor<T>::empty(out_shape);
  const Strides as(a.strides().begin(), a.strides().end() - 2), bs(b.strides().begin(), b.strides().end() - 2);
  T* o = out.data();
  detail::for_each_broadcast2(batch, broadcast_strides(ab, as, batch), broadcast_strides(bb, bs, batch),
                              [&](std::int64_t i, std::int64_t oa, std::int64_t ob) {
                                product(a.data() + oa, b.data() + ob, o + i * M * N);
                              });
  return out;
}

/// Matrix product with NumPy/PyTorch batching: a [..., M, K] x b [..., K, N]
/// -> [..., M, N]; leading (batch) dimensions broadcast. Both inputs need at
/// least two dimensions. No input is copied, whatever its strides.
template <class T>
Tensor<T> matmul(const Tensor<T>& a, const Tensor<T>& b) {
  return batched_product(a, b, [&](const T* pa, const T* pb, T* pc) {
    const std::int64_t M = a.dim(-2), K = a.dim(-1), N = b.dim(-1);
    auto A = detail::map_matrix(pa, M, K, a.strides()[a.ndim() - 2], a.strides()[a.ndim() - 1]);
    auto B = detail::map_matrix(pb, K, N, b.strides()[b.ndim() - 2], b.strides()[b.ndim() - 1]);
    Eigen::Map<detail::RowMatrix<T>> C(pc, M, N);
    if (K == 0) C.setZero();
    else C.noalias() = A * B;
  });
}

}  // namespace freqcap
