// AVX2 depthwise-convolution plane kernel (simd/depthwise.inc): all taps of
// an output row summed in registers over a zero-padded plane; same contract
// as depthwise_plane_scalar in kernels/conv2d_depthwise_plane.hpp.
#pragma once

#include "freqcap/kernels/conv2d_depthwise_plane.hpp"
#include "freqcap/kernels/avx2/vec.hpp"

#define FREQCAP_SIMD_NS avx2
#define FREQCAP_SIMD_TARGET FREQCAP_TARGET_AVX2
#define FREQCAP_SIMD_INLINE FREQCAP_INLINE_AVX2
#include "freqcap/kernels/simd/depthwise.inc"
#undef FREQCAP_SIMD_NS
#undef FREQCAP_SIMD_TARGET
#undef FREQCAP_SIMD_INLINE
