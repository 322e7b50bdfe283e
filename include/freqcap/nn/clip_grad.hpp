// Gradient clipping by the global L2 norm, as torch.nn.utils.clip_grad_norm_:
// total = sqrt(sum over parameters of ||g||^2); every gradient is scaled by
// min(1, max_norm / (total + 1e-6)). Gradients are replaced (Var::set_grad),
// never written in place, since autograd may share gradient tensors.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "freqcap/autograd/var.hpp"

namespace freqcap::nn {

/// Global L2 norm of the gradients of `params` (those without one count 0).
inline double grad_norm(const std::vector<Var<float>>& params) {
  double sq = 0;
  for (const auto& p : params) {
    if (!p.has_grad()) continue;
    const Tensor<float> g = p.grad();
    const float* d = g.data();
    g.for_each_offset([&](std::int64_t off) { sq += static_cast<double>(d[off]) * d[off]; });
  }
  return std::sqrt(sq);
}

/// Scales all gradients so their global L2 norm is at most max_norm; returns
/// the norm before clipping. ref: torch/nn/utils/clip_grad.py (PyTorch 1.13).
inline double clip_grad_norm_(const std::vector<Var<float>>& params, double max_norm) {
  const double total = grad_norm(params);
  const double coef = std::min(1.0, max_norm / (total + 1e-6));
  if (coef < 1.0) {
    const float c = static_cast<float>(coef);
    for (auto p : params)
      if (p.has_grad()) p.set_grad(p.grad() * c);
  }
  return total;
}

}  // namespace freqcap::nn
