// 2-D convolution forward without packing the image ("padded-direct"). The
// input is copied once into zero-padded phase planes: with strides (sh, sw),
// channel c of the padded image xpad [Hp, Wp] (Hp = H + 2 pad_h) becomes
// sh * sw planes [Hq, Wq] (Hq = ceil(Hp / sh)), plane (p, q) holding
// xpad[sh i + p, sw j + q] at [i, j]; at stride 1 that is the padded image
// itself. Tap (c, ki, kj) of output pixel (oy, ox) then reads plane
// ((ki dh) % sh, (kj dw) % sw) at row oy + (ki dh) / sh, column
// ox + (kj dw) / sw: a fixed offset from the pixel's "virtual" index
// q = oy * Wq + ox. So the im2col matrix's row r is the buffer shifted by
// offs[r], and the micro-kernel reads its B rows in place (GemmMicro::run
// with OffsetRows) instead of from packed panels. Each virtual row's
// Wq - OW columns past the output row are junk, computed and dropped when the
// block is copied to y. Same weights packing, K order and blocking as
// conv2d_packed.hpp, so the two give the same bits; this one skips the
// per-K-block packing of B, which pays unless the junk columns add many
// micro-kernel panels (padded_direct_pays).
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "freqcap/kernels/conv2d_packed.hpp"
#include "freqcap/kernels/conv2d_shape.hpp"
#include "freqcap/kernels/gemm_blocked.hpp"
#include "freqcap/kernels/isa.hpp"
#include "freqcap/kernels/workspace.hpp"

#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

namespace freqcap::kernels::detail {

/// The phase-plane layout of conv2d_forward_padded for shape s.
struct PhasePlanes {
  std::size_t hq, wq;  ///< one phase plane's rows and columns
  std::size_t plane;   ///< floats per input channel: sh * sw phase planes
  explicit PhasePlanes(const Conv2dShape& s)
      : hq(ceil_div(s.in_h + 2 * s.pad_h, s.stride_h)),
        wq(ceil_div(s.in_w + 2 * s.pad_w, s.stride_w)),
        plane(s.stride_h * s.stride_w * hq * wq) {}
  /// Where tap (c, ki, kj) of virtual pixel 0 reads.
  std::ptrdiff_t offset(const Conv2dShape& s, std::size_t c, std::size_t ki, std::size_t kj) const {
    const std::size_t dy = ki * s.dilation_h, dx = kj * s.dilation_w;
    const std::size_t phase = (dy % s.stride_h) * s.stride_w + dx % s.stride_w;
    return std::ptrdiff_t(c * plane + phase * hq * wq + dy / s.stride_h * wq + dx / s.stride_w);
  }
};

/// Micro-kernel panels (NR output pixels each) one image's group takes when
/// its `pixels` are split into conv_items' chunks.
template <class Micro> std::size_t conv_panels(const Conv2dShape& s, std::size_t pixels) {
  const std::size_t chunk = conv_items<Micro>(s, pixels).chunk;
  return pixels / chunk * ceil_div(chunk, Micro::NR) + ceil_div(pixels % chunk, Micro::NR);
}

/// Whether conv2d_forward_padded splits each image where its work items run
/// (one thread, or at least two images a thread), so the planes are read
/// from cache, rather than the whole batch up front.
inline bool splits_per_image(const Conv2dShape& s, int threads) {
  return threads == 1 || s.batch >= 2 * std::size_t(threads);
}

/// Whether it beats the packed path: not 1x1 (nothing to gain over packing
/// its image rows; a strided 1x1 would split phases it never reads); strided 3x3 and 5x5 only
/// when each image is split where it is used (0.43-0.94x the packed time;
/// split up front for the batch, 0.93-1.27x), larger strided kernels always
/// (stems: 0.62-0.78x); and its junk columns adding at most 1/8 more
/// micro-kernel panels than the packed path runs (8x8 3x3 layers: 3 panels
/// against 2, 1.13-1.25x; 13x13: 7 against 6, 1.06-1.17x). docs/kernels.md
/// has the measurements.
template <class Micro> bool padded_direct_pays(const Conv2dShape& s) {
  const std::size_t taps = s.kernel_h * s.kernel_w;
  if (taps == 1) return false;
  const int threads = gemm_threads(s.out_channels, s.batch * s.col_cols(), s.col_rows());
  if ((s.stride_h > 1 || s.stride_w > 1) && taps < 49 && !splits_per_image(s, threads)) return false;
  return 8 * conv_panels<Micro>(s, s.out_h() * PhasePlanes(s).wq) <= 9 * conv_panels<Micro>(s, s.col_cols());
}

/// dst[q * plane + j] = row[sw * j + q] for j < wq and each phase q < sw (sw >= 2):
/// one padded image row dealt into the sw column phases' rows.
inline void deal_columns(const float* row, std::size_t sw, std::size_t wq, float* dst, std::size_t plane) {
  std::size_t j = 0;
#if defined(__SSE2__)
  if (sw == 2)
    for (; j + 4 <= wq; j += 4) {
      const __m128 lo = _mm_loadu_ps(row + 2 * j), hi = _mm_loadu_ps(row + 2 * j + 4);
      _mm_storeu_ps(dst + j, _mm_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0)));
      _mm_storeu_ps(dst + plane + j, _mm_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1)));
    }
