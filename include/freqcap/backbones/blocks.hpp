// Shared machinery of the backbones (ref: torchvision.ops.misc and
// torchvision.models.*): the Backbone base class (features / logits / input
// checks), torchvision's Conv2dNormActivation as conv_bn_act (a Sequential
// "0" conv, "1" bn, "2" activation, so names match), SqueezeExcitation,
// StochasticDepth (mode "row"), _make_divisible, and a per-channel scale op
// for SE. Each architecture file holds only its topology.
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>

#include "freqcap/backbones/conv_norm_act.hpp"
#include "freqcap/dct/fr_conv.hpp"
#include "freqcap/dct/fr_linear.hpp"
#include "freqcap/nn/nn.hpp"

namespace freqcap::backbones {

/// A CNN with torchvision's module tree: features(x) gives the last feature
/// map, forward(x) the classifier logits.
class Backbone : public nn::UnaryModule {
 public:
  Backbone(const std::string& type_name, std::string name, std::int64_t feature_channels,
           std::int64_t min_input_size)
      : UnaryModule(type_name),
        name_(std::move(name)),
        feature_channels_(feature_channels),
        min_input_size_(min_input_size) {}

  /// x [N, 3, H, W] -> last feature map [N, C, h, w].
  virtual Var<float> features(const Var<float>& x) = 0;
  /// Last feature map [N, C, h, w] -> logits [N, num_classes] (pooling + classifier).
  virtual Var<float> classify(const Var<float>& features) = 0;
  /// x [N, 3, H, W] -> logits [N, num_classes].
  Var<float> forward(const Var<float>& x) override { return classify(features(x)); }

  /// "alexnet", "resnet50", ... (the factory's name).
  const std::string& name() const { return name_; }
  /// C of the feature map.
  std::int64_t feature_channels() const { return feature_channels_; }
  /// The smallest H (and W) for which the features are non-empty.
  std::int64_t min_input_size() const { return min_input_size_; }

  /// Throws freqcap::Error unless x is [N, 3, H, W] with H, W >= min_input_size().
  void check_input(const Shape& x) const {
    FREQCAP_CHECK(x.size() == 4 && x[1] == 3 && x[0] >= 1, name_, ": expected an input [N, 3, H, W], got ",
                  shape_str(x));
    FREQCAP_CHECK(x[2] >= min_input_size_ && x[3] >= min_input_size_, name_, ": input of ", x[2], "x", x[3],
                  " pixels (H x W) is smaller than the network's minimum of ", min_input_size_, "x",
                  min_input_size_);
  }

  /// Inference without a graph: x [N, 3, H, W] -> features [N, C, h, w].
  Tensor<float> extract_features(const Tensor<float>& x) {
    NoGradGuard ng;
    return features(Var<float>(x)).value();
  }
  /// Inference without a graph: x [N, 3, H, W] -> logits [N, classes].
  Tensor<float> predict(const Tensor<float>& x) {
    NoGradGuard ng;
    return forward(Var<float>(x)).value();
  }

 private:
  std::string name_;
  std::int64_t feature_channels_;
  std::int64_t min_input_size_;
};

/// torchvision's features -> avgpool -> flatten -> classifier layout (AlexNet,
/// EfficientNet): subclasses fill the three modules, registered in that order.
class PooledBackbone : public Backbone {
 public:
  using Backbone::Backbone;

  /// x [N, 3, H, W] -> the last feature map of `features`.
  Var<float> features(const Var<float>& x) override {
    check_input(x.shape());
    return features_->forward(x);
  }
  /// features [N, C, h, w] -> [N, num_classes].
  Var<float> classify(const Var<float>& f) override {
    Var<float> h = avgpool->forward(f);
    return classifier->forward(reshape(h, Shape{h.dim(0), -1}));
  }

