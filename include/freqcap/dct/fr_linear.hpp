// FRLinear: a Linear whose trainable tensor is its DCT coefficient tensor C
// [out, in], registered as "weight" (bias dense, "bias"), y = x W^T + b with
// W = IDCT(C * M). When it is cheaper the layer never forms W:
// y = ((x B^T) Cbox^T) A + b with A [b0, out], B [b1, in] the first DCT basis
// rows of the mask's box (b0 x b1), which costs in*b1 + b1*b0 + b0*out per row
// instead of in*out, and in training also saves the reconstruction of W and its
// adjoint on dW (factored_linear_cheaper). Otherwise W is reconstructed (FFTW
// or box path) as in FRConv2d.
// C starts as DCT(W0), W0 PyTorch's default Linear init. Eval mode caches the
// masked box (factored) or W (dense).
#pragma once

#include <random>

#include "freqcap/autograd/ops_linalg.hpp"
#include "freqcap/dct/fr_layer.hpp"
#include "freqcap/nn/linear.hpp"

namespace freqcap::dct {

class FRLinear : public nn::UnaryModule, public FRLayer {
 public:
  /// Same options as nn::Linear plus the FR options (default min_count 256).
  explicit FRLinear(const nn::LinearOptions& options, const FROptions& fr = FROptions(),
                    std::mt19937& rng = global_generator())
      : nn::UnaryModule("FRLinear"), options_(options) {
    FREQCAP_CHECK(options.in_features() > 0 && options.out_features() > 0, "FRLinear: sizes must be positive, got (",
                  options.in_features(), ", ", options.out_features(), ")");
    Tensor<float> w(Shape{options.out_features(), options.in_features()});
    Tensor<float> b(Shape{options.out_features()});
    nn::init::default_affine_init_(w, options.bias() ? &b : nullptr, rng);
    weight = register_parameter("weight", from_dense(w));
    if (options.bias()) bias = register_parameter("bias", b);
    init_fr(weight, fr.schedule(256), fr.path(), fr.auto_step());
  }
  FRLinear(std::int64_t in_features, std::int64_t out_features, const FROptions& fr = FROptions(),
           std::mt19937& rng = global_generator())
      : FRLinear(nn::LinearOptions(in_features, out_features), fr, rng) {}

  /// x [..., in] -> [..., out].
  Var<float> forward(const Var<float>& x) override {
    FREQCAP_CHECK(x.ndim() >= 1 && x.dim(-1) == options_.in_features(), "FRLinear: expected input [..., ",
                  options_.in_features(), "], got ", shape_str(x.shape()));
    const bool training = is_training();
    if (training) begin_training_forward();
    if (uses_factored(double(x.value().numel() / options_.in_features()), training)) {
      if (training) return fr_linear_factored(x, coef_, mask_, bias, *bases_);
      if (!cache_matches() || cache_.shape() != mask_.box()) store_cache(mask_.masked_box(coef_.value()));
      return fr_linear_factored(x, coef_, mask_, bias, *bases_, &cache_);
    }
    if (training) return linear(x, fr_weight(coef_, mask_, path_, bases_), bias);
    if (!cache_matches() || cache_.shape() != coef_.shape())
      store_cache(fr_reconstruct(coef_.value(), mask_, path_, *bases_));
    return linear(x, fr_weight(coef_, mask_, path_, bases_, &cache_), bias);
  }

  /// Whether a forward of `rows` input rows uses the factored product (never
  /// forming W) with the current mask, in training or eval mode.
  bool uses_factored(double rows = 1, bool training = false) const {
    if (path_ == FRPath::factored) return true;
    if (path_ != FRPath::automatic) return false;
    return factored_linear_cheaper(mask_, rows, training);
  }

  const nn::LinearOptions& options() const { return options_; }

  Var<float> weight;  ///< C, the DCT coefficients [out, in]
  Var<float> bias;    ///< [out], undefined without bias

 private:
  nn::LinearOptions options_;
};

}  // namespace freqcap::dct
