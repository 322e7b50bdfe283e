// AVX512 depthwise-convolution kernels: the plane kernels (simd/depthwise.inc,
// all taps of an output row summed in registers over a zero-padded plane) and
// the channel-blocked kernels for small planes (simd/depthwise_small.inc);
// same contracts as their scalar twins in kernels/conv2d_depthwise_plane.hpp
// and kernels/conv2d_depthwise_small.hpp.
#pragma once

#include "freqcap/kernels/conv2d_depthwise_plane.hpp"
#include "freqcap/kernels/conv2d_depthwise_small.hpp"
#include "freqcap/kernels/workspace.hpp"
#include "freqcap/kernels/avx512/vec.hpp"

#define FREQCAP_SIMD_NS avx512
#define FREQCAP_SIMD_TARGET FREQCAP_TARGET_AVX512
#define FREQCAP_SIMD_INLINE FREQCAP_INLINE_AVX512
#include "freqcap/kernels/simd/depthwise.inc"
#include "freqcap/kernels/simd/depthwise_small.inc"
#undef FREQCAP_SIMD_NS
#undef FREQCAP_SIMD_TARGET
#undef FREQCAP_SIMD_INLINE
