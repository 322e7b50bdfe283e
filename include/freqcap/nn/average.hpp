// Averaging models' weights. float_state(m) lists what an average covers:
// every parameter, then every float buffer (BatchNorm's running statistics),
// sharing storage with the module; int64 buffers (BatchNorm's counter) are
// left alone, as in torch.optim.swa_utils.AveragedModel(use_buffers=True).
// average_weights(into, members) sets `into` to the members' uniform mean, a
// "uniform model soup" (Wortsman et al., ICML 2022): it helps when the
// members lie in one basin, e.g. runs forked from one initialisation that see
// the data in different orders. FR layers' masks are not averaged (they are
// not float state); FR members must end with the same masks, which the
// schedule guarantees when they ran the same number of steps.
#pragma once

#include <variant>
#include <vector>

#include "freqcap/nn/module.hpp"

namespace freqcap::nn {

/// The module's parameters, then its float buffers (storage shared).
inline std::vector<Tensor<float>> float_state(const Module& module) {
  std::vector<Tensor<float>> out;
  for (const auto& p : module.parameters()) out.push_back(p.value());
  for (const auto& [name, b] : module.named_buffers())
    if (const auto* f = std::get_if<Tensor<float>>(&b)) out.push_back(*f);
  return out;
}

/// Sets every parameter and float buffer of `into` to the mean of the
/// members' (accumulated in double). `into` may be one of the members. The
/// members must have `into`'s tensors: same count, same shapes.
inline void average_weights(Module& into, const std::vector<const Module*>& members) {
  FREQCAP_CHECK(!members.empty(), "average_weights: no members");
  NoGradGuard no_grad;
  auto out = float_state(into);
  std::vector<std::vector<double>> sum(out.size());
  for (std::size_t i = 0; i < out.size(); ++i) sum[i].assign(static_cast<std::size_t>(out[i].numel()), 0.0);
  for (std::size_t m = 0; m < members.size(); ++m) {
    FREQCAP_CHECK(members[m] != nullptr, "average_weights: member ", m, " is null");
    const auto state = float_state(*members[m]);
    FREQCAP_CHECK(state.size() == out.size(), "average_weights: member ", m, " has ", state.size(),
                  " parameters and float buffers, the model ", out.size());
    for (std::size_t i = 0; i < out.size(); ++i) {
      FREQCAP_CHECK(state[i].shape() == out[i].shape(), "average_weights: member ", m, "'s tensor ", i,
                    " has another shape than the model's");
      const Tensor<float> src = state[i].contiguous();
      for (std::int64_t k = 0, n = src.numel(); k < n; ++k) sum[i][static_cast<std::size_t>(k)] += src.data()[k];
    }
  }
  const double inv = 1.0 / static_cast<double>(members.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    FREQCAP_CHECK(out[i].is_contiguous(), "average_weights: a tensor of the model is not contiguous");
    float* p = out[i].data();
    for (std::int64_t k = 0, n = out[i].numel(); k < n; ++k)
      p[k] = static_cast<float>(sum[i][static_cast<std::size_t>(k)] * inv);
  }
}

}  // namespace freqcap::nn
