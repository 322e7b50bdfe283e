// Optimizers over a list of Var<float> parameters, with torch.optim's exact
// update rules (PyTorch 1.13, single-tensor path): SGD (momentum, dampening,
// weight decay, Nesterov), Adam (L2 weight decay added to the gradient) and
// AdamW (decoupled weight decay). step() runs under NoGradGuard and writes
// each parameter's value in place; parameters without a gradient are
// skipped, as PyTorch skips p.grad is None. The per-parameter state (step
// count, moments, momentum buffers) is exported as named tensors
// ("<index>.exp_avg", ...) for checkpoints.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "freqcap/autograd/var.hpp"
#include "freqcap/nn/module.hpp"

namespace freqcap::nn {

class Optimizer {
 public:
  explicit Optimizer(std::vector<Var<float>> params, double lr, std::string name)
      : params_(std::move(params)), lr_(lr), name_(std::move(name)) {
    FREQCAP_CHECK(lr >= 0, name_, ": learning rate must be >= 0, got ", lr);
    for (std::size_t i = 0; i < params_.size(); ++i)
      FREQCAP_CHECK(params_[i].defined(), name_, ": parameter ", i, " is undefined");
  }
  virtual ~Optimizer() = default;

  /// One update of every parameter that has a gradient.
  virtual void step() = 0;
  void zero_grad() {
    for (auto& p : params_) p.zero_grad();
  }

  double lr() const { return lr_; }
  void set_lr(double lr) { lr_ = lr; }
  const std::vector<Var<float>>& params() const { return params_; }

  /// The optimizer state as named tensors: "<param index>.<field>".
  TensorDict state_dict() const {
    TensorDict out;
    for (std::size_t i = 0; i < params_.size(); ++i)
      for (const auto& [field, t] : state_of(i)) out.insert(std::to_string(i) + "." + field, clone(t));
    return out;
  }

  /// Restores state saved by state_dict() for the same parameter list.
  /// Every problem (unknown or missing fields, shapes) is reported in one
  /// freqcap::Error; nothing changes when it throws.
  void load_state_dict(const TensorDict& dict) {
    std::vector<std::string> problems;
    std::vector<bool> used(dict.size(), false);
    for (std::size_t i = 0; i < params_.size(); ++i) {
      const std::string prefix = std::to_string(i) + ".";
      bool any = false;
      for (const auto& f : fields()) any |= dict.contains(prefix + f);
      if (!any) continue;  // this parameter has no state yet
      for (const auto& f : fields()) {
        const std::string key = prefix + f;
        if (!dict.contains(key)) {
          problems.push_back("missing '" + key + "'");
        } else if (f != "step" && shape_of(dict.at(key)) != params_[i].shape()) {
          problems.push_back("'" + key + "': expected " + shape_str(params_[i].shape()) + ", got " +
                             shape_str(shape_of(dict.at(key))));
        }
      }
    }
    for (const auto& [key, t] : dict) {
      const auto dot = key.find('.');
      bool ok = dot != std::string::npos;
      if (ok) {
        const std::string idx = key.substr(0, dot), f = key.substr(dot + 1);
        ok = !idx.empty() && idx.find_first_not_of("0123456789") == std::string::npos &&
             std::stoull(idx) < params_.size();
        bool known = false;
        for (const auto& g : fields()) known |= g == f;
        ok = ok && known;
      }
      if (!ok) problems.push_back("unexpected '" + key + "'");
    }
    if (!problems.empty()) {
      std::ostringstream os;
      os << name_ << ".load_state_dict failed:";
      for (const auto& p : problems) os << "\n  " << p;
      throw Error(os.str());
    }
    reset_state();
    for (std::size_t i = 0; i < params_.size(); ++i) {
      const std::string prefix = std::to_string(i) + ".";
      if (!dict.contains(prefix + fields().front())) continue;
      std::vector<std::pair<std::string, Tensor<float>>> fs;
      std::int64_t step = 0;
      for (const auto& f : fields()) {
        if (f == "step") step = dict.get<std::int64_t>(prefix + f).item();
        else fs.emplace_back(f, dict.get<float>(prefix + f).clone());
      }
      set_state(i, step, std::move(fs));
    }
  }

 protected:
  /// The state fields every stateful parameter carries, "step" (if any) first.
  virtual std::vector<std::string> fields() const = 0;
  /// Parameter i's state (empty before its first update).
  virtual std::vector<std::pair<std::string, AnyTensor>> state_of(std::size_t i) const = 0;
  virtual void reset_state() = 0;
  virtual void set_state(std::size_t i, std::int64_t step, std::vector<std::pair<std::string, Tensor<float>>> fs) = 0;

