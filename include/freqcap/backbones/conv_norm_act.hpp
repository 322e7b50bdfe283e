// Convolution + BatchNorm (+ activation) with the BatchNorm folded into the
// convolution for inference: eval mode, no graph. One convolution then
// writes the activations, and the activation runs in place on them, instead
// of three passes over them and two more tensors. conv_bn runs that for any
// convolution module and BatchNorm (ResNet's bottlenecks call it);
// Conv2dNormActivation is torchvision's module of that name, a
// Sequential of "0" convolution, "1" BatchNorm2d and "2" activation (names
// and state dicts as torchvision's), folding the same way. The convolution
// may be a dense nn::Conv2d or a dct::FRConv2d: an FR one folds its eval-mode
// reconstruction W = IDCT(C * M) (cached while the kept coefficients stay
// the same), so an FR model's inference runs the same kernels as its dense
// twin's. Training and graphs run the modules in turn.
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

#include "freqcap/dct/fr_conv.hpp"
#include "freqcap/kernels/elementwise.hpp"
#include "freqcap/kernels/table.hpp"
#include "freqcap/kernels/workspace.hpp"
#include "freqcap/nn/nn.hpp"

namespace freqcap::backbones {

/// What a fold needs of a convolution module: its weight now, bias and
/// geometry. `weight` is empty for a module that is not a convolution.
struct ConvParts {
  Tensor<float> weight;
  Var<float> bias;  ///< undefined without bias
  Conv2dParams params;
};

/// The parts of `conv` when it is an nn::Conv2d or a dct::FRConv2d (an FR
/// one's weight is its current reconstruction: from the eval cache in eval
/// mode, rebuilt without taking a schedule step in training mode); empty
/// parts otherwise.
inline ConvParts conv_parts(nn::UnaryModule& conv) {
  if (auto* c = dynamic_cast<nn::Conv2d*>(&conv)) return {c->weight.value(), c->bias, c->options().params()};
  if (auto* f = dynamic_cast<dct::FRConv2d*>(&conv)) {
    if (f->is_training()) return {f->reconstructed_weight(), f->bias, f->options().params()};
    NoGradGuard ng;  // the cached reconstruction, not a graph node
    return {f->current_weight().value(), f->bias, f->options().params()};
  }
  return {};
}

/// Whether conv_bn folds bn into conv now: a dense or FR convolution, no
/// graph, both modules in eval mode, and bn keeping running statistics.
inline bool folds_batch_norm(const nn::UnaryModule& conv, const nn::BatchNorm2d& bn) {
  const bool is_conv = dynamic_cast<const nn::Conv2d*>(&conv) || dynamic_cast<const dct::FRConv2d*>(&conv);
  return is_conv && !grad_mode_enabled() && !conv.is_training() && !bn.is_training() &&
         bn.options().track_running_stats();
}

/// act(bn(conv(x))) with bn folded into the convolution `parts`, whatever
/// the modules' modes; no graph is built, so grad mode must be off (conv_bn
/// calls it when folds_batch_norm). The folded weights go into a per-thread
/// buffer reused across calls, computed over the threads: a fresh tensor a
/// call faulted in new pages for every layer, and folding (then packing)
/// ResNet-50's 23.5M weights on one thread cost a fifth of its batch-1
/// forward at two threads (benchmarks/README.md).
inline Var<float> folded_conv_bn(const ConvParts& parts, const nn::BatchNorm2d& bn, const Var<float>& x,
                                 std::optional<kernels::Act> act) {
  FREQCAP_CHECK(!grad_mode_enabled(), "folded_conv_bn: inference only (grad mode is on)");
  FREQCAP_CHECK(parts.weight.defined(), "folded_conv_bn: not a convolution (nn::Conv2d or dct::FRConv2d)");
  const Tensor<float> w = parts.weight.contiguous();
  const freqcap::detail::ConvGeom g = freqcap::detail::conv_geom(x.shape(), w.shape(), parts.params);
  FREQCAP_CHECK(bn.running_mean.numel() == g.O, "folded_conv_bn: BatchNorm of ", bn.running_mean.numel(),
                " channels after a convolution with ", g.O, " outputs");
  const auto outs = static_cast<std::size_t>(w.dim(0)), per = static_cast<std::size_t>(w.numel()) / outs;
  float* wf = kernels::detail::scratch(kernels::detail::Scratch::folded_weights).data(outs * per + outs);
  float* bf = wf + outs * per;
  const float eps = static_cast<float>(bn.options().eps());
  const float* wd = w.data();
  const float* bias = parts.bias.defined() ? parts.bias.value().data() : nullptr;
  const auto n = static_cast<std::ptrdiff_t>(outs);
FREQCAP_OMP(parallel for schedule(static) if (kernels::worth_parallel(outs * per)))
  for (std::ptrdiff_t oi = 0; oi < n; ++oi) {
    const auto o = static_cast<std::size_t>(oi);
    // As batch_norm computes it in eval: rstd first, then times gamma.
    const float rstd = freqcap::detail::eval_rstd(bn.running_var.data()[o], eps);
    const float a = bn.weight.defined() ? rstd * bn.weight.value().data()[o] : rstd;
    const float b = bias ? bias[o] : 0.0f;
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
inline Var<float> conv_bn(nn::UnaryModule& conv, nn::BatchNorm2d& bn, const Var<float>& x,
                          std::optional<kernels::Act> act) {
  if (folds_batch_norm(conv, bn)) return folded_conv_bn(conv_parts(conv), bn, x, act);
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
      : conv_(conv), bn_(bn), kind_(kind) {
    push_back(std::move(conv));
    push_back(std::move(bn));
    if (act) push_back(std::move(act));
  }

  /// Whether forward folds now (backbones::folds_batch_norm).
  bool folds_batch_norm() const { return backbones::folds_batch_norm(*conv_, *bn_); }

  Var<float> forward(const Var<float>& x) override {
    if (folds_batch_norm()) return folded_conv_bn(conv_parts(*conv_), *bn_, x, kind_);
    return Sequential::forward(x);
  }

 private:
  std::shared_ptr<nn::UnaryModule> conv_;
  std::shared_ptr<nn::BatchNorm2d> bn_;
  std::optional<kernels::Act> kind_;
};

}  // namespace freqcap::backbones
