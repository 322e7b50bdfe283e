// Conv2d with PyTorch's names, shapes and default initialisation: weight
// [out, in/groups, kh, kw], bias [out]; stride, zero padding, dilation and
// groups from a chainable Conv2dOptions. The arithmetic is autograd's conv2d.
#pragma once

#include <array>
#include <cstdint>
#include <random>

#include "freqcap/autograd/ops_conv.hpp"
#include "freqcap/nn/init.hpp"
#include "freqcap/nn/module.hpp"

namespace freqcap::nn {

/// A size given once for both axes or as {h, w}.
struct Size2 {
  Size2(std::int64_t v) : h(v), w(v) {}  // NOLINT: implicit on purpose
  Size2(std::int64_t h_, std::int64_t w_) : h(h_), w(w_) {}
  std::int64_t h, w;
};

/// `Conv2dOptions(in, out, 3).stride(2).padding(1).groups(4).bias(false)`.
struct Conv2dOptions {
  Conv2dOptions(std::int64_t in_channels, std::int64_t out_channels, Size2 kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  FREQCAP_OPTION(std::int64_t, in_channels);
  FREQCAP_OPTION(std::int64_t, out_channels);
  FREQCAP_OPTION(Size2, kernel_size);
  FREQCAP_OPTION(Size2, stride) = 1;
  FREQCAP_OPTION(Size2, padding) = 0;
  FREQCAP_OPTION(Size2, dilation) = 1;
  FREQCAP_OPTION(std::int64_t, groups) = 1;
  FREQCAP_OPTION(bool, bias) = true;

  /// The autograd op's parameters.
  Conv2dParams params() const {
    return {stride_.h, stride_.w, padding_.h, padding_.w, dilation_.h, dilation_.w, groups_};
  }
};

class Conv2d : public UnaryModule {
 public:
  explicit Conv2d(const Conv2dOptions& options, std::mt19937& rng = global_generator())
      : UnaryModule("Conv2d"), options_(options) {
    const auto& o = options;
    FREQCAP_CHECK(o.groups() >= 1 && o.in_channels() % o.groups() == 0 && o.out_channels() % o.groups() == 0,
                  "Conv2d: in_channels ", o.in_channels(), " and out_channels ", o.out_channels(),
                  " must be divisible by groups ", o.groups());
    FREQCAP_CHECK(o.kernel_size().h > 0 && o.kernel_size().w > 0 && o.stride().h > 0 && o.stride().w > 0,
                  "Conv2d: kernel size and stride must be positive");
    Tensor<float> w(Shape{o.out_channels(), o.in_channels() / o.groups(), o.kernel_size().h, o.kernel_size().w});
    Tensor<float> b(Shape{o.out_channels()});
    init::default_affine_init_(w, o.bias() ? &b : nullptr, rng);
    weight = register_parameter("weight", w);
    if (o.bias()) bias = register_parameter("bias", b);
  }

  /// x [N, in, H, W] -> [N, out, Ho, Wo].
  Var<float> forward(const Var<float>& x) override {
    FREQCAP_CHECK(x.ndim() == 4 && x.dim(1) == options_.in_channels(), "Conv2d: expected input [N, ",
                  options_.in_channels(), ", H, W], got ", shape_str(x.shape()));
    return conv2d(x, weight, bias, options_.params());
  }

  const Conv2dOptions& options() const { return options_; }

  Var<float> weight;  ///< [out, in/groups, kh, kw]
  Var<float> bias;    ///< [out], undefined without bias

 private:
  Conv2dOptions options_;
};

}  // namespace freqcap::nn