  std::vector<Var<float>> params_;
  double lr_;
  std::string name_;
};

/// `SGDOptions(0.1).momentum(0.9).nesterov(true)`.
struct SGDOptions {
  SGDOptions(double lr) : lr_(lr) {}  // NOLINT
  FREQCAP_OPTION(double, lr);
  FREQCAP_OPTION(double, momentum) = 0.0;
  FREQCAP_OPTION(double, dampening) = 0.0;
  FREQCAP_OPTION(double, weight_decay) = 0.0;
  FREQCAP_OPTION(bool, nesterov) = false;
};

/// torch.optim.SGD: d = g + wd * p; b = d (first step) or momentum * b + (1 -
/// dampening) * d; d = nesterov ? d + momentum * b : b; p -= lr * d.
class SGD : public Optimizer {
 public:
  SGD(std::vector<Var<float>> params, const SGDOptions& options)
      : Optimizer(std::move(params), options.lr(), "SGD"), options_(options), buf_(params_.size()) {
    FREQCAP_CHECK(!options.nesterov() || (options.momentum() > 0 && options.dampening() == 0),
                  "SGD: Nesterov momentum requires a momentum and zero dampening");
  }

  void step() override {
    NoGradGuard ng;
    const float wd = static_cast<float>(options_.weight_decay()), mom = static_cast<float>(options_.momentum());
    const float damp1 = static_cast<float>(1.0 - options_.dampening()), neg_lr = static_cast<float>(-lr_);
    for (std::size_t i = 0; i < params_.size(); ++i) {
      Var<float>& p = params_[i];
      if (!p.has_grad()) continue;
      Tensor<float>& w = p.value();
      Tensor<float> out = w.is_contiguous() ? w : w.clone();  // updated in place when contiguous
      Tensor<float> d = p.grad().clone();
      float *pd = d.data(), *pw = out.data();
      const std::int64_t n = d.numel();
      if (wd != 0)
        for (std::int64_t k = 0; k < n; ++k) pd[k] = pd[k] + wd * pw[k];
      if (mom != 0) {
        if (!buf_[i]) {
          buf_[i] = d.clone();
        } else {
          float* b = buf_[i]->data();
          for (std::int64_t k = 0; k < n; ++k) b[k] = b[k] * mom + damp1 * pd[k];
        }
        const float* b = buf_[i]->data();
        if (options_.nesterov())
          for (std::int64_t k = 0; k < n; ++k) pd[k] = pd[k] + mom * b[k];
        else
          for (std::int64_t k = 0; k < n; ++k) pd[k] = b[k];
      }
      for (std::int64_t k = 0; k < n; ++k) pw[k] = pw[k] + neg_lr * pd[k];
      if (!out.shares_storage(w)) w.copy_from(out);
    }
  }

  const SGDOptions& options() const { return options_; }

 protected:
  std::vector<std::string> fields() const override { return {"momentum_buffer"}; }
  std::vector<std::pair<std::string, AnyTensor>> state_of(std::size_t i) const override {
    if (!buf_[i]) return {};
    return {{"momentum_buffer", *buf_[i]}};
  }
  void reset_state() override { buf_.assign(params_.size(), std::nullopt); }
  void set_state(std::size_t i, std::int64_t, std::vector<std::pair<std::string, Tensor<float>>> fs) override {
    buf_[i] = std::move(fs.at(0).second);
  }

 private:
  SGDOptions options_;
  std::vector<std::optional<Tensor<float>>> buf_;
};

/// `AdamOptions(1e-3).betas(0.9, 0.98).eps(1e-9).weight_decay(0.01)`.
struct AdamOptions {
  AdamOptions(double lr = 1e-3) : lr_(lr) {}  // NOLINT
  FREQCAP_OPTION(double, lr);
  FREQCAP_OPTION(double, beta1) = 0.9;
  FREQCAP_OPTION(double, beta2) = 0.999;
  FREQCAP_OPTION(double, eps) = 1e-8;
  FREQCAP_OPTION(double, weight_decay) = 0.0;
  AdamOptions& betas(double b1, double b2) {
    beta1_ = b1;
    beta2_ = b2;
    return *this;
  }
};

namespace detail {
// Shared Adam/AdamW machinery; `decoupled` selects AdamW's weight decay.
class AdamBase : public Optimizer {
 public:
  AdamBase(std::vector<Var<float>> params, const AdamOptions& o, bool decoupled, const char* name)
      : Optimizer(std::move(params), o.lr(), name), options_(o), decoupled_(decoupled) {
    FREQCAP_CHECK(o.eps() >= 0 && o.beta1() >= 0 && o.beta1() < 1 && o.beta2() >= 0 && o.beta2() < 1, name_,
                  ": invalid betas (", o.beta1(), ", ", o.beta2(), ") or eps ", o.eps());
    reset_state();
  }

