// FRLinear: a Linear whose trainable tensor is its DCT coefficient tensor C
// [out, in], registered as "weight" (bias dense, "bias"), y = x W^T + b with
// W = IDCT(C * M). When it is cheaper the layer never forms W
// (cheapest_linear_product), which in training also saves the reconstruction
// of W and its adjoint on dW:
//  - factored: y = ((x B^T) Cbox^T) A + b with A [b0, out], B [b1, in] the
//    first DCT basis rows of the mask's box (b0 x b1): in*b1 + b1*b0 + b0*out
//    multiply-adds per row instead of in*out (small boxes);
//  - spectral: the same with x B^T and (.) A as fast DCTs of the rows, so the
//    box product b0*b1 is the only GEMM (large boxes, full masks included).
// Otherwise W is reconstructed (FFTW or box path) as in FRConv2d.
// C starts as DCT(W0), W0 PyTorch's default Linear init. Eval mode caches the
// masked box (factored, spectral) or W (dense).
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
    const LinearProduct p = product(double(x.value().numel() / options_.in_features()), training);
    if (p != LinearProduct::weight) {
      const Tensor<float>* box = nullptr;
      if (!training) {
        if (!cache_matches() || !cache_is_box_ || cache_.shape() != mask_.box()) {
          store_cache(mask_.masked_box(coef_.value()));
          cache_is_box_ = true;
        }
        box = &cache_;
      }
      return p == LinearProduct::factored ? fr_linear_factored(x, coef_, mask_, bias, *bases_, box)
                                          : fr_linear_spectral(x, coef_, mask_, bias, box);
    }
    if (training) return linear(x, fr_weight(coef_, mask_, path_, bases_), bias);
    if (!cache_matches() || cache_is_box_ || cache_.shape() != coef_.shape()) {
      store_cache(fr_reconstruct(coef_.value(), mask_, path_, *bases_));
      cache_is_box_ = false;
    }
    return linear(x, fr_weight(coef_, mask_, path_, bases_, &cache_), bias);
  }

  /// How a forward of `rows` input rows multiplies with the current mask, in
  /// training or eval mode: FRPath::factored / spectral force those products,
  /// fftw / box the dense weight, automatic the cheapest.
  LinearProduct product(double rows = 1, bool training = false) const {
    switch (path_) {
      case FRPath::factored: return LinearProduct::factored;
      case FRPath::spectral: return LinearProduct::spectral;
      case FRPath::automatic: return cheapest_linear_product(mask_, rows, training);
      default: return LinearProduct::weight;
    }
  }
  /// Whether such a forward never forms W.
  bool never_forms_weight(double rows = 1, bool training = false) const {
    return product(rows, training) != LinearProduct::weight;
  }

  const nn::LinearOptions& options() const { return options_; }

  Var<float> weight;  ///< C, the DCT coefficients [out, in]
  Var<float> bias;    ///< [out], undefined without bias

 private:
  nn::LinearOptions options_;
  bool cache_is_box_ = false;  ///< the eval cache holds the masked box, not W
};

}  // namespace freqcap::dct
