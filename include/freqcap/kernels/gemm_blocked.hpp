// The ISA-independent half of the packed GEMM (BLIS-style loop nest): cache
// blocking over N (NC), K (KC) and M (MC), packing of A into MR-row panels
// (alpha folded in) and of B into NR-column panels, zero-padded at the edges,
// and OpenMP over (MC block x column group) tiles. The ISA-specific half is a
// Micro type (see avx2/gemm.hpp) with constants MR, NR, MC, KC, NC and
// `static void run(kc, a_panel, b_panel, c, ldc, mr, nr)` doing C += A_p * B_p.
#pragma once

#include <algorithm>
#include <cstddef>

#include "freqcap/kernels/table.hpp"
#include "freqcap/kernels/workspace.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace freqcap::kernels::detail {

/// Packs op(A)[i0 : i0+mc, p0 : p0+kc] * alpha into ceil(mc/MR) panels of kc*MR.
template <std::size_t MR>
void pack_a(bool trans, const float* a, std::size_t lda, std::size_t i0, std::size_t mc,
            std::size_t p0, std::size_t kc, float alpha, float* out) {
  for (std::size_t ir = 0; ir < mc; ir += MR) {
    const std::size_t rows = std::min(MR, mc - ir);
    float* o = out + ir * kc;
    for (std::size_t p = 0; p < kc; ++p, o += MR) {
      std::size_t i = 0;
      if (trans) {  // op(A)(i, p) = a[p * lda + i]: contiguous in i
        const float* src = a + (p0 + p) * lda + i0 + ir;
        for (; i < rows; ++i) o[i] = alpha * src[i];
      } else {
        const float* src = a + (i0 + ir) * lda + p0 + p;
        for (; i < rows; ++i) o[i] = alpha * src[i * lda];
      }
      for (; i < MR; ++i) o[i] = 0.0f;
    }
  }
}

/// Packs one NR-column panel of op(B)[p0 : p0+kc, j0 : j0+cols] into kc*NR.
template <std::size_t NR>
void pack_b_panel(bool trans, const float* b, std::size_t ldb, std::size_t p0, std::size_t kc,
                  std::size_t j0, std::size_t cols, float* out) {
  for (std::size_t p = 0; p < kc; ++p, out += NR) {
    std::size_t j = 0;
    if (trans) {  // op(B)(p, j) = b[j * ldb + p]
      const float* src = b + j0 * ldb + p0 + p;
      for (; j < cols; ++j) out[j] = src[j * ldb];
    } else {
      const float* src = b + (p0 + p) * ldb + j0;
      for (; j < cols; ++j) out[j] = src[j];
    }
    for (; j < NR; ++j) out[j] = 0.0f;
  }
}

/// C[m, n] *= beta (beta == 0 writes zeros, ignoring NaN in C, as BLAS does).
inline void scale_c(float* c, std::size_t ldc, std::size_t m, std::size_t n, float beta,
                    [[maybe_unused]] bool parallel) {
  if (beta == 1.0f) return;
  const auto rows = static_cast<std::ptrdiff_t>(m);
FREQCAP_OMP(parallel for schedule(static) if (parallel))
  for (std::ptrdiff_t i = 0; i < rows; ++i) {
    float* ci = c + static_cast<std::size_t>(i) * ldc;
    if (beta == 0.0f) std::fill(ci, ci + n, 0.0f);
    else
      for (std::size_t j = 0; j < n; ++j) ci[j] *= beta;
  }
}

/// Threads worth using for an m x n x k product (1 inside an enclosing parallel region).
inline int gemm_threads(std::size_t m, std::size_t n, std::size_t k) {
#if defined(_OPENMP)
  if (omp_in_parallel()) return 1;
  const double flops = 2.0 * double(m) * double(n) * double(k);
  if (flops < 2.0e6) return 1;
  return std::max(1, std::min(omp_get_max_threads(), int(flops / 1.0e6)));
#else
  (void)m, (void)n, (void)k;
  return 1;
#endif
}

/// Row-major C = alpha * op(A) * op(B) + beta * C with micro-kernel Micro.
template <class Micro>
void gemm_blocked(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k,
                  float alpha, const float* a, std::size_t lda, const float* b,
                  std::size_t ldb, float beta, float* c, std::size_t ldc) {
  constexpr std::size_t MR = Micro::MR, NR = Micro::NR, MC = Micro::MC, KC = Micro::KC,
                        NC = Micro::NC;
  if (m == 0 || n == 0) return;
  const int threads = gemm_threads(m, n, k);
  scale_c(c, ldc, m, n, beta, threads > 1 && m * n >= kParallelMin);
  if (k == 0 || alpha == 0.0f) return;

  float* bp = scratch(Scratch::gemm_b).data(KC * (std::min(NC, n) + NR));
  const std::size_t mblocks = (m + MC - 1) / MC;
  for (std::size_t jc = 0; jc < n; jc += NC) {
    const std::size_t nc = std::min(NC, n - jc);
    const std::size_t npanels = (nc + NR - 1) / NR;
    // Split columns into groups so that every thread gets a tile even when M is small.
    const std::size_t groups =
        std::min(npanels, std::max<std::size_t>(1, (2 * std::size_t(threads) + mblocks - 1) / mblocks));
    const std::size_t per_group = (npanels + groups - 1) / groups;
    const auto tasks = static_cast<std::ptrdiff_t>(mblocks * groups);
    for (std::size_t pc = 0; pc < k; pc += KC) {
      const std::size_t kc = std::min(KC, k - pc);
FREQCAP_OMP(parallel num_threads(threads) if (threads > 1))
      {
FREQCAP_OMP(for schedule(static))
        for (std::ptrdiff_t jp = 0; jp < static_cast<std::ptrdiff_t>(npanels); ++jp) {
          const std::size_t j = static_cast<std::size_t>(jp) * NR;
          pack_b_panel<NR>(trans_b, b, ldb, pc, kc, jc + j, std::min(NR, nc - j), bp + j * kc);
        }
        float* ap = scratch(Scratch::gemm_a).data(MC * KC);
        std::size_t packed_block = ~std::size_t{0};
FREQCAP_OMP(for schedule(static))
        for (std::ptrdiff_t t = 0; t < tasks; ++t) {
          const std::size_t ib = static_cast<std::size_t>(t) / groups;
          const std::size_t g = static_cast<std::size_t>(t) % groups;
          const std::size_t ic = ib * MC, mc = std::min(MC, m - ic);
          if (packed_block != ib) {
            pack_a<MR>(trans_a, a, lda, ic, mc, pc, kc, alpha, ap);
            packed_block = ib;
          }
          const std::size_t p_end = std::min(npanels, (g + 1) * per_group);
          for (std::size_t jp = g * per_group; jp < p_end; ++jp) {
            const std::size_t j = jp * NR, nr = std::min(NR, nc - j);
            for (std::size_t ir = 0; ir < mc; ir += MR)
              Micro::run(kc, ap + ir * kc, bp + j * kc, c + (ic + ir) * ldc + jc + j, ldc,
                         std::min(MR, mc - ir), nr);
          }
        }
      }
    }
  }
}

}  // namespace freqcap::kernels::detail
