// Module, the base of every layer (ref: PyTorch's C++ frontend, nn/module.h):
// a constructor registers named parameters (Var<float> leaves), buffers
// (float or int64 tensors) and child modules; names compose with dots
// ("0.weight", "layer1.0.bn1.running_mean") and come out in PyTorch's order,
// so state dicts match PyTorch's byte for byte in naming. UnaryModule adds a
// virtual forward(Var) for modules that map one float tensor to another,
// which is what Sequential chains. FREQCAP_OPTION builds the small chainable
// option structs (`Conv2dOptions(3, 8, 3).stride(2).padding(1)`).
#pragma once

#include <cstdint>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "freqcap/autograd/var.hpp"
#include "freqcap/nn/tensor_dict.hpp"

/// Declares a chainable option: `name(v)` sets it and returns *this,
/// `name()` reads it; follow with `= default_value;`.
#define FREQCAP_OPTION(T, name)                    \
  auto& name(const T& new_##name) {                \
    this->name##_ = new_##name;                    \
    return *this;                                  \
  }                                                \
  const T& name() const { return this->name##_; } \
  T name##_

namespace freqcap::nn {

class Module {
 public:
  using NamedParameters = std::vector<std::pair<std::string, Var<float>>>;
  using NamedBuffers = std::vector<std::pair<std::string, AnyTensor>>;
  using NamedModules = std::vector<std::pair<std::string, std::shared_ptr<Module>>>;

  explicit Module(std::string type_name = "Module") : type_name_(std::move(type_name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  /// "Linear", "Conv2d", ... (for messages).
  const std::string& type_name() const { return type_name_; }

  // --- registration (call from constructors) ------------------------------
  /// Adds a parameter leaf holding `value`; returns its handle (shares the node).
  Var<float> register_parameter(const std::string& name, Tensor<float> value, bool requires_grad = true) {
    check_new_name(name);
    Var<float> v(std::move(value), requires_grad);
    params_.emplace_back(name, v);
    return v;
  }
  /// Adds a float buffer; the returned tensor shares storage with the module's.
  /// Non-persistent buffers are left out of state_dict().
  Tensor<float> register_buffer(const std::string& name, Tensor<float> value, bool persistent = true) {
    return add_buffer(name, std::move(value), persistent);
  }
  /// Adds an int64 buffer (e.g. BatchNorm's num_batches_tracked).
  Tensor<std::int64_t> register_buffer(const std::string& name, Tensor<std::int64_t> value, bool persistent = true) {
    return add_buffer(name, std::move(value), persistent);
  }
  /// Adds a child module; its names are prefixed with "name.".
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    FREQCAP_CHECK(module != nullptr, type_name_, ": register_module('", name, "') with a null module");
    check_new_name(name);
    children_.emplace_back(name, module);
    return module;
  }

  // --- traversal ----------------------------------------------------------
  /// Parameters with dotted names: own (registration order), then each child's.
  NamedParameters named_parameters(bool recurse = true) const {
    NamedParameters out;
    collect_parameters("", recurse, out);
    return out;
  }
  std::vector<Var<float>> parameters(bool recurse = true) const {
    std::vector<Var<float>> out;
    for (auto& [n, p] : named_parameters(recurse)) out.push_back(p);
    return out;
  }
  /// Buffers (persistent or not) with dotted names; the tensors share storage.
  NamedBuffers named_buffers(bool recurse = true) const {
    NamedBuffers out;
    collect_buffers("", recurse, false, out);
    return out;
  }
  const NamedModules& named_children() const { return children_; }
  std::vector<std::shared_ptr<Module>> children() const {
    std::vector<std::shared_ptr<Module>> out;
    for (const auto& c : children_) out.push_back(c.second);
    return out;
  }
  /// Every descendant (pre-order, not this module) with its dotted name.
  NamedModules named_modules() const {
    NamedModules out;
    for (const auto& [n, c] : children_) {
      out.emplace_back(n, c);
      for (auto& [cn, cc] : c->named_modules()) out.emplace_back(n + "." + cn, cc);
    }
    return out;
  }

  /// Number of parameter elements in the whole tree.
  std::int64_t parameter_count() const {
    std::int64_t n = 0;
    for (const auto& p : parameters()) n += p.value().numel();
    return n;
  }

  // --- mode ---------------------------------------------------------------
  /// Sets training mode on this module and every descendant.
  void train(bool on = true) {
    training_ = on;
    for (auto& c : children_) c.second->train(on);
  }
  void eval() { train(false); }
  bool is_training() const { return training_; }

  /// Drops every parameter's gradient.
  void zero_grad() {
    for (auto& p : parameters()) p.zero_grad();
  }

  // --- state dict ---------------------------------------------------------
  /// Parameters then persistent buffers of each module, children after their
  /// parent, with dotted names (PyTorch's state_dict order). The tensors share
  /// storage with the module: clone them to keep a snapshot.
  StateDict state_dict() const {
    StateDict out;
    collect_state("", out);
    return out;
  }

  /// Copies `dict` into the parameters and persistent buffers in place
  /// (float <-> int64 convert as torch's copy_ does). Validates everything
  /// first: when strict, missing and unexpected names are errors; mis-shaped
  /// entries always are. One freqcap::Error lists every problem (names and
  /// shapes), and nothing is modified when it throws.
  void load_state_dict(const StateDict& dict, bool strict = true) {
    StateDict own = state_dict();
    std::vector<std::string> missing, unexpected, misshaped;
    for (const auto& [name, t] : own) {
      if (!dict.contains(name)) {
        missing.push_back(name);
      } else if (shape_of(dict.at(name)) != shape_of(t)) {
        misshaped.push_back("'" + name + "': expected " + shape_str(shape_of(t)) + ", got " +
                            shape_str(shape_of(dict.at(name))));
      }
    }
    for (const auto& [name, t] : dict)
      if (!own.contains(name)) unexpected.push_back(name);
    if (!strict) missing.clear(), unexpected.clear();
    if (!missing.empty() || !unexpected.empty() || !misshaped.empty()) {
      std::ostringstream os;
      os << "load_state_dict into " << type_name_ << " failed:";
      auto list = [&](const char* what, const std::vector<std::string>& v, bool quote) {
        if (v.empty()) return;
        os << "\n  " << v.size() << " " << what << ": ";
        for (std::size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << (quote ? "'" : "") << v[i] << (quote ? "'" : "");
      };
      list("missing key(s)", missing, true);
      list("unexpected key(s)", unexpected, true);
      list("size mismatch(es)", misshaped, false);
      throw Error(os.str());
    }
    NoGradGuard ng;
    for (auto& [name, t] : own) {
      if (!dict.contains(name)) continue;  // non-strict
      AnyTensor dst = t;  // shares storage with the module
      copy_into(dst, dict.at(name));
    }
  }

 private:
  struct Buffer {
    std::string name;
    AnyTensor tensor;
    bool persistent;
  };

  template <class T>
  Tensor<T> add_buffer(const std::string& name, Tensor<T> value, bool persistent) {
    check_new_name(name);
    Tensor<T> t = value.contiguous();
    buffers_.push_back({name, t, persistent});
    return t;
  }

  void check_new_name(const std::string& name) const {
    FREQCAP_CHECK(!name.empty() && name.find('.') == std::string::npos, type_name_,
                  ": invalid parameter/buffer/module name '", name, "' (non-empty, no dots)");
    bool taken = false;
    for (const auto& p : params_) taken |= p.first == name;
    for (const auto& b : buffers_) taken |= b.name == name;
    for (const auto& c : children_) taken |= c.first == name;
    FREQCAP_CHECK(!taken, type_name_, ": name '", name, "' registered twice");
  }

  void collect_parameters(const std::string& prefix, bool recurse, NamedParameters& out) const {
    for (const auto& [n, p] : params_) out.emplace_back(prefix + n, p);
    if (!recurse) return;
    for (const auto& [n, c] : children_) c->collect_parameters(prefix + n + ".", true, out);
  }
  void collect_buffers(const std::string& prefix, bool recurse, bool persistent_only, NamedBuffers& out) const {
    for (const auto& b : buffers_)
      if (b.persistent || !persistent_only) out.emplace_back(prefix + b.name, b.tensor);
    if (!recurse) return;
    for (const auto& [n, c] : children_) c->collect_buffers(prefix + n + ".", true, persistent_only, out);
  }
  void collect_state(const std::string& prefix, StateDict& out) const {
    for (const auto& [n, p] : params_) out.insert(prefix + n, p.value());
    for (const auto& b : buffers_)
      if (b.persistent) out.insert(prefix + b.name, b.tensor);
    for (const auto& [n, c] : children_) c->collect_state(prefix + n + ".", out);
  }

  std::string type_name_;
  bool training_ = true;
  NamedParameters params_;
  std::vector<Buffer> buffers_;
  NamedModules children_;
};

/// A module mapping one float tensor to another; Sequential chains these.
class UnaryModule : public Module {
 public:
  using Module::Module;
  virtual Var<float> forward(const Var<float>& x) = 0;
  Var<float> operator()(const Var<float>& x) { return forward(x); }
};

}  // namespace freqcap::nn
