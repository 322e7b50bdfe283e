// Dropout: inverted dropout in training (zero with probability p, scale the
// rest by 1/(1-p)), identity in eval. The mask draws from the process-wide
// generator (freqcap::manual_seed) unless set_generator() gives one.
#pragma once

#include <random>

#include "freqcap/autograd/ops_misc.hpp"
#include "freqcap/nn/init.hpp"
#include "freqcap/nn/module.hpp"

namespace freqcap::nn {

class Dropout : public UnaryModule {
 public:
  explicit Dropout(double p = 0.5) : UnaryModule("Dropout"), p_(p) {
    FREQCAP_CHECK(p >= 0.0 && p <= 1.0, "Dropout: probability ", p, " must lie in [0, 1]");
  }

  /// Any shape -> the same shape.
  Var<float> forward(const Var<float>& x) override { return dropout(x, p_, is_training(), *rng_); }

  double p() const { return p_; }
  /// Draw masks from `rng` (which must outlive the module).
  void set_generator(std::mt19937& rng) { rng_ = &rng; }

 private:
  double p_;
  std::mt19937* rng_ = &global_generator();
};

}  // namespace freqcap::nn
