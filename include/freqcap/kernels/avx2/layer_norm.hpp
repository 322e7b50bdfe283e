// AVX2 layer norm over the last axis of [rows, cols]: forward (two-pass
// mean / variance per row, then the affine map) and backward (per-row dx; the
// column sums dgamma, dbeta in a second pass split by columns, so threads never
// share an output). Same signatures as kernels/layer_norm.hpp's references.
#pragma once

#include "freqcap/kernels/table.hpp"
#include "freqcap/kernels/avx2/vec.hpp"

#define FREQCAP_SIMD_NS avx2
#define FREQCAP_SIMD_TARGET FREQCAP_TARGET_AVX2
#define FREQCAP_SIMD_INLINE FREQCAP_INLINE_AVX2
#include "freqcap/kernels/simd/layer_norm.inc"
#undef FREQCAP_SIMD_NS
#undef FREQCAP_SIMD_TARGET
#undef FREQCAP_SIMD_INLINE
