// LayerNorm with PyTorch's names and semantics: normalises over the last
// len(normalized_shape) axes, weight and bias of normalized_shape (1 and 0).
#pragma once

#include <cstdint>

#include "freqcap/autograd/ops_norm.hpp"
#include "freqcap/autograd/ops_shape.hpp"
#include "freqcap/nn/module.hpp"

namespace freqcap::nn {

/// `LayerNormOptions({D}).eps(1e-6).elementwise_affine(false)`.
struct LayerNormOptions {
  LayerNormOptions(Shape normalized_shape) : normalized_shape_(std::move(normalized_shape)) {}  // NOLINT
  FREQCAP_OPTION(Shape, normalized_shape);
  FREQCAP_OPTION(double, eps) = 1e-5;
  FREQCAP_OPTION(bool, elementwise_affine) = true;
};

class LayerNorm : public UnaryModule {
 public:
  explicit LayerNorm(const LayerNormOptions& options) : UnaryModule("LayerNorm"), options_(options) {
    const Shape& s = options.normalized_shape();
    FREQCAP_CHECK(!s.empty() && numel_of(s) > 0, "LayerNorm: bad normalized_shape ", shape_str(s));
    if (options.elementwise_affine()) {
      weight = register_parameter("weight", Tensor<float>(s, 1.0f));
      bias = register_parameter("bias", Tensor<float>(s, 0.0f));
    }
  }
  explicit LayerNorm(std::int64_t dim) : LayerNorm(LayerNormOptions(Shape{dim})) {}

  /// x [..., *normalized_shape] -> same shape.
  Var<float> forward(const Var<float>& x) override {
    const Shape& s = options_.normalized_shape();
    const std::size_t k = s.size();
    FREQCAP_CHECK(x.ndim() >= k && Shape(x.shape().end() - static_cast<std::ptrdiff_t>(k), x.shape().end()) == s,
                  "LayerNorm: input ", shape_str(x.shape()), " does not end in normalized_shape ", shape_str(s));
    const float eps = static_cast<float>(options_.eps());
    if (k == 1) return layer_norm(x, weight, bias, eps);
    // Several normalised axes: flatten them into one.
    const std::int64_t D = numel_of(s);
    Shape flat(x.shape().begin(), x.shape().end() - static_cast<std::ptrdiff_t>(k));
    flat.push_back(D);
    const Var<float> w = weight.defined() ? reshape(weight, Shape{D}) : Var<float>();
    const Var<float> b = bias.defined() ? reshape(bias, Shape{D}) : Var<float>();
    return reshape(layer_norm(reshape(x, flat), w, b, eps), x.shape());
  }

  const LayerNormOptions& options() const { return options_; }

  Var<float> weight;  ///< normalized_shape, undefined without elementwise_affine
  Var<float> bias;

 private:
  LayerNormOptions options_;
};

}  // namespace freqcap::nn
