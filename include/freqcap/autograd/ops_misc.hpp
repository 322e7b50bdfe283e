// Differentiable embedding lookup (rows of a [V, D] table gathered by int64
// indices of any shape, with PyTorch's padding_idx) and inverted dropout
// (scale 1/(1-p) in training, identity in eval), whose random mask comes from
// a caller's std::mt19937 so runs are reproducible.
#pragma once

#include <algorithm>
#include <optional>
#include <cmath>
#include <random>

#include "freqcap/autograd/ops_elementwise.hpp"

namespace freqcap {

/// Gathers rows of weight [V, D] at `indices` (any shape) -> [..., D]. The row
/// padding_idx (negative counts from the end, as PyTorch) gets no gradient.
/// An index outside [0, V) throws freqcap::Error naming it and V.
template <class T>
Var<T> embedding(const Tensor<std::int64_t>& indices, const Var<T>& weight,
                 std::optional<std::int64_t> padding_idx = std::nullopt) {
  FREQCAP_CHECK(weight.ndim() == 2, "embedding: weight ", shape_str(weight.shape()), " must be [V, D]");
  const std::int64_t V = weight.dim(0), D = weight.dim(1);
  if (padding_idx) {
    FREQCAP_CHECK(*padding_idx >= -V && *padding_idx < V, "embedding: padding_idx ", *padding_idx,
                  " out of range for ", V, " rows");
    if (*padding_idx < 0) *padding_idx += V;
  }
  const Tensor<std::int64_t> ic = indices.contiguous();
  const std::int64_t n = ic.numel();
  const std::int64_t* pi = ic.data();
  for (std::int64_t i = 0; i < n; ++i)
    FREQCAP_CHECK(pi[i] >= 0 && pi[i] < V, "embedding: index ", pi[i], " at position ", i,
                  " is out of range for a table of ", V, " rows");
  Shape out_shape = indices.shape();
  out_shape.push_back(D);
  const Tensor<T> wc = weight.value().contiguous();
  Tensor<T> y(out_shape);
  const T* pw = wc.data();
  T* py = y.data();
#pragma omp parallel for schedule(static) if (n * D >= (std::int64_t{1} << 16))
  for (std::int64_t i = 0; i < n; ++i) std::copy(pw + pi[i] * D, pw + (pi[i] + 1) * D, py + i * D);
  const std::int64_t pad = padding_idx ? *padding_idx : -1;
  return Var<T>::make(std::move(y), {weight}, "embedding", [weight, ic, pad, V, D](const Tensor<T>& g) {
    const Tensor<T> gc = g.contiguous();
    Tensor<T> dw(Shape{V, D});
    const std::int64_t* pi = ic.data();
    const T* pg = gc.data();
    T* pd = dw.data();
    for (std::int64_t i = 0; i < ic.numel(); ++i) {
      if (pi[i] == pad) continue;
      T* row = pd + pi[i] * D;
      const T* gr = pg + i * D;
      for (std::int64_t j = 0; j < D; ++j) row[j] += gr[j];
    }
    weight.accumulate(dw);
  });
}

/// Inverted dropout: in training each element is zeroed with probability p and
/// the rest are scaled by 1/(1-p); identity (the same Var) in eval or when
/// p = 0. The mask draws from `rng`; backward uses the same mask.
template <class T>
Var<T> dropout(const Var<T>& x, double p, bool training, std::mt19937& rng) {
  FREQCAP_CHECK(p >= 0.0 && p <= 1.0, "dropout: probability ", p, " must lie in [0, 1]");
  if (!training || p == 0.0) return x;
  Tensor<T> mask = Tensor<T>::empty(x.shape());
  const T scale = p < 1.0 ? T(1.0 / (1.0 - p)) : T(0);
  // Each 32-bit draw decides two elements with 16 bits apiece: an element is
  // dropped when its 16 bits fall below round(p * 65536) (p to within 2^-17).
  const auto cut = static_cast<std::uint32_t>(std::lround(p * 65536.0));
  T* pm = mask.data();
  const std::int64_t n = mask.numel();
  for (std::int64_t i = 0; i < n; i += 2) {
    const std::uint32_t r = static_cast<std::uint32_t>(rng());
    pm[i] = (r & 0xffffu) >= cut ? scale : T(0);
    if (i + 1 < n) pm[i + 1] = (r >> 16) >= cut ? scale : T(0);
  }
  return Var<T>::make(x.value() * mask, {x}, "dropout", [x, mask](const Tensor<T>& g) { x.accumulate(g * mask); });
}

/// Dropout with a fresh generator seeded by `seed`.
template <class T>
Var<T> dropout(const Var<T>& x, double p, bool training, std::uint64_t seed) {
  std::mt19937 rng(static_cast<std::mt19937::result_type>(seed));
  return dropout(x, p, training, rng);
}

}  // namespace freqcap
