// AlexNet as torchvision.models.alexnet builds it: features (five
// convolutions, three max pools), avgpool (adaptive 6x6), classifier (two
// dropout + linear + ReLU, then linear). Same names and parameter count
// as torchvision. The features need H, W >= 63. alexnet_fr is the same tree
// with FR convolutions and linears.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "freqcap/backbones/blocks.hpp"

namespace freqcap::backbones {

/// features: x [N, 3, H, W] -> [N, 256, h, w] (h = 6 at 224).
class AlexNet : public PooledBackbone {
 public:
  /// With `fr`, every convolution and linear layer is an FR layer (the
  /// seed's Algorithm 2) and the backbone is named "alexnet_fr".
  explicit AlexNet(std::int64_t num_classes = 1000, double dropout = 0.5,
                   const std::optional<dct::FROptions>& fr = std::nullopt)
      : PooledBackbone("AlexNet", fr ? "alexnet_fr" : "alexnet", 256, 63) {
    using nn::Conv2dOptions, nn::Pool2dOptions;
    features_ = register_module("features", std::make_shared<nn::Sequential>());
    auto& f = *features_;
    f.push_back(make_conv(Conv2dOptions(3, 64, 11).stride(4).padding(2), fr));
    f.emplace_back<nn::ReLU>();
    f.emplace_back<nn::MaxPool2d>(Pool2dOptions(3).stride(2));
    f.push_back(make_conv(Conv2dOptions(64, 192, 5).padding(2), fr));
    f.emplace_back<nn::ReLU>();
    f.emplace_back<nn::MaxPool2d>(Pool2dOptions(3).stride(2));
    f.push_back(make_conv(Conv2dOptions(192, 384, 3).padding(1), fr));
    f.emplace_back<nn::ReLU>();
    f.push_back(make_conv(Conv2dOptions(384, 256, 3).padding(1), fr));
    f.emplace_back<nn::ReLU>();
    f.push_back(make_conv(Conv2dOptions(256, 256, 3).padding(1), fr));
    f.emplace_back<nn::ReLU>();
    f.emplace_back<nn::MaxPool2d>(Pool2dOptions(3).stride(2));
    avgpool = register_module("avgpool", std::make_shared<nn::AdaptiveAvgPool2d>(nn::Size2(6, 6)));
    classifier = register_module("classifier", std::make_shared<nn::Sequential>());
    auto& c = *classifier;
    c.emplace_back<nn::Dropout>(dropout);
    c.push_back(make_linear(256 * 6 * 6, 4096, fr));
    c.emplace_back<nn::ReLU>();
    c.emplace_back<nn::Dropout>(dropout);
    c.push_back(make_linear(4096, 4096, fr));
    c.emplace_back<nn::ReLU>();
    c.push_back(make_linear(4096, num_classes, fr));
  }
};

}  // namespace freqcap::backbones
