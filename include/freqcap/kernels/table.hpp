// The KernelTable: one struct of float32 function pointers per ISA, and the
// accessors that pick the active one. The tables themselves are filled in
// kernels/dispatch.hpp (which every op header includes last), so this header
// only declares: op headers can call table() before the ISA code is seen.
#pragma once

#include <algorithm>
#include <cstddef>

#include "freqcap/kernels/conv2d_shape.hpp"
#include "freqcap/kernels/isa.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace freqcap::kernels {

/// Loops shorter than this many elements stay on one thread (OpenMP start-up
/// costs more than it saves below it).
inline constexpr std::size_t kParallelMin = std::size_t{1} << 15;

/// Whether a loop of `work` element-operations should open a parallel region:
/// big enough, more than one thread, and not already inside a region (a nested
/// region runs on one thread but still pays libgomp's team start and barrier).
inline bool worth_parallel([[maybe_unused]] std::size_t work) {
#if defined(_OPENMP)
  return work >= 4 * kParallelMin && omp_get_max_threads() > 1 && !omp_in_parallel();
#else
  return false;
#endif
}

/// Splits [0, items) into `parts` contiguous ranges of whole blocks of `block`
/// items (the last range ends at items) and calls f(i0, i1) on each, one
/// range per thread when parts > 1: one parallel region, no barrier inside.
template <class F> void for_each_range(std::size_t items, std::size_t block, std::size_t parts, F&& f) {
  const std::size_t blocks = (items + block - 1) / block;
  const auto n = static_cast<std::ptrdiff_t>(parts);
FREQCAP_OMP(parallel for schedule(static) num_threads(int(parts)) if (parts > 1))
  for (std::ptrdiff_t t = 0; t < n; ++t) {
    const std::size_t b0 = blocks * std::size_t(t) / parts, b1 = blocks * (std::size_t(t) + 1) / parts;
    f(std::min(items, block * b0), std::min(items, block * b1));
  }
}

/// Activation functions with a forward and a backward kernel.
enum class Act { relu = 0, relu6, silu, gelu, sigmoid, tanh };
inline constexpr std::size_t kActCount = 6;
inline constexpr Act kAllActs[] = {Act::relu, Act::relu6, Act::silu,
                                   Act::gelu, Act::sigmoid, Act::tanh};
inline const char* act_name(Act a) {
  constexpr const char* names[] = {"relu", "relu6", "silu", "gelu", "sigmoid", "tanh"};
  return names[static_cast<int>(a)];
}

/// y[i] = a[i] (op) b[i], i < n.
using BinaryFn = void (*)(const float* a, const float* b, float* y, std::size_t n);
/// y[i] = alpha * x[i] + beta.
using AxpbFn = void (*)(const float* x, float alpha, float beta, float* y, std::size_t n);
/// y[i] += alpha * x[i].
using AxpyFn = void (*)(float alpha, const float* x, float* y, std::size_t n);
/// y[i] = f(x[i]).
using UnaryFn = void (*)(const float* x, float* y, std::size_t n);
/// dx[i] = dy[i] * f'(x[i]).
using UnaryBackwardFn = void (*)(const float* x, const float* dy, float* dx, std::size_t n);
/// Row-wise op over x: [rows, cols] contiguous, y the same shape.
using RowFn = void (*)(const float* x, float* y, std::size_t rows, std::size_t cols);
/// Layer norm forward; see layer_norm.hpp.
using LayerNormFn = void (*)(const float* x, const float* gamma, const float* beta,
                             float* y, float* mean, float* rstd, std::size_t rows,
                             std::size_t cols, float eps);
/// Layer norm backward; see layer_norm.hpp.
using LayerNormBackwardFn = void (*)(const float* dy, const float* x, const float* gamma,
                                     const float* mean, const float* rstd, float* dx,
                                     float* dgamma, float* dbeta, std::size_t rows,
                                     std::size_t cols);
/// Row-major C = alpha * op(A) * op(B) + beta * C; see gemm.hpp.
using SgemmFn = void (*)(bool trans_a, bool trans_b, std::size_t m, std::size_t n,
                         std::size_t k, float alpha, const float* a, std::size_t lda,
                         const float* b, std::size_t ldb, float beta, float* c,
                         std::size_t ldc);

/// One output plane of a depthwise convolution over a zero-padded input plane;
/// see kernels/conv2d_depthwise_plane.hpp.
using DepthwisePlaneFn = void (*)(const float* p, std::size_t pw, const float* w, std::size_t kh,
                                  std::size_t kw, std::size_t sh, std::size_t sw, std::size_t dh,
                                  std::size_t dw, const float* bias, float* y, std::size_t oh,
                                  std::size_t ow);
/// The weight gradient of one depthwise plane pair; see
/// kernels/conv2d_depthwise_plane.hpp.
using DepthwisePlaneGradFn = void (*)(const float* p, std::size_t pw, const float* dy, std::size_t kh,
                                      std::size_t kw, std::size_t sh, std::size_t sw, std::size_t dh,
                                      std::size_t dw, float* g, std::size_t oh, std::size_t ow);

/// Depthwise forward over a range of small planes; see kernels/conv2d_depthwise_small.hpp.
using DepthwisePlanesFn = void (*)(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                                   float* y, std::size_t p0, std::size_t p1);
/// Depthwise input gradient over a range of small planes; see kernels/conv2d_depthwise_small.hpp.
using DepthwisePlanesInputGradFn = void (*)(const Conv2dShape& s, const float* dy, const float* w, float* dx,
                                            std::size_t p0, std::size_t p1);
/// Depthwise weight gradient over a range of channels with small planes; see
/// kernels/conv2d_depthwise_small.hpp.
using DepthwiseChannelsGradFn = void (*)(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                                         std::size_t c0, std::size_t c1);

/// y = conv(x, w) + bias (bias may be nullptr) by an implicit-im2col GEMM:
/// read in place from a padded copy of the image where that pays, else from
/// B panels packed from it; see kernels/conv2d_padded.hpp, conv2d_packed.hpp.
using Conv2dPackedFn = void (*)(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y);

/// Every float32 kernel of one ISA. Adding a kernel = one field here plus one
/// line per ISA in dispatch.hpp (see docs/kernels.md).
struct KernelTable {
  Isa isa = Isa::scalar;
  BinaryFn add = nullptr, sub = nullptr, mul = nullptr, div = nullptr;
  AxpbFn axpb = nullptr;
  AxpyFn axpy = nullptr;
  UnaryFn act_forward[kActCount] = {};
  UnaryBackwardFn act_backward[kActCount] = {};
  RowFn softmax = nullptr, log_softmax = nullptr;
  LayerNormFn layer_norm = nullptr;
  LayerNormBackwardFn layer_norm_backward = nullptr;
  SgemmFn sgemm = nullptr;
  Conv2dPackedFn conv2d_packed = nullptr;
  DepthwisePlaneFn depthwise_plane = nullptr;
  DepthwisePlaneGradFn depthwise_plane_grad = nullptr;
  DepthwisePlanesFn depthwise_planes = nullptr;
  DepthwisePlanesInputGradFn depthwise_planes_input_grad = nullptr;
  DepthwiseChannelsGradFn depthwise_channels_grad = nullptr;
};

/// The table of `isa`; throws Error when this CPU does not support it.
inline const KernelTable& table_for(Isa isa);
/// The active table: FREQCAP_ISA if set (Error if unsupported), else the best ISA.
/// Chosen once, on first use.
inline const KernelTable& table();
/// The ISA of the active table.
inline Isa active_isa();

}  // namespace freqcap::kernels
