// AVX-512 elementwise kernels: add/sub/mul/div, axpb, and every activation's
// forward and backward, each a small functor mapped over the array by map1 /
// map2 (full vectors, then one masked tail; OpenMP over 4K-element chunks when
// n >= kParallelMin). Same signatures as the scalar references in
// kernels/elementwise.hpp.
#pragma once

#include "freqcap/kernels/table.hpp"
#include "freqcap/kernels/avx512/vec.hpp"

#if FREQCAP_KERNELS_X86
#include <algorithm>
#include <cstddef>

namespace freqcap::kernels::avx512 {

namespace ew {
using namespace v;
inline constexpr std::size_t kChunk = 4096;

template <class Op>
FREQCAP_TARGET_AVX512 inline void map1_block(Op op, const float* x, float* y, std::size_t n) {
  std::size_t i = 0;
  for (; i + 2 * kWidth <= n; i += 2 * kWidth) {
    const Vec a = op(load(x + i)), b = op(load(x + i + kWidth));
    store(y + i, a);
    store(y + i + kWidth, b);
  }
  for (; i + kWidth <= n; i += kWidth) store(y + i, op(load(x + i)));
  if (i < n) store_partial(y + i, op(load_partial(x + i, n - i)), n - i);
}

template <class Op>
FREQCAP_TARGET_AVX512 inline void map2_block(Op op, const float* a, const float* b, float* y,
                                             std::size_t n) {
  std::size_t i = 0;
  for (; i + kWidth <= n; i += kWidth) store(y + i, op(load(a + i), load(b + i)));
  if (i < n)
    store_partial(y + i, op(load_partial(a + i, n - i), load_partial(b + i, n - i)), n - i);
}

/// y = op(x), split over threads in kChunk pieces when n is large.
template <class Op>
FREQCAP_TARGET_AVX512 inline void map1(Op op, const float* x, float* y, std::size_t n) {
  if (n < kParallelMin) return map1_block(op, x, y, n);
  const auto chunks = static_cast<std::ptrdiff_t>((n + kChunk - 1) / kChunk);
FREQCAP_OMP(parallel for schedule(static))
  for (std::ptrdiff_t c = 0; c < chunks; ++c) {
    const std::size_t b = static_cast<std::size_t>(c) * kChunk;
    map1_block(op, x + b, y + b, std::min(kChunk, n - b));
  }
}

/// y = op(a, b), split over threads in kChunk pieces when n is large.
template <class Op>
FREQCAP_TARGET_AVX512 inline void map2(Op op, const float* a, const float* b, float* y,
                                       std::size_t n) {
  if (n < kParallelMin) return map2_block(op, a, b, y, n);
  const auto chunks = static_cast<std::ptrdiff_t>((n + kChunk - 1) / kChunk);
FREQCAP_OMP(parallel for schedule(static))
  for (std::ptrdiff_t c = 0; c < chunks; ++c) {
    const std::size_t o = static_cast<std::size_t>(c) * kChunk;
    map2_block(op, a + o, b + o, y + o, std::min(kChunk, n - o));
  }
}

// Functors: forward ones take x, backward ones take (x, dy) and return dx.
struct Add { FREQCAP_INLINE_AVX512 Vec operator()(Vec a, Vec b) const { return add(a, b); } };
struct Sub { FREQCAP_INLINE_AVX512 Vec operator()(Vec a, Vec b) const { return sub(a, b); } };
struct Mul { FREQCAP_INLINE_AVX512 Vec operator()(Vec a, Vec b) const { return mul(a, b); } };
struct Div { FREQCAP_INLINE_AVX512 Vec operator()(Vec a, Vec b) const { return div(a, b); } };
struct Axpb {
  float alpha, beta;
  FREQCAP_INLINE_AVX512 Vec operator()(Vec x) const { return fma(set1(alpha), x, set1(beta)); }
};
struct Axpy {  // (x, y) -> alpha * x + y
  float alpha;
  FREQCAP_INLINE_AVX512 Vec operator()(Vec x, Vec y) const { return fma(set1(alpha), x, y); }
};
struct Relu { FREQCAP_INLINE_AVX512 Vec operator()(Vec x) const { return max(x, zero()); } };
struct Relu6 {
  FREQCAP_INLINE_AVX512 Vec operator()(Vec x) const { return min(max(x, zero()), set1(6.0f)); }
};
struct Silu { FREQCAP_INLINE_AVX512 Vec operator()(Vec x) const { return mul(x, sigmoid(x)); } };
struct Gelu {  // 0.5 x erfc(-x / sqrt 2)
  FREQCAP_INLINE_AVX512 Vec operator()(Vec x) const {
    return mul(mul(set1(0.5f), x), erfc(mul(x, set1(-0.70710678118654752f))));
  }
};
struct Sigmoid { FREQCAP_INLINE_AVX512 Vec operator()(Vec x) const { return sigmoid(x); } };
struct Tanh { FREQCAP_INLINE_AVX512 Vec operator()(Vec x) const { return tanh(x); } };

struct ReluBackward {
  FREQCAP_INLINE_AVX512 Vec operator()(Vec x, Vec dy) const { return where_gt(x, zero(), dy); }
};
struct Relu6Backward {
  FREQCAP_INLINE_AVX512 Vec operator()(Vec x, Vec dy) const {
    return where_lt(x, set1(6.0f), where_gt(x, zero(), dy));
  }
};
struct SiluBackward {  // s (1 + x (1 - s))
  FREQCAP_INLINE_AVX512 Vec operator()(Vec x, Vec dy) const {
    const Vec s = sigmoid(x), one = set1(1.0f);
    return mul(dy, mul(s, fma(x, sub(one, s), one)));
  }
};
struct GeluBackward {  // Phi(x) + x phi(x)
  FREQCAP_INLINE_AVX512 Vec operator()(Vec x, Vec dy) const {
    const Vec cdf = mul(set1(0.5f), erfc(mul(x, set1(-0.70710678118654752f))));
    const Vec pdf = mul(exp(mul(mul(x, x), set1(-0.5f))), set1(0.39894228040143268f));
    return mul(dy, fma(x, pdf, cdf));
  }
};
struct SigmoidBackward {
  FREQCAP_INLINE_AVX512 Vec operator()(Vec x, Vec dy) const {
    const Vec s = sigmoid(x);
    return mul(dy, mul(s, sub(set1(1.0f), s)));
  }
};
struct TanhBackward {
  FREQCAP_INLINE_AVX512 Vec operator()(Vec x, Vec dy) const {
    const Vec t = tanh(x);
    return mul(dy, sub(set1(1.0f), mul(t, t)));
  }
};
}  // namespace ew

FREQCAP_TARGET_AVX512 inline void add(const float* a, const float* b, float* y, std::size_t n) {
  ew::map2(ew::Add{}, a, b, y, n);
}
FREQCAP_TARGET_AVX512 inline void sub(const float* a, const float* b, float* y, std::size_t n) {
  ew::map2(ew::Sub{}, a, b, y, n);
}
FREQCAP_TARGET_AVX512 inline void mul(const float* a, const float* b, float* y, std::size_t n) {
  ew::map2(ew::Mul{}, a, b, y, n);
}
FREQCAP_TARGET_AVX512 inline void div(const float* a, const float* b, float* y, std::size_t n) {
  ew::map2(ew::Div{}, a, b, y, n);
}
FREQCAP_TARGET_AVX512 inline void axpb(const float* x, float alpha, float beta, float* y,
                                       std::size_t n) {
  ew::map1(ew::Axpb{alpha, beta}, x, y, n);
}

FREQCAP_TARGET_AVX512 inline void axpy(float alpha, const float* x, float* y, std::size_t n) {
  ew::map2(ew::Axpy{alpha}, x, y, y, n);
}

/// Forward kernel of activation Op: y = f(x).
template <class Op>
FREQCAP_TARGET_AVX512 void act_forward(const float* x, float* y, std::size_t n) {
  ew::map1(Op{}, x, y, n);
}
/// Backward kernel of activation Op: dx = dy * f'(x).
template <class Op>
FREQCAP_TARGET_AVX512 void act_backward(const float* x, const float* dy, float* dx,
                                        std::size_t n) {
  ew::map2(Op{}, x, dy, dx, n);
}

}  // namespace freqcap::kernels::avx512

#endif  // FREQCAP_KERNELS_X86
