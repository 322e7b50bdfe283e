// AVX-512 softmax and log-softmax over the last axis of [rows, cols]: one
// vectorised pass for the row maximum, one for exp and the sum, one to scale.
// Rows are split over OpenMP threads when rows * cols >= kParallelMin.
#pragma once

#include "freqcap/kernels/table.hpp"
#include "freqcap/kernels/avx512/vec.hpp"

#define FREQCAP_SIMD_NS avx512
#define FREQCAP_SIMD_TARGET FREQCAP_TARGET_AVX512
#define FREQCAP_SIMD_INLINE FREQCAP_INLINE_AVX512
#include "freqcap/kernels/simd/softmax.inc"
#undef FREQCAP_SIMD_NS
#undef FREQCAP_SIMD_TARGET
#undef FREQCAP_SIMD_INLINE