#endif
  for (; j < wq; ++j)
    for (std::size_t q = 0; q < sw; ++q) dst[q * plane + j] = row[sw * j + q];
}

/// Splits x [channels, H, W] into xp [channels, sh * sw, Hq, Wq], the
/// zero-padded phase planes (over the threads when `parallel` and worth it).
inline void split_phases(const Conv2dShape& s, std::size_t channels, const float* x, float* xp, bool parallel = true) {
  const PhasePlanes pp(s);
  const std::size_t sh = s.stride_h, sw = s.stride_w, h = s.in_h, w = s.in_w, wq = pp.wq, plane = pp.hq * wq;
  const auto n = static_cast<std::ptrdiff_t>(channels * sh);
FREQCAP_OMP(parallel for schedule(static) if (parallel && worth_parallel(channels * pp.plane)))
  for (std::ptrdiff_t cp = 0; cp < n; ++cp) {  // channel c, row phase p: planes (p, 0..sw)
    const std::size_t c = std::size_t(cp) / sh, p = std::size_t(cp) % sh;
    float* planes = xp + c * pp.plane + p * sw * plane;
    thread_local std::vector<float> row;  // strided: one padded row, zero but for [pad_w, pad_w + w)
    if (sw > 1) row.assign(sw * wq, 0.0f);  // sw * wq >= w + 2 pad_w
    for (std::size_t i = 0; i < pp.hq; ++i) {
      const std::size_t r = sh * i + p;  // row of the padded image
      float* dst = planes + i * wq;
      if (r < s.pad_h || r >= s.pad_h + h) {
        for (std::size_t q = 0; q < sw; ++q) std::fill_n(dst + q * plane, wq, 0.0f);
        continue;
      }
      const float* src = x + (c * h + r - s.pad_h) * w;
      if (sw == 1) {  // straight into the plane: wq = w + 2 pad_w
        std::fill_n(dst, s.pad_w, 0.0f);
        std::copy(src, src + w, dst + s.pad_w);
        std::fill(dst + s.pad_w + w, dst + wq, 0.0f);
        continue;
      }
      std::copy(src, src + w, row.data() + s.pad_w);
      deal_columns(row.data(), sw, wq, dst, plane);
    }
  }
}

