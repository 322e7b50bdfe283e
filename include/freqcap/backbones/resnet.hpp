// ResNet-50 as torchvision.models.resnet50 builds it (v1.5: the stride sits
// in the 3x3 convolution of a bottleneck): conv1, bn1, relu, maxpool,
// layer1..layer4 of Bottleneck blocks [3, 4, 6, 3] (conv1/bn1, conv2/bn2,
// conv3/bn3, downsample "0" conv + "1" bn), avgpool, fc. features(x) is the
// output of layer4 ([N, 2048, H/32, W/32]).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "freqcap/backbones/blocks.hpp"

namespace freqcap::backbones {

/// torchvision's Bottleneck (expansion 4).
class Bottleneck : public nn::UnaryModule {
 public:
  static constexpr std::int64_t expansion = 4;
  Bottleneck(std::int64_t inplanes, std::int64_t planes, std::int64_t stride) : UnaryModule("Bottleneck") {
    using nn::Conv2dOptions;
    const std::int64_t out = planes * expansion;
    conv1 = register_module("conv1", std::make_shared<nn::Conv2d>(Conv2dOptions(inplanes, planes, 1).bias(false)));
    bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(planes));
    conv2 = register_module("conv2", std::make_shared<nn::Conv2d>(
                                         Conv2dOptions(planes, planes, 3).stride(stride).padding(1).bias(false)));
    bn2 = register_module("bn2", std::make_shared<nn::BatchNorm2d>(planes));
    conv3 = register_module("conv3", std::make_shared<nn::Conv2d>(Conv2dOptions(planes, out, 1).bias(false)));
    bn3 = register_module("bn3", std::make_shared<nn::BatchNorm2d>(out));
    if (stride != 1 || inplanes != out) {
      downsample = register_module("downsample", std::make_shared<nn::Sequential>());
      downsample->emplace_back<nn::Conv2d>(Conv2dOptions(inplanes, out, 1).stride(stride).bias(false));
      downsample->emplace_back<nn::BatchNorm2d>(out);
    }
  }
  /// x [N, inplanes, H, W] -> [N, 4 planes, H/stride, W/stride]. Inference
  /// folds each BatchNorm into its convolution (conv_bn).
  Var<float> forward(const Var<float>& x) override {
    Var<float> h = conv_bn(*conv1, *bn1, x, kernels::Act::relu);
    h = conv_bn(*conv2, *bn2, h, kernels::Act::relu);
    h = conv_bn(*conv3, *bn3, h, std::nullopt);
    const Var<float> identity =
        downsample ? conv_bn(*downsample->at<nn::Conv2d>(0), *downsample->at<nn::BatchNorm2d>(1), x, std::nullopt) : x;
    if (grad_mode_enabled()) return relu(add(h, identity));
    // Without a graph h is this block's own fresh tensor: sum and ReLU in place.
    Tensor<float>& t = h.value();
    const Tensor<float> id = identity.value().contiguous();
    FREQCAP_CHECK(t.shape() == id.shape(), "Bottleneck: residual ", shape_str(id.shape()), " for output ",
                  shape_str(t.shape()));
    const auto n = static_cast<std::size_t>(t.numel());
    kernels::add(t.data(), id.data(), t.data(), n);
    kernels::activation_forward(kernels::Act::relu, t.data(), t.data(), n);
    return h;
  }
  std::shared_ptr<nn::Conv2d> conv1, conv2, conv3;
  std::shared_ptr<nn::BatchNorm2d> bn1, bn2, bn3;
  std::shared_ptr<nn::Sequential> downsample;  ///< null when the shapes agree
};

class ResNet50 : public Backbone {
 public:
  explicit ResNet50(std::int64_t num_classes = 1000) : Backbone("ResNet", "resnet50", 2048, 1) {
    conv1 = register_module("conv1", std::make_shared<nn::Conv2d>(
                                         nn::Conv2dOptions(3, 64, 7).stride(2).padding(3).bias(false)));
    bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(64));
    relu_ = register_module("relu", std::make_shared<nn::ReLU>());
    maxpool = register_module("maxpool", std::make_shared<nn::MaxPool2d>(nn::Pool2dOptions(3).stride(2).padding(1)));
    const std::int64_t blocks[4] = {3, 4, 6, 3};
    std::int64_t inplanes = 64;
    for (int i = 0; i < 4; ++i) {
      const std::int64_t planes = 64 << i;
      auto layer = std::make_shared<nn::Sequential>();
      for (std::int64_t b = 0; b < blocks[i]; ++b) {
        layer->emplace_back<Bottleneck>(inplanes, planes, b == 0 && i > 0 ? 2 : 1);
        inplanes = planes * Bottleneck::expansion;
      }
      layers[i] = register_module("layer" + std::to_string(i + 1), layer);
    }
    avgpool = register_module("avgpool", std::make_shared<nn::AdaptiveAvgPool2d>(1));
    fc = register_module("fc", std::make_shared<nn::Linear>(2048, num_classes));
    torchvision_init(*this, LinearInit::pytorch_default);
  }

  /// x [N, 3, H, W] -> layer4's output [N, 2048, ceil(H/32), ceil(W/32)].
  Var<float> features(const Var<float>& x) override {
    check_input(x.shape());
    Var<float> h = maxpool->forward(conv_bn(*conv1, *bn1, x, kernels::Act::relu));
    for (auto& l : layers) h = l->forward(h);
    return h;
  }
  /// features [N, C, h, w] -> [N, num_classes].
  Var<float> classify(const Var<float>& f) override {
    Var<float> h = avgpool->forward(f);
    return fc->forward(reshape(h, Shape{h.dim(0), -1}));
  }

  std::shared_ptr<nn::Conv2d> conv1;
  std::shared_ptr<nn::BatchNorm2d> bn1;
  std::shared_ptr<nn::ReLU> relu_;
  std::shared_ptr<nn::MaxPool2d> maxpool;
  std::shared_ptr<nn::Sequential> layers[4];  ///< layer1..layer4
  std::shared_ptr<nn::AdaptiveAvgPool2d> avgpool;
  std::shared_ptr<nn::Linear> fc;
};

}  // namespace freqcap::backbones
