// AVX-512 SGEMM: a 12x32 register-blocked micro-kernel (24 zmm accumulators,
// two B vectors and one broadcast of A per k step) plugged into the packed,
// cache-blocked, OpenMP driver of kernels/gemm_blocked.hpp. The packed
// convolution also has an 8x32 twin (16 accumulators) for output-channel
// counts that 12 divides badly (16, 32, 40, 64, 128, ...): at one 512-bit FMA
// per cycle (Zen 4) the smaller block loses nothing, and the 12-row one
// computes up to 50% dead rows there (plain GEMMs measured no better with it).
// Edge tiles use masked loads/stores on C, so any M, N, K works. One-row
// products (m == 1) stream B through simd/gemv.inc instead of packing it.
#pragma once

#include "freqcap/kernels/conv2d_packed.hpp"
#include "freqcap/kernels/gemm_blocked.hpp"
#include "freqcap/kernels/avx512/vec.hpp"
#include "freqcap/kernels/avx512/gemv.hpp"

#if FREQCAP_KERNELS_X86
#include <algorithm>
#include <cstddef>

namespace freqcap::kernels::avx512 {

/// The Rows x 32 micro-kernel and its blocking (A block 192x256 ~ 192 KB in
/// L2, B panel 256x32 = 32 KB in L1).
template <std::size_t Rows>
struct GemmMicroRows {
  static constexpr std::size_t MR = Rows, NR = 32, MC = 192, KC = 256, NC = 3072;

  /// c[0:mr, 0:nr] (row stride ldc) += a_panel (kc x MR) * b_panel (kc x NR);
  /// with `init`, c[i, j] = init[i] + the product instead (C is not read).
  static void run(std::size_t kc, const float* a, const float* b, float* c, std::size_t ldc, std::size_t mr,
                  std::size_t nr, const float* init = nullptr) {
    if (init) run_as<true>(kc, a, b, c, ldc, mr, nr, init);
    else run_as<false>(kc, a, b, c, ldc, mr, nr, init);
  }

 private:
  template <bool Init>
  FREQCAP_TARGET_AVX512 static void run_as(std::size_t kc, const float* a, const float* b, float* c, std::size_t ldc,
                                          std::size_t mr, std::size_t nr, const float* init) {
    using namespace v;
    Vec c0[MR], c1[MR];
#pragma GCC unroll 16
    for (std::size_t i = 0; i < MR; ++i) c0[i] = c1[i] = zero();
    for (std::size_t p = 0; p < kc; ++p, a += MR, b += NR) {
      const Vec b0 = load(b), b1 = load(b + kWidth);
#pragma GCC unroll 16
      for (std::size_t i = 0; i < MR; ++i) {
        const Vec ai = set1(a[i]);
        c0[i] = fma(ai, b0, c0[i]);
        c1[i] = fma(ai, b1, c1[i]);
      }
    }
    if (mr == MR && nr == NR) {
#pragma GCC unroll 16
      for (std::size_t i = 0; i < MR; ++i) {
        float* ci = c + i * ldc;
        store(ci, add(Init ? set1(init[i]) : load(ci), c0[i]));
        store(ci + kWidth, add(Init ? set1(init[i]) : load(ci + kWidth), c1[i]));
      }
      return;
    }
    const std::size_t w0 = std::min(nr, kWidth), w1 = nr > kWidth ? nr - kWidth : 0;
    for (std::size_t i = 0; i < mr; ++i) {
      float* ci = c + i * ldc;
      const Vec start = Init ? set1(init[i]) : zero();
      if (w0 == kWidth) store(ci, add(Init ? start : load(ci), c0[i]));
      else store_partial(ci, add(Init ? start : load_partial(ci, w0), c0[i]), w0);
      if (w1 == kWidth) store(ci + kWidth, add(Init ? start : load(ci + kWidth), c1[i]));
      else if (w1 > 0) store_partial(ci + kWidth, add(Init ? start : load_partial(ci + kWidth, w1), c1[i]), w1);
    }
  }
};

using GemmMicro = GemmMicroRows<12>;
using GemmMicro8 = GemmMicroRows<8>;

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

/// y = conv(x, w) + bias by the packed implicit-im2col GEMM; see kernels/conv2d_packed.hpp.
inline void conv2d_packed(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y) {
  if (use_8_rows(s.out_per_group())) return kernels::detail::conv2d_forward_packed<GemmMicro8>(s, x, w, bias, y);
  kernels::detail::conv2d_forward_packed<GemmMicro>(s, x, w, bias, y);
}

}  // namespace freqcap::kernels::avx512

#endif  // FREQCAP_KERNELS_X86
