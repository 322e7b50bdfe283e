// Fills one KernelTable per ISA from the scalar references and the avx2 /
// avx512 kernels, and defines table_for(), table() and active_isa(). Every op
// header includes this file last; include it (or any op header) to use table().
#pragma once

#include <cstdlib>

#include "freqcap/kernels/table.hpp"
#include "freqcap/kernels/conv2d_depthwise_plane.hpp"
#include "freqcap/kernels/conv2d_padded.hpp"
#include "freqcap/kernels/conv2d_depthwise_small.hpp"
#include "freqcap/kernels/elementwise.hpp"
#include "freqcap/kernels/gemm.hpp"
#include "freqcap/kernels/layer_norm.hpp"
#include "freqcap/kernels/softmax.hpp"

#if FREQCAP_KERNELS_X86
#include "freqcap/kernels/avx2/depthwise.hpp"
#include "freqcap/kernels/avx2/elementwise.hpp"
#include "freqcap/kernels/avx2/gemm.hpp"
#include "freqcap/kernels/avx2/layer_norm.hpp"
#include "freqcap/kernels/avx2/softmax.hpp"
#include "freqcap/kernels/avx512/depthwise.hpp"
#include "freqcap/kernels/avx512/elementwise.hpp"
#include "freqcap/kernels/avx512/gemm.hpp"
#include "freqcap/kernels/avx512/layer_norm.hpp"
#include "freqcap/kernels/avx512/softmax.hpp"
#endif

namespace freqcap::kernels {

namespace detail {

inline KernelTable make_scalar_table() {
  KernelTable t;
  t.isa = Isa::scalar;
  t.add = &add_scalar<float>;
  t.sub = &sub_scalar<float>;
  t.mul = &mul_scalar<float>;
  t.div = &div_scalar<float>;
  t.axpb = &axpb_scalar<float>;
  t.axpy = &axpy_scalar<float>;
  t.act_forward[0] = &act_forward_scalar_f<Act::relu>;
  t.act_forward[1] = &act_forward_scalar_f<Act::relu6>;
  t.act_forward[2] = &act_forward_scalar_f<Act::silu>;
  t.act_forward[3] = &act_forward_scalar_f<Act::gelu>;
  t.act_forward[4] = &act_forward_scalar_f<Act::sigmoid>;
  t.act_forward[5] = &act_forward_scalar_f<Act::tanh>;
  t.act_backward[0] = &act_backward_scalar_f<Act::relu>;
  t.act_backward[1] = &act_backward_scalar_f<Act::relu6>;
  t.act_backward[2] = &act_backward_scalar_f<Act::silu>;
  t.act_backward[3] = &act_backward_scalar_f<Act::gelu>;
  t.act_backward[4] = &act_backward_scalar_f<Act::sigmoid>;
  t.act_backward[5] = &act_backward_scalar_f<Act::tanh>;
  t.softmax = &softmax_scalar<float>;
  t.log_softmax = &log_softmax_scalar<float>;
  t.layer_norm = &layer_norm_scalar<float>;
  t.layer_norm_backward = &layer_norm_backward_scalar<float>;
  t.sgemm = &gemm_scalar<float>;
  t.conv2d_packed = &conv2d_forward_gemm<ScalarMicro>;
  t.depthwise_plane = &depthwise_plane_scalar;
  t.depthwise_plane_grad = &depthwise_plane_grad_scalar;
  t.depthwise_planes = &depthwise_planes_scalar;
  t.depthwise_planes_input_grad = &depthwise_planes_input_grad_scalar;
  t.depthwise_channels_grad = &depthwise_channels_grad_scalar;
  return t;
}

#if FREQCAP_KERNELS_X86
// The same table for avx2 and avx512: the namespaces share every name.
#define FREQCAP_FILL_SIMD_TABLE(ns)                                     \
  t.add = &ns::add;                                                     \
  t.sub = &ns::sub;                                                     \
  t.mul = &ns::mul;                                                     \
  t.div = &ns::div;                                                     \
  t.axpb = &ns::axpb;                                                   \
  t.axpy = &ns::axpy;                                                   \
  t.act_forward[0] = &ns::act_forward<ns::ew::Relu>;                    \
  t.act_forward[1] = &ns::act_forward<ns::ew::Relu6>;                   \
  t.act_forward[2] = &ns::act_forward<ns::ew::Silu>;                    \
  t.act_forward[3] = &ns::act_forward<ns::ew::Gelu>;                    \
  t.act_forward[4] = &ns::act_forward<ns::ew::Sigmoid>;                 \
  t.act_forward[5] = &ns::act_forward<ns::ew::Tanh>;                    \
  t.act_backward[0] = &ns::act_backward<ns::ew::ReluBackward>;          \
  t.act_backward[1] = &ns::act_backward<ns::ew::Relu6Backward>;         \
  t.act_backward[2] = &ns::act_backward<ns::ew::SiluBackward>;          \
  t.act_backward[3] = &ns::act_backward<ns::ew::GeluBackward>;          \
  t.act_backward[4] = &ns::act_backward<ns::ew::SigmoidBackward>;       \
  t.act_backward[5] = &ns::act_backward<ns::ew::TanhBackward>;          \
  t.softmax = &ns::softmax;                                             \
  t.log_softmax = &ns::log_softmax;                                     \
  t.layer_norm = &ns::layer_norm;                                       \
  t.layer_norm_backward = &ns::layer_norm_backward;                     \
  t.sgemm = &ns::sgemm;                                                 \
  t.conv2d_packed = &ns::conv2d_packed;                                 \
  t.depthwise_plane = &ns::depthwise_plane;                             \
  t.depthwise_plane_grad = &ns::depthwise_plane_grad;                   \
  t.depthwise_planes = &ns::depthwise_planes;                           \
  t.depthwise_planes_input_grad = &ns::depthwise_planes_input_grad;     \
  t.depthwise_channels_grad = &ns::depthwise_channels_grad;

inline KernelTable make_avx2_table() {
  KernelTable t;
  t.isa = Isa::avx2;
  FREQCAP_FILL_SIMD_TABLE(avx2)
  return t;
}
inline KernelTable make_avx512_table() {
  KernelTable t;
  t.isa = Isa::avx512;
  FREQCAP_FILL_SIMD_TABLE(avx512)
  return t;
}
#undef FREQCAP_FILL_SIMD_TABLE
#endif

}  // namespace detail

inline const KernelTable& table_for(Isa isa) {
  FREQCAP_CHECK(isa_supported(isa), "kernel table for ", isa_name(isa),
                " requested, but this CPU (or OS) does not support ", isa_name(isa));
  static const KernelTable scalar = detail::make_scalar_table();
#if FREQCAP_KERNELS_X86
  static const KernelTable avx2 = detail::make_avx2_table();
  static const KernelTable avx512 = detail::make_avx512_table();
  if (isa == Isa::avx2) return avx2;
  if (isa == Isa::avx512) return avx512;
#endif
  return scalar;
}

inline const KernelTable& table() {
  static const KernelTable& active = table_for(choose_isa(std::getenv("FREQCAP_ISA")));
  return active;
}

inline Isa active_isa() { return table().isa; }

}  // namespace freqcap::kernels