  std::shared_ptr<nn::Sequential> features_;  ///< "features"
  std::shared_ptr<nn::AdaptiveAvgPool2d> avgpool;
  std::shared_ptr<nn::Sequential> classifier;
};

/// The activation after a conv + BN.
enum class Act { none, relu, relu6, silu };

/// torchvision's _make_divisible: v rounded to a multiple of divisor, never
/// below divisor and never more than 10% below v.
inline std::int64_t make_divisible(double v, std::int64_t divisor = 8) {
  std::int64_t nv = std::max<std::int64_t>(divisor, static_cast<std::int64_t>(v + divisor / 2.0) / divisor * divisor);
  if (static_cast<double>(nv) < 0.9 * v) nv += divisor;
  return nv;
}

/// Options of conv_bn_act: `ConvBNActOptions(in, out, k).stride(2).groups(g).act(Act::silu)`.
struct ConvBNActOptions {
  ConvBNActOptions(std::int64_t in, std::int64_t out, std::int64_t kernel)
      : in_(in), out_(out), kernel_(kernel) {}
  FREQCAP_OPTION(std::int64_t, in);
  FREQCAP_OPTION(std::int64_t, out);
  FREQCAP_OPTION(std::int64_t, kernel);
  FREQCAP_OPTION(std::int64_t, stride) = 1;
  FREQCAP_OPTION(std::int64_t, groups) = 1;
  FREQCAP_OPTION(Act, act) = Act::relu;
  FREQCAP_OPTION(double, bn_eps) = 1e-5;
  FREQCAP_OPTION(double, bn_momentum) = 0.1;
  /// When set, the convolution is a dct::FRConv2d with these options.
  FREQCAP_OPTION(std::optional<dct::FROptions>, fr);
};

/// A Conv2d, or a dct::FRConv2d (same names and shapes) when `fr` is set.
inline std::shared_ptr<nn::UnaryModule> make_conv(const nn::Conv2dOptions& o,
                                                  const std::optional<dct::FROptions>& fr = std::nullopt) {
  if (fr) return std::make_shared<dct::FRConv2d>(o, *fr);
  return std::make_shared<nn::Conv2d>(o);
}
/// A Linear, or a dct::FRLinear (same names and shapes) when `fr` is set.
inline std::shared_ptr<nn::UnaryModule> make_linear(std::int64_t in, std::int64_t out,
                                                    const std::optional<dct::FROptions>& fr = std::nullopt) {
  if (fr) return std::make_shared<dct::FRLinear>(in, out, *fr);
  return std::make_shared<nn::Linear>(in, out);
}

/// How torchvision initialises a backbone's Linear layers.
enum class LinearInit {
  pytorch_default,  ///< nn.Linear's own (AlexNet, ResNet)
  uniform_out,      ///< U(-1/sqrt(out), 1/sqrt(out)), zero bias (EfficientNet)
  normal_001,       ///< N(0, 0.01^2), zero bias (MobileNetV2)
};

/// torchvision's weight initialisation of a backbone: every convolution
/// kaiming_normal_(mode="fan_out") with zero bias, Linear layers per
/// `linear`; BatchNorm stays 1 / 0. FR layers get DCT(W0) of the same dense W0.
inline void torchvision_init(nn::Module& root, LinearInit linear) {
  auto init_conv = [](Tensor<float>& w, Var<float>& bias) {
    nn::init::kaiming_normal_(w, 0.0, nn::init::FanMode::fan_out);
    if (bias.defined()) nn::init::zeros_(bias.value());
  };
  auto init_linear = [linear](Tensor<float>& w, Var<float>& bias) {
    const double out = static_cast<double>(w.dim(0));
    if (linear == LinearInit::uniform_out) nn::init::uniform_(w, -1.0 / std::sqrt(out), 1.0 / std::sqrt(out));
    else nn::init::normal_(w, 0.0, 0.01);
    if (bias.defined()) nn::init::zeros_(bias.value());
  };
  NoGradGuard ng;
  for (auto& [name, m] : root.named_modules()) {
    if (auto* c = dynamic_cast<nn::Conv2d*>(m.get())) {
      init_conv(c->weight.value(), c->bias);
    } else if (auto* fc = dynamic_cast<dct::FRConv2d*>(m.get())) {
      Tensor<float> w(fc->weight.shape());
      init_conv(w, fc->bias);
      fc->load_dense_weight(w);
    } else if (linear == LinearInit::pytorch_default) {
      continue;
    } else if (auto* l = dynamic_cast<nn::Linear*>(m.get())) {
      init_linear(l->weight.value(), l->bias);
    } else if (auto* fl = dynamic_cast<dct::FRLinear*>(m.get())) {
      Tensor<float> w(fl->weight.shape());
      init_linear(w, fl->bias);
      fl->load_dense_weight(w);
    }
  }
}

/// torchvision's Conv2dNormActivation: "0" Conv2d without bias, padding
/// (k-1)/2; "1" BatchNorm2d; "2" activation unless Act::none. Inference folds
/// the BatchNorm into the convolution (backbones/conv_norm_act.hpp).
inline std::shared_ptr<Conv2dNormActivation> conv_bn_act(const ConvBNActOptions& o) {
  auto conv = make_conv(nn::Conv2dOptions(o.in(), o.out(), o.kernel())
                            .stride(o.stride())
                            .padding((o.kernel() - 1) / 2)
                            .groups(o.groups())
                            .bias(false),
                        o.fr());
  auto bn = std::make_shared<nn::BatchNorm2d>(nn::BatchNorm2dOptions(o.out()).eps(o.bn_eps()).momentum(o.bn_momentum()));
  std::shared_ptr<nn::UnaryModule> act;
  std::optional<kernels::Act> kind;
  switch (o.act()) {
    case Act::none: break;
    case Act::relu: act = std::make_shared<nn::ReLU>(), kind = kernels::Act::relu; break;
    case Act::relu6: act = std::make_shared<nn::ReLU6>(), kind = kernels::Act::relu6; break;
    case Act::silu: act = std::make_shared<nn::SiLU>(), kind = kernels::Act::silu; break;
  }
  return std::make_shared<Conv2dNormActivation>(std::move(conv), std::move(bn), std::move(act), kind);
}

/// y[n, c, h, w] = x[n, c, h, w] * s[n, c] for x [N, C, H, W], s [N, C, 1, 1]
/// (differentiable in both).
template <class T>
Var<T> scale_channels(const Var<T>& x, const Var<T>& s) {
  FREQCAP_CHECK(x.ndim() == 4 && s.ndim() == 4 && s.dim(0) == x.dim(0) && s.dim(1) == x.dim(1) && s.dim(2) == 1 &&
                    s.dim(3) == 1,
                "scale_channels: expected x [N, C, H, W] and s [N, C, 1, 1], got ", shape_str(x.shape()), " and ",
                shape_str(s.shape()));
  const std::int64_t planes = x.dim(0) * x.dim(1), hw = x.dim(2) * x.dim(3);
  const Tensor<T> xc = x.value().contiguous(), sc = s.value().contiguous();
  Tensor<T> y = Tensor<T>::empty(x.shape());
  const T* px = xc.data();
  const T* ps = sc.data();
  T* py = y.data();
#pragma omp parallel for schedule(static) if (planes * hw > (1 << 16))
  for (std::int64_t p = 0; p < planes; ++p) {
    const T k = ps[p];
    for (std::int64_t i = 0; i < hw; ++i) py[p * hw + i] = px[p * hw + i] * k;
  }
  return Var<T>::make(std::move(y), {x, s}, "scale_channels", [x, s, xc, sc, planes, hw](const Tensor<T>& g) {
    const Tensor<T> gc = g.contiguous();
    const T* pg = gc.data();
    if (x.requires_grad()) {
      Tensor<T> dx = Tensor<T>::empty(x.shape());
      for (std::int64_t p = 0; p < planes; ++p)
        for (std::int64_t i = 0; i < hw; ++i) dx.data()[p * hw + i] = pg[p * hw + i] * sc.data()[p];
      x.accumulate(dx);
    }
    if (s.requires_grad()) {
      Tensor<T> ds = Tensor<T>::empty(s.shape());
      for (std::int64_t p = 0; p < planes; ++p) {
        double acc = 0;
        for (std::int64_t i = 0; i < hw; ++i) acc += double(pg[p * hw + i]) * xc.data()[p * hw + i];
        ds.data()[p] = static_cast<T>(acc);
      }
      s.accumulate(ds);
    }
  });
}

/// torchvision.ops.SqueezeExcitation: x * sigmoid(fc2(act(fc1(avgpool(x))))),
/// fc1/fc2 1x1 convolutions with bias (FR convolutions when `fr` is set).
class SqueezeExcitation : public nn::UnaryModule {
 public:
  SqueezeExcitation(std::int64_t channels, std::int64_t squeeze_channels, Act act = Act::silu,
                    const std::optional<dct::FROptions>& fr = std::nullopt)
      : UnaryModule("SqueezeExcitation"), act_(act) {
    avgpool = register_module("avgpool", std::make_shared<nn::AdaptiveAvgPool2d>(1));
    fc1 = register_module("fc1", make_conv(nn::Conv2dOptions(channels, squeeze_channels, 1), fr));
    fc2 = register_module("fc2", make_conv(nn::Conv2dOptions(squeeze_channels, channels, 1), fr));
  }
  /// x [N, C, H, W] -> [N, C, H, W].
  Var<float> forward(const Var<float>& x) override {
    Var<float> s = fc1->forward(avgpool->forward(x));
    s = act_ == Act::relu ? relu(s) : silu(s);
    return scale_channels(x, sigmoid(fc2->forward(s)));
  }
  std::shared_ptr<nn::AdaptiveAvgPool2d> avgpool;
  std::shared_ptr<nn::UnaryModule> fc1, fc2;

