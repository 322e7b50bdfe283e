// General matrix multiply, row-major: C = alpha * op(A) * op(B) + beta * C,
// op(X) = X or X^T, and its batched form over fixed strides. Holds the scalar
// reference (a plain triple loop, any T) and the public entry points: T = float
// runs the active KernelTable's packed SIMD sgemm (OpenMP inside), any other T
// (double for gradient checks) the scalar template.
#pragma once

#include <cstddef>
#include <type_traits>

#include "freqcap/kernels/table.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace freqcap::kernels {

/// C[m, n] = alpha * op(A)[m, k] * op(B)[k, n] + beta * C. Row-major with leading
/// dimensions (row strides) lda, ldb, ldc: A is stored [m, lda] (or [k, lda] when
/// trans_a), B is [k, ldb] (or [n, ldb] when trans_b). beta == 0 ignores C's contents.
template <class T>
void gemm_scalar(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k,
                 T alpha, const T* a, std::size_t lda, const T* b, std::size_t ldb, T beta,
                 T* c, std::size_t ldc) {
  for (std::size_t i = 0; i < m; ++i) {
    T* ci = c + i * ldc;
    for (std::size_t j = 0; j < n; ++j) ci[j] = beta == T(0) ? T(0) : beta * ci[j];
    for (std::size_t p = 0; p < k; ++p) {
      const T aip = alpha * (trans_a ? a[p * lda + i] : a[i * lda + p]);
      if (trans_b)
        for (std::size_t j = 0; j < n; ++j) ci[j] += aip * b[j * ldb + p];
      else
        for (std::size_t j = 0; j < n; ++j) ci[j] += aip * b[p * ldb + j];
    }
  }
}

/// C = alpha * op(A) * op(B) + beta * C; shapes as gemm_scalar.
template <class T>
void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k,
          std::type_identity_t<T> alpha, const T* a, std::size_t lda, const T* b, std::size_t ldb,
          std::type_identity_t<T> beta, T* c, std::size_t ldc) {
  if constexpr (std::is_same_v<T, float>)
    table().sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  else gemm_scalar(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

namespace detail {
/// Batched float GEMM through a given sgemm: threads over the batch when it has
/// at least as many items as threads (each sgemm then runs on one thread),
/// else one multi-threaded sgemm after another.
inline void sgemm_batched_with(SgemmFn f, bool trans_a, bool trans_b, std::size_t batch,
                               std::size_t m, std::size_t n, std::size_t k, float alpha,
                               const float* a, std::size_t lda, std::size_t stride_a,
                               const float* b, std::size_t ldb, std::size_t stride_b,
                               float beta, float* c, std::size_t ldc, std::size_t stride_c) {
  [[maybe_unused]] bool over_batch = false;
#if defined(_OPENMP)
  over_batch = batch > 1 && !omp_in_parallel() &&
               batch >= static_cast<std::size_t>(omp_get_max_threads());
#endif
  const auto nb = static_cast<std::ptrdiff_t>(batch);
FREQCAP_OMP(parallel for schedule(static) if (over_batch))
  for (std::ptrdiff_t i = 0; i < nb; ++i) {
    const auto u = static_cast<std::size_t>(i);
    f(trans_a, trans_b, m, n, k, alpha, a + u * stride_a, lda, b + u * stride_b, ldb, beta,
      c + u * stride_c, ldc);
  }
}
}  // namespace detail

/// For each i < batch: C_i = alpha * op(A_i) * op(B_i) + beta * C_i, where
/// A_i = a + i * stride_a (likewise B_i, C_i); per-item shapes as gemm_scalar.
/// A stride of 0 shares one matrix across the batch.
template <class T>
void gemm_batched(bool trans_a, bool trans_b, std::size_t batch, std::size_t m, std::size_t n,
                  std::size_t k, std::type_identity_t<T> alpha, const T* a, std::size_t lda,
                  std::size_t stride_a, const T* b, std::size_t ldb, std::size_t stride_b,
                  std::type_identity_t<T> beta, T* c, std::size_t ldc, std::size_t stride_c) {
  if constexpr (std::is_same_v<T, float>) {
    detail::sgemm_batched_with(table().sgemm, trans_a, trans_b, batch, m, n, k, alpha, a, lda,
                               stride_a, b, ldb, stride_b, beta, c, ldc, stride_c);
  } else {
    for (std::size_t i = 0; i < batch; ++i)
      gemm_scalar(trans_a, trans_b, m, n, k, alpha, a + i * stride_a, lda, b + i * stride_b,
                  ldb, beta, c + i * stride_c, ldc);
  }
}

}  // namespace freqcap::kernels

#include "freqcap/kernels/dispatch.hpp"
