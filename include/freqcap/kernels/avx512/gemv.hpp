// AVX512 one-row GEMM (simd/gemv.inc): matrix-vector products that stream B
// instead of packing it; avx512::sgemm sends m == 1 here.
#pragma once

#include "freqcap/kernels/avx512/vec.hpp"

#define FREQCAP_SIMD_NS avx512
#define FREQCAP_SIMD_TARGET FREQCAP_TARGET_AVX512
#define FREQCAP_SIMD_INLINE FREQCAP_INLINE_AVX512
#include "freqcap/kernels/simd/gemv.inc"
#undef FREQCAP_SIMD_NS
#undef FREQCAP_SIMD_TARGET
#undef FREQCAP_SIMD_INLINE
