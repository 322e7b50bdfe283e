// The 2x2, stride-2 max pool without an argmax: the pooling between the
// backbones' conv blocks at inference. max_pool2d (autograd/ops_pool.hpp)
// sends it every plane whose windows are all whole when no graph is kept;
// anything else takes max_pool2d's general tap loops. Four outputs at a time
// with SSE2 shuffles (x86-64's baseline) beside the scalar twin the tests
// compare it with; both keep max_pool2d's rule: scanning a window in
// row-major order, a cell wins when it is strictly greater or NaN, so the
// first maximum (its sign, for zeros) or a NaN comes out.
#pragma once

#include <cstddef>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace freqcap::kernels {

/// The winner of a then b (b later in the window): b when greater or NaN.
inline float later_wins(float a, float b) { return (b > a || b != b) ? b : a; }

/// y[i, j] = the winner of x's window rows 2i, 2i+1 and columns 2j, 2j+1 for
/// a plane x [*, w] (row stride w) and y [ho, wo] with 2 ho, 2 wo within x.
inline void max_pool_2x2_scalar(const float* x, std::size_t w, std::size_t ho, std::size_t wo, float* y) {
  for (std::size_t i = 0; i < ho; ++i, y += wo) {
    const float *r0 = x + 2 * i * w, *r1 = r0 + w;
    for (std::size_t j = 0; j < wo; ++j)
      y[j] = later_wins(later_wins(r0[2 * j], r0[2 * j + 1]), later_wins(r1[2 * j], r1[2 * j + 1]));
  }
}

#if defined(__SSE2__)
namespace detail {
inline __m128 later_wins(__m128 a, __m128 b) {
  const __m128 take = _mm_or_ps(_mm_cmpgt_ps(b, a), _mm_cmpunord_ps(b, b));
  return _mm_or_ps(_mm_and_ps(take, b), _mm_andnot_ps(take, a));
}
/// The winners of the four column pairs of row r's eight floats.
inline __m128 pair_winners(const float* r) {
  const __m128 lo = _mm_loadu_ps(r), hi = _mm_loadu_ps(r + 4);
  return later_wins(_mm_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0)), _mm_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1)));
}
}  // namespace detail
#endif

/// max_pool_2x2_scalar's result, four outputs at a time where SSE2 exists.
inline void max_pool_2x2(const float* x, std::size_t w, std::size_t ho, std::size_t wo, float* y) {
#if defined(__SSE2__)
  const std::size_t wv = wo / 4 * 4;
  for (std::size_t i = 0; i < ho; ++i) {
    const float *r0 = x + 2 * i * w, *r1 = r0 + w;
    float* yr = y + i * wo;
    for (std::size_t j = 0; j < wv; j += 4)
      _mm_storeu_ps(yr + j, detail::later_wins(detail::pair_winners(r0 + 2 * j), detail::pair_winners(r1 + 2 * j)));
    if (wv < wo) max_pool_2x2_scalar(r0 + 2 * wv, w, 1, wo - wv, yr + wv);
  }
#else
  max_pool_2x2_scalar(x, w, ho, wo, y);
#endif
}

}  // namespace freqcap::kernels
