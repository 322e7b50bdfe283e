// AVX2 softmax and log-softmax over the last axis of [rows, cols]: one
// vectorised pass for the row maximum, one for exp and the sum, one to scale.
// Rows are split over OpenMP threads when rows * cols >= kParallelMin.
#pragma once

#include "freqcap/kernels/table.hpp"
#include "freqcap/kernels/avx2/vec.hpp"

#define FREQCAP_SIMD_NS avx2
#define FREQCAP_SIMD_TARGET FREQCAP_TARGET_AVX2
#define FREQCAP_SIMD_INLINE FREQCAP_INLINE_AVX2
#include "freqcap/kernels/simd/softmax.inc"
#undef FREQCAP_SIMD_NS
#undef FREQCAP_SIMD_TARGET
#undef FREQCAP_SIMD_INLINE
