// MobileNetV2 as torchvision.models.mobilenet_v2 builds it: features "0" a
// stride-2 conv_bn_act (ReLU6), "1".."17" InvertedResidual blocks (each a
// `conv` Sequential: 1x1 expand + ReLU6 unless t = 1, 3x3 depthwise + ReLU6,
// 1x1 linear projection, BN; a residual when stride 1 and channels agree),
// "18" a 1x1 conv_bn_act to 1280; classifier "0" dropout, "1" linear.
// Channels go through _make_divisible(c * width_mult, 8).
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>

#include "freqcap/backbones/blocks.hpp"

namespace freqcap::backbones {

/// torchvision's mobilenetv2.InvertedResidual.
class InvertedResidual : public nn::UnaryModule {
 public:
  InvertedResidual(std::int64_t inp, std::int64_t oup, std::int64_t stride, std::int64_t expand_ratio)
      : UnaryModule("InvertedResidual"), use_res_connect_(stride == 1 && inp == oup) {
    const auto hidden = static_cast<std::int64_t>(std::lround(static_cast<double>(inp * expand_ratio)));
    conv = register_module("conv", std::make_shared<nn::Sequential>());
    if (expand_ratio != 1) conv->push_back(conv_bn_act(ConvBNActOptions(inp, hidden, 1).act(Act::relu6)));
    conv->push_back(
        conv_bn_act(ConvBNActOptions(hidden, hidden, 3).stride(stride).groups(hidden).act(Act::relu6)));
    conv->emplace_back<nn::Conv2d>(nn::Conv2dOptions(hidden, oup, 1).bias(false));
    conv->emplace_back<nn::BatchNorm2d>(oup);
  }
  /// x [N, inp, H, W] -> [N, oup, H/stride, W/stride].
  Var<float> forward(const Var<float>& x) override {
    Var<float> y = conv->forward(x);
    return use_res_connect_ ? add(x, y) : y;
  }
  std::shared_ptr<nn::Sequential> conv;

 private:
  bool use_res_connect_;
};

class MobileNetV2 : public Backbone {
 public:
  explicit MobileNetV2(std::int64_t num_classes = 1000, double width_mult = 1.0, double dropout = 0.2)
      : Backbone("MobileNetV2", "mobilenet_v2", make_divisible(1280 * std::max(1.0, width_mult)), 1) {
    // t (expansion), c (channels), n (repeats), s (stride of the first)
    const std::int64_t setting[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                        {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
    std::int64_t input_channel = make_divisible(32 * width_mult);
    const std::int64_t last_channel = feature_channels();
    features_ = register_module("features", std::make_shared<nn::Sequential>());
    features_->push_back(conv_bn_act(ConvBNActOptions(3, input_channel, 3).stride(2).act(Act::relu6)));
    for (const auto& [t, c, n, s] : setting) {
      const std::int64_t out = make_divisible(static_cast<double>(c) * width_mult);
      for (std::int64_t i = 0; i < n; ++i) {
        features_->emplace_back<InvertedResidual>(input_channel, out, i == 0 ? s : 1, t);
        input_channel = out;
      }
    }
    features_->push_back(conv_bn_act(ConvBNActOptions(input_channel, last_channel, 1).act(Act::relu6)));
    classifier = register_module("classifier", std::make_shared<nn::Sequential>());
    classifier->emplace_back<nn::Dropout>(dropout);
    classifier->emplace_back<nn::Linear>(last_channel, num_classes);
    torchvision_init(*this, LinearInit::normal_001);
  }

  /// x [N, 3, H, W] -> [N, 1280, ceil(H/32), ceil(W/32)].
  Var<float> features(const Var<float>& x) override {
    check_input(x.shape());
    return features_->forward(x);
  }
  /// features [N, C, h, w] -> [N, num_classes].
  Var<float> classify(const Var<float>& f) override {
    Var<float> h = adaptive_avg_pool2d(f, 1, 1);
    return classifier->forward(reshape(h, Shape{h.dim(0), -1}));
  }

  std::shared_ptr<nn::Sequential> features_;  ///< "features"
  std::shared_ptr<nn::Sequential> classifier;
};

}  // namespace freqcap::backbones
