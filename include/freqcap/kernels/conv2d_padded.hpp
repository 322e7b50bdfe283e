// 2-D convolution forward for stride 1 without packing the image: the input
// is copied once into a zero-padded buffer [N, C, H + 2 pad_h, W + 2 pad_w],
// where every tap (c, ki, kj) of every output pixel is a fixed offset from the
// pixel's own place. Output pixels are taken in padded-width rows ("virtual"
// pixels q = oy * Wp + ox, ox < Wp), so the im2col matrix's row r is the
// padded buffer itself shifted by offs[r], and the micro-kernel reads its B
// rows in place (GemmMicro::run with OffsetRows) instead of from packed panels.
// The (kernel_w - 1) * dilation_w columns past each output row are junk
// computed and then dropped when the block is copied to y. Same weights
// packing, K order and blocking as conv2d_packed.hpp, so the two give the same
// bits; this one skips the per-K-block packing of B, which pays unless the
// junk columns add many micro-kernel panels (padded_direct_pays).
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "freqcap/kernels/conv2d_packed.hpp"
#include "freqcap/kernels/conv2d_shape.hpp"
#include "freqcap/kernels/gemm_blocked.hpp"
#include "freqcap/kernels/isa.hpp"
#include "freqcap/kernels/workspace.hpp"

