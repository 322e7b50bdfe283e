// 2-D convolution forward as a GEMM whose B operand is packed straight from
// the image (implicit im2col). The kc x NR panels the micro-kernel reads
// (kernels/gemm_blocked.hpp) are filled from x [C/groups, H, W] one output-row
// segment at a time, so no im2col matrix is written and read back, and the
// weights are packed once per call instead of once per pixel chunk. Any
// stride, padding, dilation and groups. Each ISA's conv2d_packed runs it
// through conv2d_forward_gemm (conv2d_padded.hpp), which takes the
// padded-direct path instead where that pays; the scalar table uses
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

/// Where one im2col row's values go in a block of kc x NR panels, for one
/// kernel column kj: `pieces` of at most one panel row each, with the
/// input row they read from per kernel row ki.
struct PackPlan {
  struct Piece {
    std::size_t dst, len;  ///< offset of the first value in panel row 0 of the block; count
    std::ptrdiff_t src;    ///< input column of the first value, or -1: zeros
    std::size_t run;       ///< which output row of the chunk (index into rows)
  };
  std::vector<Piece> pieces;            ///< kj = 0's, then kj = 1's, ...
  std::vector<std::size_t> begin;       ///< pieces of kj: [begin[kj], begin[kj + 1])
  std::vector<std::ptrdiff_t> rows;     ///< rows[run * kernel_h + ki]: the input row, or -1 (outside)
};

/// The plan for output pixels [q0, q0 + nc) of a block of panels kc rows high.
template <std::size_t NR>
void plan_im2col_block(const Conv2dShape& s, std::size_t q0, std::size_t nc, std::size_t kc, PackPlan& plan) {
  plan.pieces.clear();
  plan.begin.clear();
  plan.rows.clear();
  const std::size_t ow = s.out_w(), panel = kc * NR;
  // Splits chunk columns [j, j + n) at panel edges; src advances with them.
  const auto add = [&](std::size_t run, std::size_t j, std::size_t n, std::ptrdiff_t src) {
    while (n > 0) {
      const std::size_t len = std::min(n, NR - j % NR);
      plan.pieces.push_back({(j / NR) * panel + j % NR, len, src, run});
      if (src >= 0) src += std::ptrdiff_t(len * s.stride_w);
      j += len;
      n -= len;
    }
  };
  std::size_t runs = 0;
  for (std::size_t j = 0; j < nc; ++runs) {
    const std::size_t oy = (q0 + j) / ow, ox = (q0 + j) % ow, n = std::min(nc - j, ow - ox);
    for (std::size_t ki = 0; ki < s.kernel_h; ++ki) plan.rows.push_back(tap_row(s, oy, ki));
    j += n;
  }
  for (std::size_t kj = 0; kj < s.kernel_w; ++kj) {
    plan.begin.push_back(plan.pieces.size());
    const TapColumns tc = tap_columns(s, kj);
    std::size_t run = 0;
    for (std::size_t j = 0; j < nc; ++run) {
      const std::size_t ox = (q0 + j) % ow, e = std::min(ow, ox + (nc - j));
      // Output columns [ox, e): zeros left of tc.lo, input inside, zeros from tc.hi.
      const std::size_t lo = std::clamp(std::size_t(tc.lo), ox, e), hi = std::clamp(std::size_t(tc.hi), lo, e);
      add(run, j, lo - ox, -1);
      add(run, j + (lo - ox), hi - lo, std::ptrdiff_t(lo * s.stride_w) + tc.off);
      add(run, j + (hi - ox), e - hi, -1);
      j += e - ox;
    }
    if (nc % NR) add(0, nc, NR - nc % NR, -1);  // the last panel's columns past nc
  }
  plan.begin.push_back(plan.pieces.size());
}

