// AVX2 one-row GEMM (simd/gemv.inc): matrix-vector products that stream B
// instead of packing it; avx2::sgemm sends m == 1 here.
#pragma once

#include "freqcap/kernels/avx2/vec.hpp"

#define FREQCAP_SIMD_NS avx2
#define FREQCAP_SIMD_TARGET FREQCAP_TARGET_AVX2
#define FREQCAP_SIMD_INLINE FREQCAP_INLINE_AVX2
#include "freqcap/kernels/simd/gemv.inc"
#undef FREQCAP_SIMD_NS
#undef FREQCAP_SIMD_TARGET
#undef FREQCAP_SIMD_INLINE
