// The AVX2+FMA vector vocabulary (8 floats per register): load/store (full and
// masked), arithmetic, reductions, and the exp/tanh/erfc/sigmoid approximations
// the activation kernels use. Same names as avx512/vec.hpp, so each kernel reads
// the same way in both ISAs. Every function carries FREQCAP_INLINE_AVX2.
#pragma once

#include "freqcap/kernels/isa.hpp"

#if FREQCAP_KERNELS_X86
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

namespace freqcap::kernels::avx2::v {

using Vec = __m256;
inline constexpr std::size_t kWidth = 8;

FREQCAP_INLINE_AVX2 Vec zero() { return _mm256_setzero_ps(); }
FREQCAP_INLINE_AVX2 Vec set1(float x) { return _mm256_set1_ps(x); }
FREQCAP_INLINE_AVX2 Vec load(const float* p) { return _mm256_loadu_ps(p); }
FREQCAP_INLINE_AVX2 void store(float* p, Vec a) { _mm256_storeu_ps(p, a); }
FREQCAP_INLINE_AVX2 __m256i tail_mask(std::size_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
/// Loads the first n < kWidth floats of p; the other lanes are 0. Reads only p[0..n).
FREQCAP_INLINE_AVX2 Vec load_partial(const float* p, std::size_t n) {
  return _mm256_maskload_ps(p, tail_mask(n));
}
/// Like load_partial, but lanes >= n hold `fill` instead of 0.
FREQCAP_INLINE_AVX2 Vec load_partial_or(const float* p, std::size_t n, float fill) {
  const __m256i m = tail_mask(n);
  return _mm256_blendv_ps(set1(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
}
/// Lanes >= n set to 0.
FREQCAP_INLINE_AVX2 Vec keep_first(Vec a, std::size_t n) {
  return _mm256_and_ps(a, _mm256_castsi256_ps(tail_mask(n)));
}
/// Stores the first n < kWidth lanes to p; writes only p[0..n).
FREQCAP_INLINE_AVX2 void store_partial(float* p, Vec a, std::size_t n) {
  _mm256_maskstore_ps(p, tail_mask(n), a);
}
/// p[0], p[2], ..., p[14]: the even floats of p[0..16) (a stride-2 load).
FREQCAP_INLINE_AVX2 Vec load_even(const float* p) {
  // Per 128-bit lane: (p0 p2 p8 p10 | p4 p6 p12 p14), then swap the middle 64-bit pairs.
  const Vec t = _mm256_shuffle_ps(load(p), load(p + kWidth), _MM_SHUFFLE(2, 0, 2, 0));
  return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), _MM_SHUFFLE(3, 1, 2, 0)));
}
FREQCAP_INLINE_AVX2 Vec add(Vec a, Vec b) { return _mm256_add_ps(a, b); }
FREQCAP_INLINE_AVX2 Vec sub(Vec a, Vec b) { return _mm256_sub_ps(a, b); }
FREQCAP_INLINE_AVX2 Vec mul(Vec a, Vec b) { return _mm256_mul_ps(a, b); }
FREQCAP_INLINE_AVX2 Vec div(Vec a, Vec b) { return _mm256_div_ps(a, b); }
/// a * b + c, one rounding.
FREQCAP_INLINE_AVX2 Vec fma(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
FREQCAP_INLINE_AVX2 Vec max(Vec a, Vec b) { return _mm256_max_ps(a, b); }
FREQCAP_INLINE_AVX2 Vec min(Vec a, Vec b) { return _mm256_min_ps(a, b); }
FREQCAP_INLINE_AVX2 Vec abs(Vec a) {
  return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a);
}
/// (x > t) ? a : 0, lane-wise.
FREQCAP_INLINE_AVX2 Vec where_gt(Vec x, Vec t, Vec a) {
  return _mm256_and_ps(_mm256_cmp_ps(x, t, _CMP_GT_OQ), a);
}
/// (x < t) ? a : 0, lane-wise.
FREQCAP_INLINE_AVX2 Vec where_lt(Vec x, Vec t, Vec a) {
  return _mm256_and_ps(_mm256_cmp_ps(x, t, _CMP_LT_OQ), a);
}
/// (x < t) ? a : b, lane-wise.
FREQCAP_INLINE_AVX2 Vec select_lt(Vec x, Vec t, Vec a, Vec b) {
  return _mm256_blendv_ps(b, a, _mm256_cmp_ps(x, t, _CMP_LT_OQ));
}
/// Copies the sign bit of s onto |m|.
FREQCAP_INLINE_AVX2 Vec copysign(Vec m, Vec s) {
  const Vec sign = _mm256_set1_ps(-0.0f);
  return _mm256_or_ps(_mm256_andnot_ps(sign, m), _mm256_and_ps(sign, s));
}
FREQCAP_INLINE_AVX2 float reduce_add(Vec a) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
FREQCAP_INLINE_AVX2 float reduce_max(Vec a) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/// exp(x): Cody-Waite range reduction x = n ln2 + r and a degree-6 polynomial
/// (ref: Cephes expf). Max relative error ~2 ulp for x in [-87.3, 88.3];
/// below -87.3 returns 0 (std::exp would give a denormal), above 88.37 saturates.
FREQCAP_INLINE_AVX2 Vec exp(Vec x) {
  const Vec lo = set1(-87.3365447505531f);
  const Vec xc = min(max(x, lo), set1(88.3762626647949f));
  const Vec n = _mm256_round_ps(mul(xc, set1(1.44269504088896341f)),
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
  const __m256i e = _mm256_slli_epi32(
      _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  const Vec y = mul(p, _mm256_castsi256_ps(e));
  return _mm256_and_ps(_mm256_cmp_ps(x, lo, _CMP_GE_OQ), y);
}

#define FREQCAP_SIMD_INLINE FREQCAP_INLINE_AVX2
#include "freqcap/kernels/simd/vec_math.inc"
#undef FREQCAP_SIMD_INLINE

}  // namespace freqcap::kernels::avx2::v

#endif  // FREQCAP_KERNELS_X86