/// Packs rows [r0, r0 + kc) and columns (output pixels) [q0, q0 + nc) of one
/// group's im2col matrix into ceil(nc / NR) panels of kc x NR (panel p at
/// out + p * kc * NR; columns past nc zero), reading the group's input
/// x [C/groups, H, W] directly. The plan (where each output row's pieces go)
/// is made once per block, so a row of the matrix is a list of short copies.
template <std::size_t NR>
void pack_b_im2col(const Conv2dShape& s, const float* x, std::size_t r0, std::size_t kc, std::size_t q0,
                   std::size_t nc, float* out) {
  thread_local PackPlan plan;
  plan_im2col_block<NR>(s, q0, nc, kc, plan);
  const std::size_t rs = s.kernel_h * s.kernel_w, plane = s.in_h * s.in_w, sw = s.stride_w, kh = s.kernel_h;
  std::size_t c = r0 / rs, ki = (r0 % rs) / s.kernel_w, kj = r0 % s.kernel_w;
  for (std::size_t rr = 0; rr < kc; ++rr) {
    const float* xc = x + c * plane;
    float* row = out + rr * NR;
    for (std::size_t i = plan.begin[kj]; i < plan.begin[kj + 1]; ++i) {
      const PackPlan::Piece& p = plan.pieces[i];
      float* dst = row + p.dst;
      const std::ptrdiff_t iy = p.src < 0 ? -1 : plan.rows[p.run * kh + ki];
      if (iy < 0) {
        for (std::size_t k = 0; k < p.len; ++k) dst[k] = 0.0f;
        continue;
      }
      const float* src = xc + std::size_t(iy) * s.in_w + std::size_t(p.src);
      if (sw == 2)  // a constant stride the compiler vectorises (even lanes of pairs of vectors)
        for (std::size_t k = 0; k < p.len; ++k) dst[k] = src[2 * k];
      else if (sw != 1)
        for (std::size_t k = 0; k < p.len; ++k) dst[k] = src[k * sw];
      else if (p.len == NR)  // a whole panel row: a fixed-size copy the compiler keeps in vectors
        std::copy_n(src, NR, dst);
      else  // short pieces (narrow planes): a loop, not a library call
        for (std::size_t k = 0; k < p.len; ++k) dst[k] = src[k];
    }
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

/// y[i, q] = init[i] + sum_r w[i, r] col[r, q] for rows i in [i0, i1) (i0 a
/// multiple of MR) and pixels q in [q0, q1), where col is the im2col matrix of
/// one group's input x and wp its m-row weights packed by pack_conv_weights. y has
/// row stride ldy and is only written (the first K block stores init + its
/// product, the later ones add theirs).
template <class Micro>
void conv_gemm_block(const Conv2dShape& s, const float* x, const float* wp, const float* init, std::size_t m,
                     std::size_t i0, std::size_t i1, float* y, std::size_t ldy, std::size_t q0, std::size_t q1) {
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
                   std::min(NR, nc - j), pc == 0 ? init + ir : nullptr);
  }
}

/// conv_gemm_block over every pixel and output channel of `images`
/// consecutive images (groups 1) whose planes hold a whole number of NR-wide
/// panels: their columns are packed side by side, so each weights panel
/// read from L2 serves every image's panels, not one small map's few.
template <class Micro>
void conv_gemm_images(const Conv2dShape& s, const float* x, std::size_t images, const float* wp, const float* init,
                      float* y) {
  constexpr std::size_t MR = Micro::MR, NR = Micro::NR, KC = Micro::KC;
  const std::size_t k = s.col_rows(), m = s.out_channels, mp = ceil_div(m, MR) * MR, ohw = s.col_cols(),
                    nc = images * ohw, in = s.in_channels * s.in_h * s.in_w;
  float* bp = scratch(Scratch::gemm_b).data(KC * nc);
  for (std::size_t pc = 0; pc < k; pc += KC) {
    const std::size_t kc = std::min(KC, k - pc);
    for (std::size_t n = 0; n < images; ++n) pack_b_im2col<NR>(s, x + n * in, pc, kc, 0, ohw, bp + n * ohw * kc);
    const float* a = wp + pc * mp;
    for (std::size_t j = 0; j < nc; j += NR) {  // one B panel in L1 against every A panel
      float* yj = y + j / ohw * m * ohw + j % ohw;
      for (std::size_t ir = 0; ir < m; ir += MR)
        Micro::run(kc, a + ir * kc, bp + j * kc, yj + ir * ohw, ohw, std::min(MR, m - ir), NR,
                   pc == 0 ? init + ir : nullptr);
    }
  }
}

/// A convolution's weights packed per group (group g at packed + g *
/// per_group; there, KC-row block pc starts at pc * round_up(m, MR) and holds
/// ceil(m / MR) panels of kc x MR, m the group's rows) and each output
/// channel's start (bias or 0), in the calling thread's scratch.
struct ConvWeights {
  const float* packed;
  const float* init;
  std::size_t per_group;
};
template <class Micro> ConvWeights pack_conv_weights(const Conv2dShape& s, const float* w, const float* bias) {
  const std::size_t kg = s.out_per_group(), kk = s.col_rows(), per_group = packed_weights_size<Micro>(kg, kk);
  float* wp = scratch(Scratch::conv_weights).data(per_group * s.groups + s.out_channels);
  // One (group, KC block) a task, over the threads: at batch 1 the packing of
  // a large layer's weights is a pass as long as a share of its product.
  const std::size_t mp = ceil_div(kg, Micro::MR) * Micro::MR, blocks = ceil_div(kk, Micro::KC);
  const auto tasks = static_cast<std::ptrdiff_t>(s.groups * blocks);
FREQCAP_OMP(parallel for schedule(static) if (worth_parallel(s.out_channels * kk)))
  for (std::ptrdiff_t t = 0; t < tasks; ++t) {
    const std::size_t g = std::size_t(t) / blocks, pc = std::size_t(t) % blocks * Micro::KC;
    pack_a<Micro::MR>(false, w + g * kg * kk, kk, 0, kg, pc, std::min(Micro::KC, kk - pc), 1.0f,
                      wp + g * per_group + pc * mp);
  }
  float* init = wp + per_group * s.groups;
  for (std::size_t i = 0; i < s.out_channels; ++i) init[i] = bias ? bias[i] : 0.0f;
  return {wp, init, per_group};
}

