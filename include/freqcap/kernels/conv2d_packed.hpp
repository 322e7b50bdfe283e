// 2-D convolution forward as a GEMM whose B operand is packed straight from
// the image (implicit im2col). The kc x NR panels the micro-kernel reads
// (kernels/gemm_blocked.hpp) are filled from x [C/groups, H, W] one output-row
// segment at a time, so no im2col matrix is written and read back, and the
// weights are packed once per call instead of once per pixel chunk. Any
// stride, padding, dilation and groups. Each ISA instantiates
// conv2d_forward_packed with its micro-kernel; the scalar table uses
// ScalarMicro, the twin the tests compare the SIMD versions with.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "freqcap/kernels/conv2d_shape.hpp"
#include "freqcap/kernels/conv2d_taps.hpp"
#include "freqcap/kernels/gemm_blocked.hpp"
#include "freqcap/kernels/isa.hpp"
#include "freqcap/kernels/workspace.hpp"

namespace freqcap::kernels::detail {

/// Output pixels one work item covers at most: its packed B block (KC x this
/// many floats, 256 KB) stays in L2.
inline constexpr std::size_t kConvPixelChunk = 256;

inline std::size_t ceil_div(std::size_t a, std::size_t b) { return (a + b - 1) / b; }

/// Packs rows [r0, r0 + kc) and columns (output pixels) [q0, q0 + nc) of one
/// group's im2col matrix into ceil(nc / NR) panels of kc x NR (panel p at
/// out + p * kc * NR; columns past nc zero), reading the group's input
/// x [C/groups, H, W] directly. Each im2col row is walked once, one output row
/// of the chunk at a time, and its pieces land in the panels they belong to.
template <std::size_t NR>
void pack_b_im2col(const Conv2dShape& s, const float* x, std::size_t r0, std::size_t kc, std::size_t q0,
                   std::size_t nc, float* out) {
  struct Run {  // chunk columns [j, j + n) are output row oy from column ox
    std::size_t j, n, oy, ox;
  };
  thread_local std::vector<Run> runs;
  runs.clear();
  const std::size_t ow = s.out_w(), plane = s.in_h * s.in_w, panel = kc * NR;
  for (std::size_t j = 0; j < nc;) {
    const std::size_t q = q0 + j, ox = q % ow, n = std::min(nc - j, ow - ox);
    runs.push_back({j, n, q / ow, ox});
    j += n;
  }
  // Writes n values src[0], src[stride], ... (zeros when src is null) to chunk
  // columns [j, j + n) of panel row rr, splitting at panel edges.
  const auto put = [&](std::size_t rr, std::size_t j, std::size_t n, const float* src, std::size_t stride) {
    while (n > 0) {
      const std::size_t col = j % NR, len = std::min(n, NR - col);
      float* dst = out + (j / NR) * panel + rr * NR + col;
      if (!src)
        for (std::size_t i = 0; i < len; ++i) dst[i] = 0.0f;
      else if (stride != 1)
        for (std::size_t i = 0; i < len; ++i) dst[i] = src[i * stride];
      else if (len == NR)  // a whole panel row: a fixed-size copy the compiler keeps in vectors
        std::copy_n(src, NR, dst);
      else
        for (std::size_t i = 0; i < len; ++i) dst[i] = src[i];
      if (src) src += len * stride;
      j += len;
      n -= len;
    }
  };
  const std::size_t rs = s.kernel_h * s.kernel_w;
  std::size_t c = r0 / rs, ki = (r0 % rs) / s.kernel_w, kj = r0 % s.kernel_w;
  for (std::size_t rr = 0; rr < kc; ++rr) {
    const TapColumns tc = tap_columns(s, kj);
    const float* xc = x + c * plane;
    for (const Run& u : runs) {
      const std::ptrdiff_t iy = tap_row(s, u.oy, ki);
      if (iy < 0) {
        put(rr, u.j, u.n, nullptr, 0);
        continue;
      }
      // Output columns [ox, ox + n): zeros left of tc.lo, input inside, zeros from tc.hi.
      const std::size_t e = u.ox + u.n, lo = std::clamp(std::size_t(tc.lo), u.ox, e),
                        hi = std::clamp(std::size_t(tc.hi), lo, e);
      put(rr, u.j, lo - u.ox, nullptr, 0);
      put(rr, u.j + (lo - u.ox), hi - lo,
          xc + std::size_t(iy) * s.in_w + std::size_t(std::ptrdiff_t(lo * s.stride_w) + tc.off), s.stride_w);
      put(rr, u.j + (hi - u.ox), e - hi, nullptr, 0);
    }
    if (nc % NR)  // the last panel's columns past nc
      put(rr, nc, NR - nc % NR, nullptr, 0);
    if (++kj == s.kernel_w) {
      kj = 0;
      if (++ki == s.kernel_h) ki = 0, ++c;
    }
  }
}

/// Floats packed_weights<Micro> writes for an m x k weight matrix.
template <class Micro> std::size_t packed_weights_size(std::size_t m, std::size_t k) {
  return ceil_div(m, Micro::MR) * Micro::MR * k;
}

/// Packs w [m, k] (row-major) for conv_gemm_block: KC-row block pc starts at
/// out + pc * round_up(m, MR) and holds ceil(m / MR) panels of kc x MR.
template <class Micro> void pack_weights(const float* w, std::size_t m, std::size_t k, float* out) {
  const std::size_t mp = ceil_div(m, Micro::MR) * Micro::MR;
  for (std::size_t pc = 0; pc < k; pc += Micro::KC)
    pack_a<Micro::MR>(false, w, k, 0, m, pc, std::min(Micro::KC, k - pc), 1.0f, out + pc * mp);
}

/// y[i, q] += sum_r w[i, r] col[r, q] for rows i in [i0, i1) (i0 a multiple
/// of MR) and pixels q in [q0, q1), where col is the im2col matrix of one
/// group's input x and wp its m-row weights packed by pack_weights. y has row stride ldy.
template <class Micro>
void conv_gemm_block(const Conv2dShape& s, const float* x, const float* wp, std::size_t m, std::size_t i0,
                     std::size_t i1, float* y, std::size_t ldy, std::size_t q0, std::size_t q1) {
  constexpr std::size_t MR = Micro::MR, NR = Micro::NR, KC = Micro::KC;
  const std::size_t k = s.col_rows(), mp = ceil_div(m, MR) * MR, nc = q1 - q0;
  float* bp = scratch(Scratch::gemm_b).data(KC * ceil_div(nc, NR) * NR);
  for (std::size_t pc = 0; pc < k; pc += KC) {
    const std::size_t kc = std::min(KC, k - pc);
    pack_b_im2col<NR>(s, x, pc, kc, q0, nc, bp);
    const float* a = wp + pc * mp;
    for (std::size_t j = 0; j < nc; j += NR)  // one B panel in L1 against every A panel
      for (std::size_t ir = i0; ir < i1; ir += MR)
        Micro::run(kc, a + ir * kc, bp + j * kc, y + ir * ldy + q0 + j, ldy, std::min(MR, i1 - ir),
                   std::min(NR, nc - j));
  }
}

/// y = conv(x, w) + bias (bias may be nullptr); shapes as kernels::conv2d_forward.
/// Work items are (image, group, pixel chunk, row block); chunks shrink and
/// row blocks appear only when there are fewer items than twice the threads.
template <class Micro>
void conv2d_forward_packed(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y) {
  constexpr std::size_t MR = Micro::MR, NR = Micro::NR;
  const std::size_t cg = s.in_per_group(), kg = s.out_per_group(), kk = s.col_rows(), ohw = s.col_cols(),
                    hw = s.in_h * s.in_w, per_group = packed_weights_size<Micro>(kg, kk);
  float* wp = scratch(Scratch::conv_weights).data(per_group * s.groups);
  for (std::size_t g = 0; g < s.groups; ++g) pack_weights<Micro>(w + g * kg * kk, kg, kk, wp + g * per_group);

  const int threads = gemm_threads(s.out_channels, s.batch * ohw, kk);
  const std::size_t images = s.batch * s.groups, want = threads > 1 ? 2 * std::size_t(threads) : 1,
                    mpanels = ceil_div(kg, MR);
  std::size_t chunks = ceil_div(ohw, kConvPixelChunk);
  if (images * chunks < want) chunks = std::min(ceil_div(ohw, NR), ceil_div(want, images));
  const std::size_t chunk = ceil_div(ceil_div(ohw, chunks), NR) * NR;
  chunks = ceil_div(ohw, chunk);
  const std::size_t mparts = images * chunks < want ? std::min(mpanels, ceil_div(want, images * chunks)) : 1;

  const auto items = static_cast<std::ptrdiff_t>(images * chunks * mparts);
FREQCAP_OMP(parallel for schedule(static) num_threads(threads) if (threads > 1))
  for (std::ptrdiff_t item = 0; item < items; ++item) {
    const std::size_t it = std::size_t(item), part = it % mparts, ch = (it / mparts) % chunks,
                      image = it / (mparts * chunks), n = image / s.groups, g = image % s.groups;
    const std::size_t i0 = mpanels * part / mparts * MR, i1 = std::min(kg, mpanels * (part + 1) / mparts * MR);
    const std::size_t q0 = ch * chunk, q1 = std::min(ohw, q0 + chunk);
    float* yg = y + (n * s.out_channels + g * kg) * ohw;
    for (std::size_t i = i0; i < i1; ++i) std::fill(yg + i * ohw + q0, yg + i * ohw + q1, bias ? bias[g * kg + i] : 0.0f);
    conv_gemm_block<Micro>(s, x + (n * s.in_channels + g * cg) * hw, wp + g * per_group, kg, i0, i1, yg, ohw, q0,
                           q1);
  }
}

}  // namespace freqcap::kernels::detail