 private:
  Act act_;
};

/// torchvision.ops.StochasticDepth(p, "row"): in training each sample's
/// residual branch is dropped with probability p and the kept ones are scaled
/// by 1/(1-p); identity in eval. Draws from freqcap's global generator.
class StochasticDepth : public nn::UnaryModule {
 public:
  explicit StochasticDepth(double p) : UnaryModule("StochasticDepth"), p_(p) {
    FREQCAP_CHECK(p >= 0.0 && p <= 1.0, "StochasticDepth: probability ", p, " must lie in [0, 1]");
  }
  /// x [N, ...] -> x [N, ...].
  Var<float> forward(const Var<float>& x) override {
    if (!is_training() || p_ == 0.0) return x;
    const double survival = 1.0 - p_;
    Shape ms(x.ndim(), 1);
    ms[0] = x.dim(0);
    Tensor<float> mask(ms);
    std::bernoulli_distribution keep(survival);
    for (std::int64_t n = 0; n < x.dim(0); ++n)
      mask.data()[n] = survival > 0.0 && keep(global_generator()) ? static_cast<float>(1.0 / survival) : 0.0f;
    return mul(x, Var<float>(mask));
  }
  double p() const { return p_; }

 private:
  double p_;
};

}  // namespace freqcap::backbones