/// y[i, oy, ox] = init[i] + sum_r w[i, r] xg[offs[r] + oy * wq + ox] for rows
/// i in [i0, i1) (i0 a multiple of MR) and the virtual pixels [q0, q1) of one
/// group; the block is computed into scratch and its valid columns (ox < ow)
/// copied to y (row stride ldy).
template <class Micro>
void padded_gemm_block(const float* xg, const std::ptrdiff_t* offs, std::size_t k, const float* wp,
                       const float* init, std::size_t m, std::size_t i0, std::size_t i1, std::size_t wq,
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
    const std::size_t oy = q / wq, ox = q % wq, e = std::min(wq, ox + (q1 - q));
    if (ox < ow)
      for (std::size_t i = i0; i < i1; ++i) {
        const float* src = t + (i - i0) * ldt + (q - q0);
        std::copy(src, src + (std::min(e, ow) - ox), y + i * ldy + oy * ow + ox);
      }
    q += e - ox;
  }
}

/// y = conv(x, w) + bias (bias may be nullptr), any shape; work items as
/// conv2d_forward_packed's, over virtual pixels.
template <class Micro>
void conv2d_forward_padded(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y) {
  constexpr std::size_t NR = Micro::NR;
  const std::size_t cg = s.in_per_group(), kg = s.out_per_group(), kk = s.col_rows(), ohw = s.col_cols();
  const PhasePlanes pp(s);
  // The last B panel reads up to NR + the widest tap's columns past its group's planes.
  const std::size_t tail = NR + (s.kernel_w - 1) * s.dilation_w;
  thread_local std::vector<std::ptrdiff_t> offs;
  offs.resize(kk);
  for (std::size_t r = 0; r < kk; ++r)
    offs[r] = pp.offset(s, r / (s.kernel_h * s.kernel_w), r / s.kernel_w % s.kernel_h, r % s.kernel_w);
  const ConvWeights wts = pack_conv_weights<Micro>(s, w, bias);
  const ConvItems items = conv_items<Micro>(s, s.out_h() * pp.wq);
  const std::ptrdiff_t* o = offs.data();
  auto run = [&](const float* xn, std::ptrdiff_t item) {  // xn: the planes of item's image
    const ConvItem c = items.at(std::size_t(item), kg);
    padded_gemm_block<Micro>(xn + c.g * cg * pp.plane, o, kk, wts.packed + c.g * wts.per_group,
                             wts.init + c.g * kg, kg, c.i0, c.i1, pp.wq, s.out_w(),
                             y + (c.n * s.out_channels + c.g * kg) * ohw, ohw, c.q0, c.q1);
  };
  const std::size_t image = s.in_channels * pp.plane;
  const auto per_image = items.count(1);
  if (splits_per_image(s, items.threads)) {  // into the thread's own buffer
FREQCAP_OMP(parallel for schedule(static) num_threads(items.threads) if (items.threads > 1))
    for (std::ptrdiff_t n = 0; n < std::ptrdiff_t(s.batch); ++n) {
      float* xp = scratch(Scratch::im2col).data(image + tail);
      split_phases(s, s.in_channels, x + std::size_t(n) * s.in_channels * s.in_h * s.in_w, xp, false);
      std::fill(xp + image, xp + image + tail, 0.0f);
      for (std::ptrdiff_t it = 0; it < per_image; ++it) run(xp, n * per_image + it);
    }
    return;
  }
  float* xp = scratch(Scratch::im2col).data(s.batch * image + tail);
  split_phases(s, s.batch * s.in_channels, x, xp);
  std::fill(xp + s.batch * image, xp + s.batch * image + tail, 0.0f);
FREQCAP_OMP(parallel for schedule(static) num_threads(items.threads) if (items.threads > 1))
  for (std::ptrdiff_t item = 0; item < items.count(s.batch); ++item)
    run(xp + items.at(std::size_t(item), kg).n * image, item);
}

/// y = conv(x, w) + bias by whichever GEMM path suits s: padded-direct where it
/// pays, else the packed implicit im2col. What each ISA's conv2d_packed runs.
template <class Micro>
void conv2d_forward_gemm(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y) {
  if (padded_direct_pays<Micro>(s)) conv2d_forward_padded<Micro>(s, x, w, bias, y);
  else conv2d_forward_packed<Micro>(s, x, w, bias, y);
}

}  // namespace freqcap::kernels::detail
