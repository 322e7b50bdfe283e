// FRConv2d: a Conv2d whose trainable tensor is its DCT coefficient tensor C
// [out, in/groups, kh, kw], registered under torchvision's name "weight"
// (bias stays dense, as "bias"). The forward pass convolves with
// W = IDCT(C * M), M the zigzag keep-first-K mask of the current schedule
// step, reconstructed by FFTW or by the box-restricted separable path
// (whichever is cheaper); the gradient reaches C through the adjoint DCT and
// masked coefficients get zero gradient. C is initialised as DCT(W0) with W0
// PyTorch's default Conv2d init, so the starting weights have PyTorch's
// variance. Eval mode caches W.
#pragma once

#include <random>

#include "freqcap/autograd/ops_conv.hpp"
#include "freqcap/dct/fr_layer.hpp"
#include "freqcap/nn/conv.hpp"

namespace freqcap::dct {

class FRConv2d : public nn::UnaryModule, public FRLayer {
 public:
  /// Same options as nn::Conv2d plus the FR options (default min_count 128).
  explicit FRConv2d(const nn::Conv2dOptions& options, const FROptions& fr = FROptions(),
                    std::mt19937& rng = global_generator())
      : nn::UnaryModule("FRConv2d"), options_(options) {
    const auto& o = options;
    FREQCAP_CHECK(o.groups() >= 1 && o.in_channels() % o.groups() == 0 && o.out_channels() % o.groups() == 0,
                  "FRConv2d: in_channels ", o.in_channels(), " and out_channels ", o.out_channels(),
                  " must be divisible by groups ", o.groups());
    FREQCAP_CHECK(o.kernel_size().h > 0 && o.kernel_size().w > 0 && o.stride().h > 0 && o.stride().w > 0,
                  "FRConv2d: kernel size and stride must be positive");
    Tensor<float> w(Shape{o.out_channels(), o.in_channels() / o.groups(), o.kernel_size().h, o.kernel_size().w});
    Tensor<float> b(Shape{o.out_channels()});
    nn::init::default_affine_init_(w, o.bias() ? &b : nullptr, rng);
    weight = register_parameter("weight", from_dense(w));
    if (o.bias()) bias = register_parameter("bias", b);
    init_fr(weight, fr.schedule(128), fr.path(), fr.auto_step());
  }

  /// x [N, in, H, W] -> [N, out, Ho, Wo].
  Var<float> forward(const Var<float>& x) override {
    FREQCAP_CHECK(x.ndim() == 4 && x.dim(1) == options_.in_channels(), "FRConv2d: expected input [N, ",
                  options_.in_channels(), ", H, W], got ", shape_str(x.shape()));
    return conv2d(x, current_weight(), bias, options_.params());
  }

  /// W = IDCT(C * M) as a graph node (training), or from the eval cache.
  Var<float> current_weight() {
    if (is_training()) {
      begin_training_forward();
      return fr_weight(coef_, mask_, path_, bases_);
    }
    if (!cache_matches()) store_cache(fr_reconstruct(coef_.value(), mask_, path_, *bases_));
    return fr_weight(coef_, mask_, path_, bases_, &cache_);
  }

  const nn::Conv2dOptions& options() const { return options_; }

  Var<float> weight;  ///< C, the DCT coefficients [out, in/groups, kh, kw]
  Var<float> bias;    ///< [out], undefined without bias

 private:
  nn::Conv2dOptions options_;
};

}  // namespace freqcap::dct