namespace freqcap::kernels::detail {

/// Whether conv2d_forward_padded can run s: stride 1 both ways (any padding,
/// dilation and groups).
inline bool padded_direct_applies(const Conv2dShape& s) { return s.stride_h == 1 && s.stride_w == 1; }

/// Micro-kernel panels (NR output pixels each) one image's group takes when
/// its `pixels` are split into conv_items' chunks.
template <class Micro> std::size_t conv_panels(const Conv2dShape& s, std::size_t pixels) {
  const std::size_t chunk = conv_items<Micro>(s, pixels).chunk;
  return pixels / chunk * ceil_div(chunk, Micro::NR) + ceil_div(pixels % chunk, Micro::NR);
}

/// Whether it beats the packed path: its junk columns cost at most 1/8 more
/// micro-kernel panels than the packed path runs (which then spends its time
/// packing). On Zen 4, one thread: 0.77-0.92x the packed time on 3x3 layers
/// from 7x7 to 56x56, 1.07x on 13x13 (7 panels against 6), 1.13x on 8x8 (3
/// against 2); see docs/kernels.md.
template <class Micro> bool padded_direct_pays(const Conv2dShape& s) {
  if (!padded_direct_applies(s) || s.is_pointwise()) return false;
  const std::size_t wpad = s.in_w + 2 * s.pad_w;
  return 8 * conv_panels<Micro>(s, s.out_h() * wpad) <= 9 * conv_panels<Micro>(s, s.col_cols());
}

/// Copies x [planes, H, W] into xp [planes, H + 2 pad_h, W + 2 pad_w] with zero borders.
inline void pad_planes(const Conv2dShape& s, std::size_t planes, const float* x, float* xp) {
  const std::size_t h = s.in_h, w = s.in_w, wp = w + 2 * s.pad_w, hp = h + 2 * s.pad_h;
  const auto n = static_cast<std::ptrdiff_t>(planes);
FREQCAP_OMP(parallel for schedule(static) if (worth_parallel(planes * hp * wp)))
  for (std::ptrdiff_t p = 0; p < n; ++p) {
    const float* src = x + std::size_t(p) * h * w;
    float* dst = xp + std::size_t(p) * hp * wp;
    std::fill(dst, dst + s.pad_h * wp, 0.0f);
    dst += s.pad_h * wp;
    for (std::size_t iy = 0; iy < h; ++iy, dst += wp, src += w) {
      std::fill(dst, dst + s.pad_w, 0.0f);
      std::copy(src, src + w, dst + s.pad_w);
      std::fill(dst + s.pad_w + w, dst + wp, 0.0f);
    }
    std::fill(dst, dst + s.pad_h * wp, 0.0f);
  }
}

/// y[i, oy, ox] = init[i] + sum_r w[i, r] xg[offs[r] + oy * wp + ox] for rows
/// i in [i0, i1) (i0 a multiple of MR) and the virtual pixels [q0, q1) of one
/// group; the block is computed into scratch and its valid columns (ox < ow)
/// copied to y (row stride ldy).
template <class Micro>
void padded_gemm_block(const float* xg, const std::ptrdiff_t* offs, std::size_t k, const float* wp,
                       const float* init, std::size_t m, std::size_t i0, std::size_t i1, std::size_t wpad,
                       std::size_t ow, float* y, std::size_t ldy, std::size_t q0, std::size_t q1) {
  constexpr std::size_t MR = Micro::MR, NR = Micro::NR, KC = Micro::KC;
  const std::size_t nc = q1 - q0, ldt = ceil_div(nc, NR) * NR, mp = ceil_div(m, MR) * MR;
  float* t = scratch(Scratch::gemm_b).data((i1 - i0) * ldt);
  for (std::size_t pc = 0; pc < k; pc += KC) {
    const std::size_t kc = std::min(KC, k - pc);
    const float* a = wp + pc * mp;
    for (std::size_t j = 0; j < nc; j += NR) {  // one B panel (in place) against every A panel
      const OffsetRows b{xg + q0 + j, offs + pc};
      for (std::size_t ir = i0; ir < i1; ir += MR)
        Micro::run(kc, a + ir * kc, b, t + (ir - i0) * ldt + j, ldt, std::min(MR, i1 - ir), std::min(NR, nc - j),
                   pc == 0 ? init + ir : nullptr);
    }
  }
  for (std::size_t q = q0; q < q1;) {  // one virtual row's segment at a time
    const std::size_t oy = q / wpad, ox = q % wpad, e = std::min(wpad, ox + (q1 - q));
    if (ox < ow)
      for (std::size_t i = i0; i < i1; ++i) {
        const float* src = t + (i - i0) * ldt + (q - q0);
        std::copy(src, src + (std::min(e, ow) - ox), y + i * ldy + oy * ow + ox);
      }
    q += e - ox;
  }
}

/// y = conv(x, w) + bias (bias may be nullptr) for padded_direct_applies(s);
/// work items as conv2d_forward_packed's, over virtual pixels.
template <class Micro>
void conv2d_forward_padded(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y) {
  constexpr std::size_t NR = Micro::NR;
  const std::size_t cg = s.in_per_group(), kg = s.out_per_group(), kk = s.col_rows(), ohw = s.col_cols(),
                    ow = s.out_w(), wpad = s.in_w + 2 * s.pad_w, plane = (s.in_h + 2 * s.pad_h) * wpad,
                    virt = s.out_h() * wpad;
  // The last B panel reads up to NR + the widest tap's columns past its group's planes.
  const std::size_t padded = s.batch * s.in_channels * plane, tail = NR + (s.kernel_w - 1) * s.dilation_w;
  float* xp = scratch(Scratch::im2col).data(padded + tail);
  pad_planes(s, s.batch * s.in_channels, x, xp);
  std::fill(xp + padded, xp + padded + tail, 0.0f);
  thread_local std::vector<std::ptrdiff_t> offs;
  offs.resize(kk);
  for (std::size_t r = 0; r < kk; ++r) {
    const std::size_t c = r / (s.kernel_h * s.kernel_w), ki = r / s.kernel_w % s.kernel_h, kj = r % s.kernel_w;
    offs[r] = std::ptrdiff_t(c * plane + ki * s.dilation_h * wpad + kj * s.dilation_w);
  }
  const ConvWeights wts = pack_conv_weights<Micro>(s, w, bias);
  const ConvItems items = conv_items<Micro>(s, virt);
  const std::ptrdiff_t* o = offs.data();
FREQCAP_OMP(parallel for schedule(static) num_threads(items.threads) if (items.threads > 1))
  for (std::ptrdiff_t item = 0; item < items.count(s.batch); ++item) {
    const ConvItem c = items.at(std::size_t(item), kg);
    padded_gemm_block<Micro>(xp + (c.n * s.in_channels + c.g * cg) * plane, o, kk, wts.packed + c.g * wts.per_group,
                             wts.init + c.g * kg, kg, c.i0, c.i1, wpad, ow, y + (c.n * s.out_channels + c.g * kg) * ohw,
                             ohw, c.q0, c.q1);
  }
}

/// y = conv(x, w) + bias by whichever GEMM path suits s: padded-direct where it
/// pays, else the packed implicit im2col. What each ISA's conv2d_packed runs.
template <class Micro>
void conv2d_forward_gemm(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y) {
  if (padded_direct_pays<Micro>(s)) conv2d_forward_padded<Micro>(s, x, w, bias, y);
  else conv2d_forward_packed<Micro>(s, x, w, bias, y);
}

}  // namespace freqcap::kernels::detail
