// Linear: y = x W^T + b with PyTorch's parameter names and shapes (weight
// [out, in], bias [out]) and PyTorch's default initialisation.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "freqcap/autograd/ops_linalg.hpp"
#include "freqcap/nn/init.hpp"
#include "freqcap/nn/module.hpp"

namespace freqcap::nn {

/// `LinearOptions(in, out).bias(false)`.
struct LinearOptions {
  LinearOptions(std::int64_t in_features, std::int64_t out_features)
      : in_features_(in_features), out_features_(out_features) {}
  FREQCAP_OPTION(std::int64_t, in_features);
  FREQCAP_OPTION(std::int64_t, out_features);
  FREQCAP_OPTION(bool, bias) = true;
};

class Linear : public UnaryModule {
 public:
  explicit Linear(const LinearOptions& options, std::mt19937& rng = global_generator())
      : UnaryModule("Linear"), options_(options) {
    FREQCAP_CHECK(options.in_features() >= 0 && options.out_features() >= 0, "Linear: negative size (",
                  options.in_features(), ", ", options.out_features(), ")");
    Tensor<float> w(Shape{options.out_features(), options.in_features()});
    Tensor<float> b(Shape{options.out_features()});
    init::default_affine_init_(w, options.bias() ? &b : nullptr, rng);
    weight = register_parameter("weight", w);
    if (options.bias()) bias = register_parameter("bias", b);
  }
  Linear(std::int64_t in_features, std::int64_t out_features, std::mt19937& rng = global_generator())
      : Linear(LinearOptions(in_features, out_features), rng) {}

  /// x [..., in] -> [..., out].
  Var<float> forward(const Var<float>& x) override { return linear(x, weight, bias); }

  const LinearOptions& options() const { return options_; }

  Var<float> weight;  ///< [out, in]
  Var<float> bias;    ///< [out], undefined without bias

 private:
  LinearOptions options_;
};

}  // namespace freqcap::nn
