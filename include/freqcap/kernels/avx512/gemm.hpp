// AVX-512 SGEMM: simd/gemm_micro.inc's micro-kernel at 12x32 (24 zmm
// accumulators) plugged into the packed, cache-blocked, OpenMP driver of
// kernels/gemm_blocked.hpp. The packed convolution also runs an 8x32 twin
// (16 accumulators) for output-channel counts that 12 divides badly (16, 32,
// 40, 64, 128, ...): at one 512-bit FMA per cycle (Zen 4) the smaller block
// loses nothing, and the 12-row one computes up to 50% dead rows there (plain
// GEMMs measured no better with it). One-row products (m == 1) stream B
// through simd/gemv.inc instead of packing it.
#pragma once

#include "freqcap/kernels/conv2d_padded.hpp"
#include "freqcap/kernels/gemm_blocked.hpp"
#include "freqcap/kernels/avx512/vec.hpp"
#include "freqcap/kernels/avx512/gemv.hpp"

#if FREQCAP_KERNELS_X86
#include <algorithm>
#include <cstddef>

#define FREQCAP_SIMD_NS avx512
#define FREQCAP_SIMD_TARGET FREQCAP_TARGET_AVX512
#define FREQCAP_SIMD_INLINE FREQCAP_INLINE_AVX512
#include "freqcap/kernels/simd/gemm_micro.inc"
#undef FREQCAP_SIMD_NS
#undef FREQCAP_SIMD_TARGET
#undef FREQCAP_SIMD_INLINE

namespace freqcap::kernels::avx512 {

/// The 12x32 micro-kernel and its 8x32 twin (simd/gemm_micro.inc): A block
/// 192x256 ~ 192 KB in L2, B panel 256x32 = 32 KB in L1.
using GemmMicro = GemmMicroRows<12, 192>;
using GemmMicro8 = GemmMicroRows<8, 192>;

/// Whether a convolution with m output channels (per group) runs GemmMicro8:
/// when the 12-row kernel's last panel would waste more than 2% of m beyond
/// what 8 rows waste.
inline bool use_8_rows(std::size_t m) {
  const std::size_t w12 = (m + 11) / 12 * 12 - m, w8 = (m + 7) / 8 * 8 - m;
  return w12 > w8 && (w12 - w8) * 50 > m;
}

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
  if (use_8_rows(s.out_per_group())) return kernels::detail::conv2d_forward_gemm<GemmMicro8>(s, x, w, bias, y);
  kernels::detail::conv2d_forward_gemm<GemmMicro>(s, x, w, bias, y);
}

}  // namespace freqcap::kernels::avx512

#endif  // FREQCAP_KERNELS_X86
