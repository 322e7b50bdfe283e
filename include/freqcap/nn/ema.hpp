// Exponential moving average of a model's weights, as
// torch.optim.swa_utils.AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay),
// use_buffers=True): a shadow copy of every parameter and float buffer
// (BatchNorm's running statistics included, its int64 counter not), updated
// after each optimizer step by shadow += (1 - decay) (live - shadow); the first
// update copies. swap() exchanges the live and shadow values in place, so
// scoring the average and resuming training is swap(); score; swap(). FR
// layers notice the new coefficients themselves (their eval cache compares the
// kept coefficients), and their masks are not averaged: they belong to the
// truncation schedule, not to the weights.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "freqcap/nn/average.hpp"

namespace freqcap::nn {

class ExponentialMovingAverage {
 public:
  /// Averages `module`'s parameters and float buffers (the module must outlive this).
  ExponentialMovingAverage(Module& module, double decay) : module_(module), decay_(decay) {
    FREQCAP_CHECK(decay >= 0 && decay < 1, "ExponentialMovingAverage: decay must be in [0, 1), got ", decay);
  }

  double decay() const { return decay_; }
  /// Updates so far (0: the shadow is empty and swap() is refused).
  std::int64_t updates() const { return updates_; }

  /// shadow = live on the first call, shadow += (1 - decay) (live - shadow) after.
  void update() {
    NoGradGuard no_grad;
    const auto live = live_tensors();
    if (updates_ == 0) {
      shadow_.clear();
      for (const auto& t : live) shadow_.push_back(t.clone());
    } else {
      check_matches(live, shadow_);
      const float w = static_cast<float>(1.0 - decay_);
      for (std::size_t i = 0; i < live.size(); ++i) {
        const Tensor<float> src = live[i].contiguous();
        const float* p = src.data();
        float* s = shadow_[i].data();
        for (std::int64_t k = 0, n = src.numel(); k < n; ++k) s[k] += w * (p[k] - s[k]);
      }
    }
    ++updates_;
  }

  /// Copies of the averages and the update count (checkpoints, forked runs).
  std::pair<std::vector<Tensor<float>>, std::int64_t> state() const {
    std::vector<Tensor<float>> copy;
    for (const auto& t : shadow_) copy.push_back(t.clone());
    return {std::move(copy), updates_};
  }
  /// Restores what state() returned (0 updates: an empty average).
  void load_state(const std::pair<std::vector<Tensor<float>>, std::int64_t>& saved) {
    FREQCAP_CHECK(saved.second >= 0, "ExponentialMovingAverage: negative update count ", saved.second);
    if (saved.second > 0) check_matches(live_tensors(), saved.first);
    shadow_.clear();
    for (const auto& t : saved.first) shadow_.push_back(t.clone());
    updates_ = saved.second;
  }

  /// Exchanges the module's values and the averages in place (call again to undo).
  void swap() {
    FREQCAP_CHECK(updates_ > 0, "ExponentialMovingAverage: swap() before the first update()");
    NoGradGuard no_grad;
    auto live = live_tensors();
    check_matches(live, shadow_);
    for (std::size_t i = 0; i < live.size(); ++i) {
      FREQCAP_CHECK(live[i].is_contiguous(), "ExponentialMovingAverage: a parameter is not contiguous");
      float* p = live[i].data();
      float* s = shadow_[i].data();
      for (std::int64_t k = 0, n = live[i].numel(); k < n; ++k) std::swap(p[k], s[k]);
    }
  }

 private:
  std::vector<Tensor<float>> live_tensors() const { return float_state(module_); }

  /// The module's tensors match the averages' (count and shapes): the shadow,
  /// or a saved state about to become it.
  static void check_matches(const std::vector<Tensor<float>>& live, const std::vector<Tensor<float>>& averages) {
    FREQCAP_CHECK(live.size() == averages.size(), "ExponentialMovingAverage: the module has ", live.size(),
                  " parameters and float buffers, the averages ", averages.size());
    for (std::size_t i = 0; i < live.size(); ++i)
      FREQCAP_CHECK(live[i].shape() == averages[i].shape(), "ExponentialMovingAverage: tensor ", i,
                    " of the module has another shape than its average");
  }

  Module& module_;
  double decay_;
  std::int64_t updates_ = 0;
  std::vector<Tensor<float>> shadow_;
};

}  // namespace freqcap::nn
