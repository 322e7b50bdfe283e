// The ISA-independent half of the packed GEMM (BLIS-style loop nest): cache
// blocking over N (NC), K (KC) and M (MC), packing of A into MR-row panels
// (alpha folded in) and of B into NR-column panels, zero-padded at the edges,
// and OpenMP over disjoint slabs of C. The ISA-specific half is a
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

/// A B panel read in place rather than packed: row p is the NR floats at
/// base + offs[p], any alignment (a tap of a padded image, conv2d_padded.hpp).
struct OffsetRows {
  const float* base;
  const std::ptrdiff_t* offs;
};
/// Row p of a B panel, packed (NR floats per row) or in place.
template <std::size_t NR> const float* b_row(const float* b, std::size_t p) { return b + p * NR; }
template <std::size_t NR> const float* b_row(OffsetRows b, std::size_t p) { return b.base + b.offs[p]; }

/// The micro-kernel contract in plain loops: C[0:mr, 0:nr] += A_p * B_p, with
/// A_p kc x MR packed as below and B_p kc x NR packed as below or read in place
/// (OffsetRows), or with `init` C[i, j] = init[i] + (A_p * B_p)[i, j] without
/// reading C (a convolution's first K block writes bias + product). The scalar
/// table runs the convolutions (conv2d_packed.hpp, conv2d_padded.hpp) with it:
/// the twin the SIMD micro-kernels are tested against there.
struct ScalarMicro {
  static constexpr std::size_t MR = 4, NR = 8, MC = 128, KC = 256, NC = 2048;
  template <class B>
  static void run(std::size_t kc, const float* a, B b, float* c, std::size_t ldc, std::size_t mr, std::size_t nr,
                  const float* init = nullptr) {
    float acc[MR][NR] = {};
    for (std::size_t p = 0; p < kc; ++p, a += MR) {
      const float* bp = b_row<NR>(b, p);
      for (std::size_t i = 0; i < MR; ++i)
        for (std::size_t j = 0; j < NR; ++j) acc[i][j] += a[i] * bp[j];
    }
    for (std::size_t i = 0; i < mr; ++i)
      for (std::size_t j = 0; j < nr; ++j) c[i * ldc + j] = (init ? init[i] : c[i * ldc + j]) + acc[i][j];
  }
};

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
  if (trans) {  // op(B)(p, j) = b[j * ldb + p]: read each row of B along p, in blocks of 16 p
    for (std::size_t pb = 0; pb < kc; pb += 16) {
      const std::size_t pn = std::min<std::size_t>(16, kc - pb);
      for (std::size_t j = 0; j < NR; ++j) {
        float* o = out + pb * NR + j;
        if (j < cols) {
          const float* src = b + (j0 + j) * ldb + p0 + pb;
          for (std::size_t p = 0; p < pn; ++p) o[p * NR] = src[p];
        } else {
          for (std::size_t p = 0; p < pn; ++p) o[p * NR] = 0.0f;
        }
      }
    }
    return;
  }
  for (std::size_t p = 0; p < kc; ++p, out += NR) {
    const float* src = b + (p0 + p) * ldb + j0;
    std::size_t j = 0;
    for (; j < cols; ++j) out[j] = src[j];
    for (; j < NR; ++j) out[j] = 0.0f;
  }
}

