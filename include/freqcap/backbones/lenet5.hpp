// LeNet-5, the 0.4M variant of the Frequency Regularization paper (and of
// Caffe's LeNet): conv 1->20 5x5, [BN], ReLU, max-pool 2 -> conv 20->50 5x5,
// [BN], ReLU, max-pool 2 -> flatten (50*4*4 = 800) -> fc 800->500, ReLU ->
// fc 500->10, on [N, 1, 28, 28] digits: 430,500 weights, 580 biases. Module
// names conv1, bn1, conv2, bn2, fc1, [bn3], fc2. The FR twin replaces all
// four weights by dct::FRConv2d / dct::FRLinear with per-layer FROptions
// (biases and BatchNorm stay dense).
//
// LeNet5Options::fc_batch_norm adds a BatchNorm1d (bn3) between fc1 and its
// ReLU. In the FR twin it gives each of fc1's 500 outputs its
// own scale and shift (1,000 dense numbers) on top of the few low-frequency
// coefficients, whose reconstructed rows otherwise vary slowly from one
// output to the next. Measured at 776 coefficients on MNIST: no gain in the
// FR-dense gap (docs/compression.md), so it is off by default.
//
// The flatten before fc1 reads the [50, 4, 4] map in PyTorch's (c, y, x)
// order by default; LeNet5Flatten::hwc reads it as (y, x, c). The two are the
// same dense model up to a permutation of fc1's columns, but not the same FR
// model: fc1's DCT runs along the 800 flattened inputs, and its few kept low
// frequencies vary slowly along that axis. In (c, y, x) order a slow
// variation is constant over each channel's 16 positions, so the FR fc1 can
// only see spatially summed channels; in (y, x, c) order it is smooth over
// the channels of one position instead (conv2's output is itself smooth over
// channels, its out-channel axis being DCT-truncated) and keeps the layout.
// Measured at 776 coefficients on MNIST: hwc fits the training set better and
// tests about a point worse (docs/compression.md), so chw stays the default.
//
// LeNet5Flatten::conv does not flatten: fc1 is a 4x4 convolution over the
// [50, 4, 4] map, weight [500, 50, 4, 4]. That is the chw Linear, the same
// bytes and the same initial draws, so the dense twins agree. An FR fc1 then
// ranks its coefficients over (out, channel, y, x): its few kept ones span
// every spatial frequency of the 4x4 map and low ones over the channels,
// where the chw Linear's are nearly constant over each channel's positions.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>

#include "freqcap/autograd/ops_pool.hpp"
#include "freqcap/autograd/ops_shape.hpp"
#include "freqcap/backbones/blocks.hpp"

namespace freqcap::backbones {

/// Per-layer FR options for conv1, conv2, fc1, fc2 (nullopt: that layer dense).
using LeNet5FR = std::array<std::optional<dct::FROptions>, 4>;

/// How fc1 reads conv2's pooled [C, 4, 4] map: flattened in (c, y, x) or
/// (y, x, c) order, or as a 4x4 convolution.
enum class LeNet5Flatten { chw, hwc, conv };

/// `LeNet5Options().fc_batch_norm(true)`.
struct LeNet5Options {
  FREQCAP_OPTION(bool, batch_norm) = true;       ///< BatchNorm2d after each conv (bn1, bn2)
  FREQCAP_OPTION(bool, fc_batch_norm) = false;   ///< BatchNorm1d after fc1 (bn3)
  FREQCAP_OPTION(LeNet5Flatten, flatten) = LeNet5Flatten::chw;
  FREQCAP_OPTION(std::int64_t, num_classes) = 10;
};

class LeNet5 : public nn::UnaryModule {
 public:
  /// Dense with no `fr`.
  explicit LeNet5(const LeNet5FR& fr = {}, const LeNet5Options& options = {})
      : nn::UnaryModule("LeNet5"), options_(options) {
    conv1 = register_module("conv1", make_conv(nn::Conv2dOptions(1, 20, 5), fr[0]));
    if (options.batch_norm()) bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(20));
    conv2 = register_module("conv2", make_conv(nn::Conv2dOptions(20, 50, 5), fr[1]));
    if (options.batch_norm()) bn2 = register_module("bn2", std::make_shared<nn::BatchNorm2d>(50));
    fc1 = register_module("fc1", options.flatten() == LeNet5Flatten::conv
                                     ? make_conv(nn::Conv2dOptions(50, 500, 4), fr[2])
                                     : make_linear(800, 500, fr[2]));
    if (options.fc_batch_norm()) bn3 = register_module("bn3", std::make_shared<nn::BatchNorm1d>(500));
    fc2 = register_module("fc2", make_linear(500, options.num_classes(), fr[3]));
  }

  /// x [N, 1, 28, 28] -> logits [N, num_classes].
  Var<float> forward(const Var<float>& x) override {
    FREQCAP_CHECK(x.ndim() == 4 && x.dim(1) == 1 && x.dim(2) == 28 && x.dim(3) == 28,
                  "LeNet5: expected an input [N, 1, 28, 28], got ", shape_str(x.shape()));
    Var<float> h = conv1->forward(x);
    if (bn1) h = bn1->forward(h);
    h = max_pool2d(relu(h), 2);
    h = conv2->forward(h);
    if (bn2) h = bn2->forward(h);
    h = max_pool2d(relu(h), 2);
    if (options_.flatten() == LeNet5Flatten::hwc) h = permute(h, {0, 2, 3, 1});
    if (options_.flatten() == LeNet5Flatten::conv)
      h = reshape(fc1->forward(h), Shape{h.dim(0), -1});  // [N, 500, 1, 1] -> [N, 500]
    else
      h = fc1->forward(reshape(h, Shape{h.dim(0), -1}));
    if (bn3) h = bn3->forward(h);
    h = relu(h);
    return fc2->forward(h);
  }

  /// The four weight counts (conv1, conv2, fc1, fc2): 500, 25000, 400000, 5000.
  static std::array<std::int64_t, 4> weight_counts(std::int64_t num_classes = 10) {
    return {20 * 1 * 25, 50 * 20 * 25, 500 * 800, num_classes * 500};
  }

  std::shared_ptr<nn::UnaryModule> conv1, conv2, fc1, fc2;
  std::shared_ptr<nn::BatchNorm2d> bn1, bn2;
  std::shared_ptr<nn::BatchNorm1d> bn3;

 private:
  LeNet5Options options_;
};

}  // namespace freqcap::backbones