  /// ref: torch/optim/adam.py and adamw.py, _single_tensor_adam(w), PyTorch 1.13.
  void step() override {
    NoGradGuard ng;
    const double b1 = options_.beta1(), b2 = options_.beta2(), wd = options_.weight_decay();
    for (std::size_t i = 0; i < params_.size(); ++i) {
      Var<float>& p = params_[i];
      if (!p.has_grad()) continue;
      Tensor<float>& w = p.value();
      const Tensor<float> g = p.grad().contiguous();
      const std::int64_t n = g.numel();
      if (step_[i] == 0) {
        m_[i] = Tensor<float>(w.shape());
        v_[i] = Tensor<float>(w.shape());
      }
      const std::int64_t t = ++step_[i];
      Tensor<float> out = w.is_contiguous() ? w : w.clone();
      float *pw = out.data(), *pm = m_[i].data(), *pv = v_[i].data();
      const float* pg = g.data();
      if (decoupled_) {
        const float shrink = static_cast<float>(1.0 - lr_ * wd);
        for (std::int64_t k = 0; k < n; ++k) pw[k] = pw[k] * shrink;
      }
      const float fb1 = static_cast<float>(b1), fb2 = static_cast<float>(b2);
      const float a1 = static_cast<float>(1.0 - b1), a2 = static_cast<float>(1.0 - b2);
      const float fwd = static_cast<float>(wd);
      const double bc1 = 1.0 - std::pow(b1, static_cast<double>(t));
      const double bc2 = 1.0 - std::pow(b2, static_cast<double>(t));
      const float neg_step = static_cast<float>(-(lr_ / bc1));
      const float bc2_sqrt = static_cast<float>(std::sqrt(bc2));
      const float eps = static_cast<float>(options_.eps());
      for (std::int64_t k = 0; k < n; ++k) {
        const float gk = (!decoupled_ && wd != 0) ? pg[k] + fwd * pw[k] : pg[k];
        pm[k] = pm[k] * fb1 + a1 * gk;
        pv[k] = pv[k] * fb2 + a2 * gk * gk;
        const float denom = std::sqrt(pv[k]) / bc2_sqrt + eps;
        pw[k] = pw[k] + neg_step * pm[k] / denom;
      }
      if (!out.shares_storage(w)) w.copy_from(out);
    }
  }

  const AdamOptions& options() const { return options_; }

 protected:
  std::vector<std::string> fields() const override { return {"step", "exp_avg", "exp_avg_sq"}; }
  std::vector<std::pair<std::string, AnyTensor>> state_of(std::size_t i) const override {
    if (step_[i] == 0) return {};
    return {{"step", Tensor<std::int64_t>::scalar(step_[i])}, {"exp_avg", m_[i]}, {"exp_avg_sq", v_[i]}};
  }
  void reset_state() override {
    m_.assign(params_.size(), Tensor<float>());
    v_.assign(params_.size(), Tensor<float>());
    step_.assign(params_.size(), 0);
  }
  void set_state(std::size_t i, std::int64_t step, std::vector<std::pair<std::string, Tensor<float>>> fs) override {
    step_[i] = step;
    m_[i] = std::move(fs.at(0).second);
    v_[i] = std::move(fs.at(1).second);
  }

 private:
  AdamOptions options_;
  bool decoupled_;
  std::vector<Tensor<float>> m_, v_;
  std::vector<std::int64_t> step_;
};
}  // namespace detail

/// torch.optim.Adam: g += wd * p (L2); m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
/// p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
class Adam : public detail::AdamBase {
 public:
  Adam(std::vector<Var<float>> params, const AdamOptions& options = {})
      : AdamBase(std::move(params), options, false, "Adam") {}
};

/// torch.optim.AdamW: p *= 1 - lr * wd (decoupled), then Adam without L2.
/// PyTorch's AdamW default weight_decay is 0.01; AdamWOptions sets it.
class AdamW : public detail::AdamBase {
 public:
  AdamW(std::vector<Var<float>> params, const AdamOptions& options = AdamOptions().weight_decay(0.01))
      : AdamBase(std::move(params), options, true, "AdamW") {}
};

}  // namespace freqcap::nn