/// C[m, n] *= beta (beta == 0 writes zeros, ignoring NaN in C, as BLAS does).
inline void scale_c(float* c, std::size_t ldc, std::size_t m, std::size_t n, float beta) {
  if (beta == 1.0f) return;
  for (std::size_t i = 0; i < m; ++i) {
    float* ci = c + i * ldc;
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

/// One thread's blocked GEMM: C = alpha op(A) op(B) + beta C, packing into this
/// thread's scratch buffers.
template <class Micro>
void gemm_serial(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k,
                 float alpha, const float* a, std::size_t lda, const float* b, std::size_t ldb,
                 float beta, float* c, std::size_t ldc) {
  constexpr std::size_t MR = Micro::MR, NR = Micro::NR, MC = Micro::MC, KC = Micro::KC,
                        NC = Micro::NC;
  if (m == 0 || n == 0) return;
  // With beta 0 the first K block writes C (the micro-kernel's init rows
  // are zeros) rather than adding to a C zeroed by a pass of its own.
  static constexpr float zeros[MR] = {};
  const bool overwrite = beta == 0.0f && k > 0 && alpha != 0.0f;
  if (!overwrite) scale_c(c, ldc, m, n, beta);
  if (k == 0 || alpha == 0.0f) return;
  float* bp = scratch(Scratch::gemm_b).data(KC * (std::min(NC, n) + NR));
  float* ap = scratch(Scratch::gemm_a).data(MC * KC);
  for (std::size_t jc = 0; jc < n; jc += NC) {
    const std::size_t nc = std::min(NC, n - jc);
    for (std::size_t pc = 0; pc < k; pc += KC) {
      const std::size_t kc = std::min(KC, k - pc);
      for (std::size_t j = 0; j < nc; j += NR)
        pack_b_panel<NR>(trans_b, b, ldb, pc, kc, jc + j, std::min(NR, nc - j), bp + j * kc);
      for (std::size_t ic = 0; ic < m; ic += MC) {
        const std::size_t mc = std::min(MC, m - ic);
        pack_a<MR>(trans_a, a, lda, ic, mc, pc, kc, alpha, ap);
        for (std::size_t j = 0; j < nc; j += NR)
          for (std::size_t ir = 0; ir < mc; ir += MR)
            Micro::run(kc, ap + ir * kc, bp + j * kc, c + (ic + ir) * ldc + jc + j, ldc,
                       std::min(MR, mc - ir), std::min(NR, nc - j), overwrite && pc == 0 ? zeros : nullptr);
      }
    }
  }
}

/// One-row C = alpha * op(A) * op(B) + beta * C (m == 1) as a matrix-vector
/// product: `rows(n, k, alpha, x, b, ldb, beta, c)` for op(B) = B^T (dot
/// products with rows of B), `cols(...)` for op(B) = B (rows of B summed).
/// Packing would copy all of B to use each element once, so B is streamed
/// instead; threads split the n outputs.
template <class RowsFn, class ColsFn>
void gemv_blocked(RowsFn rows, ColsFn cols, bool trans_a, bool trans_b, std::size_t n, std::size_t k,
                  float alpha, const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta,
                  float* c) {
  if (n == 0) return;
  if (k == 0 || alpha == 0.0f) return scale_c(c, n, 1, n, beta);
  const float* x = a;
  if (trans_a && lda != 1) {  // op(A) is column 0 of A: gather it
    float* g = scratch(Scratch::gemm_a).data(k);
    for (std::size_t p = 0; p < k; ++p) g[p] = a[p * lda];
    x = g;
  }
  const std::size_t parts = std::min<std::size_t>(std::size_t(gemm_threads(1, n, k)), (n + 63) / 64);
  for_each_range(n, 64, parts, [&](std::size_t j0, std::size_t j1) {
    if (trans_b) rows(j1 - j0, k, alpha, x, b + j0 * ldb, ldb, beta, c + j0);
    else cols(j1 - j0, k, alpha, x, b + j0, ldb, beta, c + j0);
  });
}

/// Row-major C = alpha * op(A) * op(B) + beta * C with micro-kernel Micro.
/// Threads split C into disjoint column (or, when N is narrow, row) slabs and
/// each runs gemm_serial on its slab: one parallel region, no barriers inside,
/// which keeps OpenMP cheap even when the machine is oversubscribed.
template <class Micro>
void gemm_blocked(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k,
                  float alpha, const float* a, std::size_t lda, const float* b,
                  std::size_t ldb, float beta, float* c, std::size_t ldc) {
  constexpr std::size_t MR = Micro::MR, NR = Micro::NR;
  if (m == 0 || n == 0) return;
  const int threads = gemm_threads(m, n, k);
  if (threads <= 1) {
    gemm_serial<Micro>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  const std::size_t npanels = (n + NR - 1) / NR, mpanels = (m + MR - 1) / MR;
  const bool split_n = npanels >= 2 * std::size_t(threads) || npanels >= mpanels;
  const std::size_t units = split_n ? npanels : mpanels, unit = split_n ? NR : MR;
  const std::size_t parts = std::min<std::size_t>(std::size_t(threads), units);
  if (split_n) {
    for_each_range(n, unit, parts, [&](std::size_t j0, std::size_t j1) {
      gemm_serial<Micro>(trans_a, trans_b, m, j1 - j0, k, alpha, a, lda, trans_b ? b + j0 * ldb : b + j0, ldb,
                         beta, c + j0, ldc);
    });
  } else {
    for_each_range(m, unit, parts, [&](std::size_t i0, std::size_t i1) {
      gemm_serial<Micro>(trans_a, trans_b, i1 - i0, n, k, alpha, trans_a ? a + i0 : a + i0 * lda, lda, b, ldb,
                         beta, c + i0 * ldc, ldc);
    });
  }
}

}  // namespace freqcap::kernels::detail
