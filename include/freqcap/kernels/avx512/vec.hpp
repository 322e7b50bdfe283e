// The AVX-512 vector vocabulary (16 floats per register): load/store (full and
// masked), arithmetic, reductions, and the exp/tanh/erfc/sigmoid approximations
// the activation kernels use. Same names as avx2/vec.hpp, so each kernel reads
// the same way in both ISAs. Every function carries FREQCAP_INLINE_AVX512.
#pragma once

#include "freqcap/kernels/isa.hpp"

#if FREQCAP_KERNELS_X86
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

namespace freqcap::kernels::avx512::v {

using Vec = __m512;
inline constexpr std::size_t kWidth = 16;

FREQCAP_INLINE_AVX512 Vec zero() { return _mm512_setzero_ps(); }
FREQCAP_INLINE_AVX512 Vec set1(float x) { return _mm512_set1_ps(x); }
FREQCAP_INLINE_AVX512 Vec load(const float* p) { return _mm512_loadu_ps(p); }
FREQCAP_INLINE_AVX512 void store(float* p, Vec a) { _mm512_storeu_ps(p, a); }
FREQCAP_INLINE_AVX512 __mmask16 tail_mask(std::size_t n) {
  return static_cast<__mmask16>((1u << n) - 1u);
}
/// Loads the first n < kWidth floats of p; the other lanes are 0. Reads only p[0..n).
FREQCAP_INLINE_AVX512 Vec load_partial(const float* p, std::size_t n) {
  return _mm512_maskz_loadu_ps(tail_mask(n), p);
}
/// Like load_partial, but lanes >= n hold `fill` instead of 0.
FREQCAP_INLINE_AVX512 Vec load_partial_or(const float* p, std::size_t n, float fill) {
  return _mm512_mask_loadu_ps(set1(fill), tail_mask(n), p);
}
/// Lanes >= n set to 0.
FREQCAP_INLINE_AVX512 Vec keep_first(Vec a, std::size_t n) { return _mm512_maskz_mov_ps(tail_mask(n), a); }
/// Stores the first n < kWidth lanes to p; writes only p[0..n).
FREQCAP_INLINE_AVX512 void store_partial(float* p, Vec a, std::size_t n) {
  _mm512_mask_storeu_ps(p, tail_mask(n), a);
}
/// p[0], p[2], ..., p[30]: the even floats of p[0..32) (a stride-2 load).
FREQCAP_INLINE_AVX512 Vec load_even(const float* p) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  return _mm512_permutex2var_ps(load(p), even, load(p + kWidth));
}
FREQCAP_INLINE_AVX512 Vec add(Vec a, Vec b) { return _mm512_add_ps(a, b); }
FREQCAP_INLINE_AVX512 Vec sub(Vec a, Vec b) { return _mm512_sub_ps(a, b); }
FREQCAP_INLINE_AVX512 Vec mul(Vec a, Vec b) { return _mm512_mul_ps(a, b); }
FREQCAP_INLINE_AVX512 Vec div(Vec a, Vec b) { return _mm512_div_ps(a, b); }
/// a * b + c, one rounding.
FREQCAP_INLINE_AVX512 Vec fma(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
// GCC 12's plain forms of max/min/roundscale/cvt/slli/extract pass an
// "undefined" source that -Wmaybe-uninitialized flags (GCC PR 105593), so the
// all-lanes masked forms are used instead; they compile to the same instruction.
inline constexpr __mmask16 kAll = 0xFFFF;
FREQCAP_INLINE_AVX512 Vec max(Vec a, Vec b) { return _mm512_maskz_max_ps(kAll, a, b); }
FREQCAP_INLINE_AVX512 Vec min(Vec a, Vec b) { return _mm512_maskz_min_ps(kAll, a, b); }
FREQCAP_INLINE_AVX512 Vec abs(Vec a) { return _mm512_abs_ps(a); }
/// (x > t) ? a : 0, lane-wise.
FREQCAP_INLINE_AVX512 Vec where_gt(Vec x, Vec t, Vec a) {
  return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, t, _CMP_GT_OQ), a);
}
/// (x < t) ? a : 0, lane-wise.
FREQCAP_INLINE_AVX512 Vec where_lt(Vec x, Vec t, Vec a) {
  return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, t, _CMP_LT_OQ), a);
}
/// (x < t) ? a : b, lane-wise.
FREQCAP_INLINE_AVX512 Vec select_lt(Vec x, Vec t, Vec a, Vec b) {
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, t, _CMP_LT_OQ), b, a);
}
/// Copies the sign bit of s onto |m|.
FREQCAP_INLINE_AVX512 Vec copysign(Vec m, Vec s) {
  const __m512i sign = _mm512_set1_epi32(INT32_MIN);
  return _mm512_castsi512_ps(_mm512_ternarylogic_epi32(
      sign, _mm512_castps_si512(s), _mm512_castps_si512(m), 0xCA));  // sign bit ? s : m
}
FREQCAP_INLINE_AVX512 __m256 low_half(Vec a) { return _mm512_maskz_extractf32x8_ps(0xFF, a, 0); }
FREQCAP_INLINE_AVX512 __m256 high_half(Vec a) { return _mm512_maskz_extractf32x8_ps(0xFF, a, 1); }
FREQCAP_INLINE_AVX512 float reduce_add(Vec a) {
  const __m256 h = _mm256_add_ps(low_half(a), high_half(a));
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
FREQCAP_INLINE_AVX512 float reduce_max(Vec a) {
  const __m256 h = _mm256_max_ps(low_half(a), high_half(a));
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/// exp(x): Cody-Waite range reduction x = n ln2 + r and a degree-6 polynomial
/// (ref: Cephes expf). Max relative error ~2 ulp for x in [-87.3, 88.3];
/// below -87.3 returns 0 (std::exp would give a denormal), above 88.37 saturates.
FREQCAP_INLINE_AVX512 Vec exp(Vec x) {
  const Vec lo = set1(-87.3365447505531f);
  const Vec xc = min(max(x, lo), set1(88.3762626647949f));
  const Vec n = _mm512_maskz_roundscale_ps(kAll, mul(xc, set1(1.44269504088896341f)),
                                           _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  Vec r = fma(n, set1(-0.693359375f), xc);
  r = fma(n, set1(2.12194440e-4f), r);
  Vec p = set1(1.9875691500e-4f);
  p = fma(p, r, set1(1.3981999507e-3f));
  p = fma(p, r, set1(8.3334519073e-3f));
  p = fma(p, r, set1(4.1665795894e-2f));
  p = fma(p, r, set1(1.6666665459e-1f));
  p = fma(p, r, set1(5.0000001201e-1f));
  p = fma(p, mul(r, r), add(r, set1(1.0f)));
  const __m512i e = _mm512_maskz_slli_epi32(
      kAll, _mm512_add_epi32(_mm512_maskz_cvtps_epi32(kAll, n), _mm512_set1_epi32(127)), 23);
  const Vec y = mul(p, _mm512_castsi512_ps(e));
  return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, lo, _CMP_GE_OQ), y);
}

#define FREQCAP_SIMD_INLINE FREQCAP_INLINE_AVX512
#include "freqcap/kernels/simd/vec_math.inc"
#undef FREQCAP_SIMD_INLINE

}  // namespace freqcap::kernels::avx512::v

#endif  // FREQCAP_KERNELS_X86
