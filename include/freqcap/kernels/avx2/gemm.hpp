// AVX2 SGEMM: a 6x16 register-blocked micro-kernel (12 ymm accumulators,
// two B vectors and one broadcast of A per k step) plugged into the packed,
// cache-blocked, OpenMP driver of kernels/gemm_blocked.hpp. Edge tiles use
// masked loads/stores on C, so any M, N, K works. One-row products (m == 1)
// stream B through simd/gemv.inc instead of packing it.
#pragma once

#include "freqcap/kernels/conv2d_packed.hpp"
#include "freqcap/kernels/gemm_blocked.hpp"
#include "freqcap/kernels/avx2/vec.hpp"
#include "freqcap/kernels/avx2/gemv.hpp"

#if FREQCAP_KERNELS_X86
#include <algorithm>
#include <cstddef>

namespace freqcap::kernels::avx2 {

/// The 6x16 micro-kernel and its blocking (A block 120x256 = 120 KB in L2,
/// B panel 256x16 = 16 KB in L1).
struct GemmMicro {
  static constexpr std::size_t MR = 6, NR = 16, MC = 120, KC = 256, NC = 3072;

  /// c[0:mr, 0:nr] (row stride ldc) += a_panel (kc x MR) * b_panel (kc x NR);
  /// with `init`, c[i, j] = init[i] + the product instead (C is not read).
  static void run(std::size_t kc, const float* a, const float* b, float* c, std::size_t ldc, std::size_t mr,
                  std::size_t nr, const float* init = nullptr) {
    if (init) run_as<true>(kc, a, b, c, ldc, mr, nr, init);
    else run_as<false>(kc, a, b, c, ldc, mr, nr, init);
  }

 private:
  template <bool Init>
  FREQCAP_TARGET_AVX2 static void run_as(std::size_t kc, const float* a, const float* b, float* c, std::size_t ldc,
                                          std::size_t mr, std::size_t nr, const float* init) {
    using namespace v;
    Vec c0[MR], c1[MR];
#pragma GCC unroll 6
    for (std::size_t i = 0; i < MR; ++i) c0[i] = c1[i] = zero();
    for (std::size_t p = 0; p < kc; ++p, a += MR, b += NR) {
      const Vec b0 = load(b), b1 = load(b + kWidth);
#pragma GCC unroll 6
      for (std::size_t i = 0; i < MR; ++i) {
        const Vec ai = set1(a[i]);
        c0[i] = fma(ai, b0, c0[i]);
        c1[i] = fma(ai, b1, c1[i]);
      }
    }
    if (mr == MR && nr == NR) {
#pragma GCC unroll 6
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
  kernels::detail::conv2d_forward_packed<GemmMicro>(s, x, w, bias, y);
}

}  // namespace freqcap::kernels::avx2

#endif  // FREQCAP_KERNELS_X86