/// One work item: image n, group g, output rows [i0, i1) of the group, pixels [q0, q1).
struct ConvItem {
  std::size_t n, g, i0, i1, q0, q1;
};
/// A convolution's work items (image, group, pixel chunk, row block) over
/// `pixels` output pixels per image: chunks shrink and row blocks appear only
/// when there are fewer items than twice the threads. The chunks share the
/// image's NR-pixel panels as evenly as whole panels allow (at most `chunk`
/// pixels each): 13 panels in 4 chunks are 3, 3, 3, 4, not 4, 4, 4, 1, which
/// left one of two threads 8 panels against 5 (ResNet-50's 19x19 layers at
/// batch 1).
struct ConvItems {
  int threads;
  std::size_t groups, pixels, chunk, chunks, mparts, mpanels, mr, nr;
  std::ptrdiff_t count(std::size_t batch) const {
    return static_cast<std::ptrdiff_t>(batch * groups * chunks * mparts);
  }
  ConvItem at(std::size_t it, std::size_t rows) const {
    const std::size_t part = it % mparts, ch = (it / mparts) % chunks, image = it / (mparts * chunks);
    const std::size_t panels = ceil_div(pixels, nr);
    return {image / groups, image % groups, mpanels * part / mparts * mr,
            std::min(rows, mpanels * (part + 1) / mparts * mr), panels * ch / chunks * nr,
            std::min(pixels, panels * (ch + 1) / chunks * nr)};
  }
};
template <class Micro> ConvItems conv_items(const Conv2dShape& s, std::size_t pixels) {
  constexpr std::size_t NR = Micro::NR;
  const int threads = gemm_threads(s.out_channels, s.batch * s.col_cols(), s.col_rows());
  const std::size_t images = s.batch * s.groups, want = threads > 1 ? 2 * std::size_t(threads) : 1,
                    mpanels = ceil_div(s.out_per_group(), Micro::MR);
  std::size_t chunks = ceil_div(pixels, kConvPixelChunk);
  if (images * chunks < want) chunks = std::min(ceil_div(pixels, NR), ceil_div(want, images));
  const std::size_t chunk = ceil_div(ceil_div(pixels, chunks), NR) * NR;
  chunks = ceil_div(pixels, chunk);
  const std::size_t mparts = images * chunks < want ? std::min(mpanels, ceil_div(want, images * chunks)) : 1;
  return {threads, s.groups, pixels, chunk, chunks, mparts, mpanels, Micro::MR, NR};
}

/// y = conv(x, w) + bias (bias may be nullptr); shapes as kernels::conv2d_forward.
template <class Micro>
void conv2d_forward_packed(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y) {
  const std::size_t cg = s.in_per_group(), kg = s.out_per_group(), ohw = s.col_cols(), hw = s.in_h * s.in_w;
  const ConvWeights wts = pack_conv_weights<Micro>(s, w, bias);
  const ConvItems items = conv_items<Micro>(s, ohw);
  // Small planes of whole panels (8x8 at NR 32): several images a work item.
  const std::size_t per = ohw % Micro::NR == 0 && s.groups == 1 ? kConvPixelChunk / ohw : 1;
  if (per > 1 && (items.threads == 1 || s.batch >= 2 * per * std::size_t(items.threads))) {
    const auto blocks = static_cast<std::ptrdiff_t>(ceil_div(s.batch, per));
FREQCAP_OMP(parallel for schedule(static) num_threads(items.threads) if (items.threads > 1))
    for (std::ptrdiff_t b = 0; b < blocks; ++b) {
      const std::size_t n0 = std::size_t(b) * per;
      conv_gemm_images<Micro>(s, x + n0 * s.in_channels * hw, std::min(per, s.batch - n0), wts.packed, wts.init,
                              y + n0 * s.out_channels * ohw);
    }
    return;
  }
FREQCAP_OMP(parallel for schedule(static) num_threads(items.threads) if (items.threads > 1))
  for (std::ptrdiff_t item = 0; item < items.count(s.batch); ++item) {
    const ConvItem c = items.at(std::size_t(item), kg);
    conv_gemm_block<Micro>(s, x + (c.n * s.in_channels + c.g * cg) * hw, wts.packed + c.g * wts.per_group,
                           wts.init + c.g * kg, kg, c.i0, c.i1, y + (c.n * s.out_channels + c.g * kg) * ohw, ohw,
                           c.q0, c.q1);
  }
}

}  // namespace freqcap::kernels::detail
