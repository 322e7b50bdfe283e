// ScenesCNN ("scenes_cnn"): the small fully convolutional backbone of the
// Fashion Scenes captioner (SCENES.md). No ImageNet weights exist on these
// machines, so it is pretrained by the library itself (model/
// pretrain_backbone.hpp) to name the class and the colour of single items and
// then frozen. Six conv + BN + ReLU blocks (torchvision's Conv2dNormActivation
// names: "features.<i>.0" conv, ".1" bn) with output stride 16: a 128x128
// scene gives an 8x8 map of 128 channels (64 image tokens), a 64x64 canvas a
// 4x4 map. Receptive field 107 pixels (a 42-pixel item fits in it); about
// 48 M multiply-adds (96 MFLOPs) per 128x128 image. classify() is a global
// max pool and one Linear(128, 17) whose outputs are two heads side by side:
// 10 Fashion-MNIST class logits, then 7 colour logits (scenes' colour order).
// Input: RGB as plain value / 255 in [0, 1], no mean/std normalisation.
#pragma once

#include <cstdint>
#include <memory>

#include "freqcap/backbones/blocks.hpp"

namespace freqcap::backbones {

/// features: x [N, 3, H, W] -> [N, 128, ceil(H/16), ceil(W/16)] (8x8 at 128).
class ScenesCNN : public Backbone {
 public:
  static constexpr std::int64_t num_item_classes = 10;  ///< Fashion-MNIST classes: logits [0, 10)
  static constexpr std::int64_t num_colours = 7;        ///< scenes' colours: logits [10, 17)
  static constexpr std::int64_t channels = 128;         ///< C of the feature map

  explicit ScenesCNN(std::int64_t num_classes = num_item_classes + num_colours)
      : Backbone("ScenesCNN", "scenes_cnn", channels, 16) {
    using O = ConvBNActOptions;
    features_ = register_module("features", std::make_shared<nn::Sequential>());
    auto& f = *features_;
    f.push_back(conv_bn_act(O(3, 16, 3).stride(2)));   // 0: H/2
    f.push_back(conv_bn_act(O(16, 32, 3).stride(2)));  // 1: H/4
    f.push_back(conv_bn_act(O(32, 48, 3)));            // 2
    f.emplace_back<nn::MaxPool2d>(nn::Pool2dOptions(2));  // 3: H/8
    f.push_back(conv_bn_act(O(48, 96, 3)));               // 4
    f.emplace_back<nn::MaxPool2d>(nn::Pool2dOptions(2));  // 5: H/16
    f.push_back(conv_bn_act(O(96, channels, 3)));         // 6
    f.push_back(conv_bn_act(O(channels, channels, 3)));   // 7
    fc = register_module("fc", std::make_shared<nn::Linear>(channels, num_classes));
    torchvision_init(*this, LinearInit::pytorch_default);
  }

  /// x [N, 3, H, W] (H, W >= 16) -> [N, 128, ceil(H/16), ceil(W/16)].
  Var<float> features(const Var<float>& x) override {
    check_input(x.shape());
    return features_->forward(x);
  }
  /// features [N, C, h, w] -> global max pool -> fc -> [N, num_classes].
  Var<float> classify(const Var<float>& f) override {
    FREQCAP_CHECK(f.ndim() == 4 && f.dim(1) == channels, "scenes_cnn: classify expects features [N, ", channels,
                  ", h, w], got ", shape_str(f.shape()));
    Pool2dParams p;
    p.kernel_h = f.dim(2);
    p.kernel_w = f.dim(3);
    const Var<float> pooled = max_pool2d(f, p);
    return fc->forward(reshape(pooled, Shape{f.dim(0), channels}));
  }

  std::shared_ptr<nn::Sequential> features_;  ///< "features"
  std::shared_ptr<nn::Linear> fc;             ///< "fc": 10 class + 7 colour logits
};

/// The class head of ScenesCNN logits: [N, 17] -> [N, 10].
inline Var<float> item_class_logits(const Var<float>& logits) {
  return slice(logits, 1, 0, ScenesCNN::num_item_classes);
}
/// The colour head of ScenesCNN logits: [N, 17] -> [N, 7].
inline Var<float> item_colour_logits(const Var<float>& logits) {
  return slice(logits, 1, ScenesCNN::num_item_classes, ScenesCNN::num_item_classes + ScenesCNN::num_colours);
}

}  // namespace freqcap::backbones
