// Sequential: a chain of UnaryModules named "0", "1", ... as in PyTorch, so a
// torch.nn.Sequential's state dict loads directly.
#pragma once

#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "freqcap/nn/module.hpp"

namespace freqcap::nn {

class Sequential : public UnaryModule {
 public:
  Sequential() : UnaryModule("Sequential") {}
  Sequential(std::initializer_list<std::shared_ptr<UnaryModule>> modules) : Sequential() {
    for (const auto& m : modules) push_back(m);
  }

  /// Appends `m` under the next index; returns it.
  template <class M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> m) {
    register_module(std::to_string(layers_.size()), m);
    layers_.push_back(m);
    return m;
  }
  /// Constructs an M from `args` and appends it.
  template <class M, class... Args>
  std::shared_ptr<M> emplace_back(Args&&... args) {
    return push_back(std::make_shared<M>(std::forward<Args>(args)...));
  }

  /// Runs the layers in order.
  Var<float> forward(const Var<float>& x) override {
    Var<float> h = x;
    for (auto& m : layers_) h = m->forward(h);
    return h;
  }

  std::size_t size() const { return layers_.size(); }
  const std::shared_ptr<UnaryModule>& operator[](std::size_t i) const { return layers_.at(i); }
  /// Layer i as its concrete type (nullptr when it is not an M).
  template <class M>
  std::shared_ptr<M> at(std::size_t i) const {
    return std::dynamic_pointer_cast<M>(layers_.at(i));
  }

 private:
  std::vector<std::shared_ptr<UnaryModule>> layers_;
};

}  // namespace freqcap::nn
