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

/// Sets each tensor of `into` to the mean of the states' tensors at its
/// index (accumulated in double). Every state must match `into`: same count,
/// same shapes. `into` may share storage with a state.
inline void average_states(const std::vector<Tensor<float>>& into,
                           const std::vector<std::vector<Tensor<float>>>& states) {
  FREQCAP_CHECK(!states.empty(), "average_weights: no members");
  std::vector<std::vector<double>> sum(into.size());
  for (std::size_t i = 0; i < into.size(); ++i) sum[i].assign(static_cast<std::size_t>(into[i].numel()), 0.0);
  for (std::size_t m = 0; m < states.size(); ++m) {
    FREQCAP_CHECK(states[m].size() == into.size(), "average_weights: member ", m, " has ", states[m].size(),
                  " parameters and float buffers, the model ", into.size());
    for (std::size_t i = 0; i < into.size(); ++i) {
      FREQCAP_CHECK(states[m][i].shape() == into[i].shape(), "average_weights: member ", m, "'s tensor ", i,
                    " has another shape than the model's");
      const Tensor<float> src = states[m][i].contiguous();
      for (std::int64_t k = 0, n = src.numel(); k < n; ++k) sum[i][static_cast<std::size_t>(k)] += src.data()[k];
    }
  }
  const double inv = 1.0 / static_cast<double>(states.size());
  for (std::size_t i = 0; i < into.size(); ++i) {
    FREQCAP_CHECK(into[i].is_contiguous(), "average_weights: a tensor of the model is not contiguous");
    Tensor<float> dst = into[i];  // shares storage
    for (std::int64_t k = 0, n = dst.numel(); k < n; ++k)
      dst.data()[k] = static_cast<float>(sum[i][static_cast<std::size_t>(k)] * inv);
  }
}

/// Sets every parameter and float buffer of `into` to the mean of the
/// members'. `into` may be one of the members.
inline void average_weights(Module& into, const std::vector<const Module*>& members) {
  NoGradGuard no_grad;
  std::vector<std::vector<Tensor<float>>> states;
  for (std::size_t m = 0; m < members.size(); ++m) {
    FREQCAP_CHECK(members[m] != nullptr, "average_weights: member ", m, " is null");
    states.push_back(float_state(*members[m]));
  }
  average_states(float_state(into), states);
}

}  // namespace freqcap::nn
