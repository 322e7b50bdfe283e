// Convolution + BatchNorm (+ activation) with the BatchNorm folded into the
// convolution for inference: eval mode, no graph. One convolution then
// writes the activations, and the activation runs in place on them, instead
// of three passes over them and two more tensors. conv_bn runs that for any
// pair of modules (ResNet's bottlenecks call it); Conv2dNormActivation is
// torchvision's module of that name, a Sequential of "0" convolution, "1"
// BatchNorm2d and "2" activation (names and state dicts as torchvision's),
// folding the same way. Training, graphs and FR convolutions run the modules
// in turn.
//
// Folding: with a = gamma / sqrt(running_var + eps), the convolution runs
// with weights w * a (per output channel) and bias beta + (b - running_mean) * a,
// b the convolution's own bias (0 without). It rounds differently from the
// unfused chain (a * sum(w x) against sum((a w) x)); the parity tests against
// PyTorch (1e-5 of the output scale) cover both paths.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

#include "freqcap/kernels/elementwise.hpp"
#include "freqcap/kernels/table.hpp"
#include "freqcap/kernels/workspace.hpp"
#include "freqcap/nn/nn.hpp"

namespace freqcap::backbones {

/// Whether conv_bn folds bn into conv now: no graph, both modules in eval
/// mode, and bn keeping running statistics.
inline bool folds_batch_norm(const nn::Conv2d& conv, const nn::BatchNorm2d& bn) {
  return !grad_mode_enabled() && !conv.is_training() && !bn.is_training() && bn.options().track_running_stats();
}

/// act(bn(conv(x))) with bn folded into conv, whatever the modules' modes;
/// no graph is built, so grad mode must be off (conv_bn calls it when
/// folds_batch_norm). The folded weights go into a per-thread buffer reused
/// across calls, computed over the threads: a fresh tensor a call faulted in
/// new pages for every layer, and folding (then packing) ResNet-50's 23.5M
/// weights on one thread cost a fifth of its batch-1 forward at two threads
/// (benchmarks/README.md).
inline Var<float> folded_conv_bn(const nn::Conv2d& conv, const nn::BatchNorm2d& bn, const Var<float>& x,
                                 std::optional<kernels::Act> act) {
  FREQCAP_CHECK(!grad_mode_enabled(), "folded_conv_bn: inference only (grad mode is on)");
  const Tensor<float> w = conv.weight.value().contiguous();
  const freqcap::detail::ConvGeom g = freqcap::detail::conv_geom(x.shape(), w.shape(), conv.options().params());
  const auto outs = static_cast<std::size_t>(w.dim(0)), per = static_cast<std::size_t>(w.numel()) / outs;
  float* wf = kernels::detail::scratch(kernels::detail::Scratch::folded_weights).data(outs * per + outs);
  float* bf = wf + outs * per;
  const float eps = static_cast<float>(bn.options().eps());
  const float* wd = w.data();
  const auto n = static_cast<std::ptrdiff_t>(outs);
FREQCAP_OMP(parallel for schedule(static) if (kernels::worth_parallel(outs * per)))
  for (std::ptrdiff_t oi = 0; oi < n; ++oi) {
    const auto o = static_cast<std::size_t>(oi);
    // As batch_norm computes it in eval: rstd first, then times gamma.
    const float rstd = freqcap::detail::eval_rstd(bn.running_var.data()[o], eps);
    const float a = bn.weight.defined() ? rstd * bn.weight.value().data()[o] : rstd;
    const float b = conv.bias.defined() ? conv.bias.value().data()[o] : 0.0f;
    const float beta = bn.bias.defined() ? bn.bias.value().data()[o] : 0.0f;
    for (std::size_t k = 0; k < per; ++k) wf[o * per + k] = wd[o * per + k] * a;
    bf[o] = beta + (b - bn.running_mean.data()[o]) * a;
  }
  const Tensor<float> xc = x.value().contiguous();
  auto y = Tensor<float>::empty(Shape{g.N, g.O, g.Ho, g.Wo});
  kernels::conv2d_forward(freqcap::detail::kernel_shape(g), xc.data(), wf, bf, y.data());
  if (act) kernels::activation_forward(*act, y.data(), y.data(), static_cast<std::size_t>(y.numel()));
  return Var<float>(std::move(y));
}

/// act(bn(conv(x))) (no activation when act is empty): folded when
/// folds_batch_norm, else the modules and the activation op in turn.
inline Var<float> conv_bn(nn::Conv2d& conv, nn::BatchNorm2d& bn, const Var<float>& x,
                          std::optional<kernels::Act> act) {
  if (folds_batch_norm(conv, bn)) return folded_conv_bn(conv, bn, x, act);
  Var<float> h = bn.forward(conv.forward(x));
  return act ? activation(h, *act) : h;
}

/// torchvision's Conv2dNormActivation; see the top of this file.
class Conv2dNormActivation : public nn::Sequential {
 public:
  /// conv, bn and act (nullptr: none) registered as "0", "1", "2"; `kind` is
  /// the kernel act computes (std::nullopt without one).
  Conv2dNormActivation(std::shared_ptr<nn::UnaryModule> conv, std::shared_ptr<nn::BatchNorm2d> bn,
                       std::shared_ptr<nn::UnaryModule> act, std::optional<kernels::Act> kind)
      : dense_conv_(std::dynamic_pointer_cast<nn::Conv2d>(conv)), bn_(bn), kind_(kind) {
    push_back(std::move(conv));
    push_back(std::move(bn));
    if (act) push_back(std::move(act));
  }

  /// Whether forward folds now: a dense convolution and folds_batch_norm.
  bool folds_batch_norm() const { return dense_conv_ && backbones::folds_batch_norm(*dense_conv_, *bn_); }

  Var<float> forward(const Var<float>& x) override {
    if (folds_batch_norm()) return folded_conv_bn(*dense_conv_, *bn_, x, kind_);
    return Sequential::forward(x);
  }

 private:
  std::shared_ptr<nn::Conv2d> dense_conv_;  ///< nullptr for an FR convolution (runs unfused)
  std::shared_ptr<nn::BatchNorm2d> bn_;
  std::optional<kernels::Act> kind_;
};

}  // namespace freqcap::backbones
