// AVX2 elementwise kernels: add/sub/mul/div, axpb, and every activation's
// forward and backward, each a small functor mapped over the array by map1 /
// map2 (full vectors, then one masked tail (AVX maskload); OpenMP over 4K-element chunks when
// n >= kParallelMin). Same signatures as the scalar references in
// kernels/elementwise.hpp.
#pragma once

#include "freqcap/kernels/table.hpp"
#include "freqcap/kernels/avx2/vec.hpp"

#define FREQCAP_SIMD_NS avx2
#define FREQCAP_SIMD_TARGET FREQCAP_TARGET_AVX2
#define FREQCAP_SIMD_INLINE FREQCAP_INLINE_AVX2
#include "freqcap/kernels/simd/elementwise.inc"
#undef FREQCAP_SIMD_NS
#undef FREQCAP_SIMD_TARGET
#undef FREQCAP_SIMD_INLINE
