// AVX512 depthwise-convolution plane kernel (simd/depthwise.inc): all taps of
// an output row summed in registers over a zero-padded plane; same contract
// as depthwise_plane_scalar in kernels/conv2d_depthwise_plane.hpp.
#pragma once

#include "freqcap/kernels/conv2d_depthwise_plane.hpp"
#include "freqcap/kernels/avx512/vec.hpp"

#define FREQCAP_SIMD_NS avx512
#define FREQCAP_SIMD_TARGET FREQCAP_TARGET_AVX512
#define FREQCAP_SIMD_INLINE FREQCAP_INLINE_AVX512
#include "freqcap/kernels/simd/depthwise.inc"
#undef FREQCAP_SIMD_NS
#undef FREQCAP_SIMD_TARGET
#undef FREQCAP_SIMD_INLINE
