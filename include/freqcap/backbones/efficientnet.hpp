// EfficientNet-B0 and -B1 from one definition, as
// torchvision.models.efficientnet_b0 / _b1 build them: features "0" a stride-2
// conv_bn_act (SiLU), "1".."7" stages of MBConv blocks (block: 1x1 expand
// unless the ratio is 1, depthwise k x k, SqueezeExcitation with
// max(1, in/4) squeeze channels, 1x1 projection without activation; a
// residual with stochastic depth when stride 1 and channels agree), "8" a 1x1
// conv_bn_act to 4x the last stage's channels; classifier "0" dropout,
// "1" linear. Width scales channels through _make_divisible, depth scales
// the repeats by ceil. BatchNorm keeps PyTorch's defaults (eps 1e-5,
// momentum 0.1) as torchvision does for B0..B4; stochastic depth grows
// linearly from 0 to 0.2 over the blocks. efficientnet_b0_fr: the same tree
// with every convolution FR (SE's too: the seed's MBConv has no SE, and a
// dense SE alone would hold 0.6M numbers) and an FR classifier linear.
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "freqcap/backbones/blocks.hpp"

namespace freqcap::backbones {

/// One stage of the B0 table before scaling.
struct MBConvConfig {
  std::int64_t expand_ratio, kernel, stride, input_channels, out_channels, num_layers;
};

/// torchvision's efficientnet.MBConv.
class MBConv : public nn::UnaryModule {
 public:
  /// With `fr`, the expand, depthwise, SE and projection convolutions are FR layers.
  MBConv(const MBConvConfig& c, double stochastic_depth_prob, const std::optional<dct::FROptions>& fr = std::nullopt)
      : UnaryModule("MBConv"), use_res_connect_(c.stride == 1 && c.input_channels == c.out_channels) {
    const std::int64_t expanded = make_divisible(static_cast<double>(c.input_channels * c.expand_ratio));
    block = register_module("block", std::make_shared<nn::Sequential>());
    if (expanded != c.input_channels)
      block->push_back(conv_bn_act(ConvBNActOptions(c.input_channels, expanded, 1).act(Act::silu).fr(fr)));
    block->push_back(conv_bn_act(
        ConvBNActOptions(expanded, expanded, c.kernel).stride(c.stride).groups(expanded).act(Act::silu).fr(fr)));
    block->emplace_back<SqueezeExcitation>(expanded, std::max<std::int64_t>(1, c.input_channels / 4), Act::silu, fr);
    block->push_back(conv_bn_act(ConvBNActOptions(expanded, c.out_channels, 1).act(Act::none).fr(fr)));
    stochastic_depth = register_module("stochastic_depth", std::make_shared<StochasticDepth>(stochastic_depth_prob));
  }
  /// x [N, in, H, W] -> [N, out, H/stride, W/stride].
  Var<float> forward(const Var<float>& x) override {
    Var<float> y = block->forward(x);
    return use_res_connect_ ? add(stochastic_depth->forward(y), x) : y;
  }
  std::shared_ptr<nn::Sequential> block;
  std::shared_ptr<StochasticDepth> stochastic_depth;

 private:
  bool use_res_connect_;
};

/// EfficientNet-B{0,1}; other (width, depth) pairs build the same family.
/// features: x [N, 3, H, W] -> [N, 1280 x width, ceil(H/32), ceil(W/32)].
class EfficientNet : public PooledBackbone {
 public:
  /// With `fr`, every convolution and the classifier's linear are FR layers
  /// (the seed's Algorithm 3 on torchvision's tree, SE included).
  EfficientNet(std::string name, double width_mult, double depth_mult, std::int64_t num_classes = 1000,
               double dropout = 0.2, double stochastic_depth_prob = 0.2,
               const std::optional<dct::FROptions>& fr = std::nullopt)
      : PooledBackbone("EfficientNet", std::move(name), 4 * make_divisible(320 * width_mult), 1) {
    const MBConvConfig b0[7] = {{1, 3, 1, 32, 16, 1},   {6, 3, 2, 16, 24, 2},   {6, 5, 2, 24, 40, 2},
                                {6, 3, 2, 40, 80, 3},   {6, 5, 1, 80, 112, 3},  {6, 5, 2, 112, 192, 4},
                                {6, 3, 1, 192, 320, 1}};
    MBConvConfig cfg[7];
    std::int64_t total_blocks = 0;
    for (int i = 0; i < 7; ++i) {
      cfg[i] = b0[i];
      cfg[i].input_channels = make_divisible(static_cast<double>(b0[i].input_channels) * width_mult);
      cfg[i].out_channels = make_divisible(static_cast<double>(b0[i].out_channels) * width_mult);
      cfg[i].num_layers = static_cast<std::int64_t>(std::ceil(static_cast<double>(b0[i].num_layers) * depth_mult));
      total_blocks += cfg[i].num_layers;
    }
    features_ = register_module("features", std::make_shared<nn::Sequential>());
    features_->push_back(conv_bn_act(ConvBNActOptions(3, cfg[0].input_channels, 3).stride(2).act(Act::silu).fr(fr)));
    std::int64_t block_id = 0;
    for (const auto& c : cfg) {
      auto stage = std::make_shared<nn::Sequential>();
      for (std::int64_t i = 0; i < c.num_layers; ++i) {
        MBConvConfig bc = c;
        if (i > 0) bc.input_channels = bc.out_channels, bc.stride = 1;
        const double sd = stochastic_depth_prob * static_cast<double>(block_id++) / static_cast<double>(total_blocks);
        stage->emplace_back<MBConv>(bc, sd, fr);
      }
      features_->push_back(stage);
    }
    features_->push_back(
        conv_bn_act(ConvBNActOptions(cfg[6].out_channels, feature_channels(), 1).act(Act::silu).fr(fr)));
    avgpool = register_module("avgpool", std::make_shared<nn::AdaptiveAvgPool2d>(1));
    classifier = register_module("classifier", std::make_shared<nn::Sequential>());
    classifier->emplace_back<nn::Dropout>(dropout);
    classifier->push_back(make_linear(feature_channels(), num_classes, fr));
    torchvision_init(*this, LinearInit::uniform_out);
  }
};

/// EfficientNet-B0 (width 1.0, depth 1.0).
inline std::shared_ptr<EfficientNet> efficientnet_b0(std::int64_t num_classes = 1000) {
  return std::make_shared<EfficientNet>("efficientnet_b0", 1.0, 1.0, num_classes);
}
/// EfficientNet-B1 (width 1.0, depth 1.1).
inline std::shared_ptr<EfficientNet> efficientnet_b1(std::int64_t num_classes = 1000) {
  return std::make_shared<EfficientNet>("efficientnet_b1", 1.0, 1.1, num_classes);
}
/// EfficientNet-B0 with FR layers (see EfficientNet's constructor).
inline std::shared_ptr<EfficientNet> efficientnet_b0_fr(std::int64_t num_classes = 1000,
                                                        const dct::FROptions& fr = dct::FROptions()) {
  return std::make_shared<EfficientNet>("efficientnet_b0_fr", 1.0, 1.0, num_classes, 0.2, 0.2, fr);
}

}  // namespace freqcap::backbones
