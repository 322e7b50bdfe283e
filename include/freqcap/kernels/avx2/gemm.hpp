// AVX2 SGEMM: simd/gemm_micro.inc's micro-kernel at 6x16 (12 ymm
// accumulators) plugged into the packed, cache-blocked, OpenMP driver of
// kernels/gemm_blocked.hpp. One-row products (m == 1) stream B through
// simd/gemv.inc instead of packing it.
#pragma once

#include "freqcap/kernels/conv2d_padded.hpp"
#include "freqcap/kernels/gemm_blocked.hpp"
#include "freqcap/kernels/avx2/vec.hpp"
#include "freqcap/kernels/avx2/gemv.hpp"

#if FREQCAP_KERNELS_X86
#include <algorithm>
#include <cstddef>

#define FREQCAP_SIMD_NS avx2
#define FREQCAP_SIMD_TARGET FREQCAP_TARGET_AVX2
#define FREQCAP_SIMD_INLINE FREQCAP_INLINE_AVX2
#include "freqcap/kernels/simd/gemm_micro.inc"
#undef FREQCAP_SIMD_NS
#undef FREQCAP_SIMD_TARGET
#undef FREQCAP_SIMD_INLINE

namespace freqcap::kernels::avx2 {

/// The 6x16 micro-kernel (simd/gemm_micro.inc): A block 120x256 = 120 KB in
/// L2, B panel 256x16 = 16 KB in L1.
using GemmMicro = GemmMicroRows<6, 120>;

/// Row-major C = alpha * op(A) * op(B) + beta * C; see kernels/gemm.hpp.
inline void sgemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k,
                  float alpha, const float* a, std::size_t lda, const float* b,
                  std::size_t ldb, float beta, float* c, std::size_t ldc) {
  if (m == 1)
    return kernels::detail::gemv_blocked(&gemv_rows, &gemv_cols, trans_a, trans_b, n, k, alpha, a, lda, b, ldb,
                                         beta, c);
  kernels::detail::gemm_blocked<GemmMicro>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb,
                                           beta, c, ldc);
}

/// y = conv(x, w) + bias by an implicit-im2col GEMM: padded-direct where it pays, else
/// packed; see kernels/conv2d_padded.hpp and kernels/conv2d_packed.hpp.
inline void conv2d_packed(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y) {
  kernels::detail::conv2d_forward_gemm<GemmMicro>(s, x, w, bias, y);
}

}  // namespace freqcap::kernels::avx2

#endif  // FREQCAP_KERNELS_X86
