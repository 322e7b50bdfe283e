// Activation modules (ReLU, ReLU6, SiLU, GELU, Sigmoid, Tanh): parameter-free
// UnaryModules over autograd's elementwise ops, so they sit in a Sequential
// and keep PyTorch's child indices.
#pragma once

#include "freqcap/autograd/ops_elementwise.hpp"
#include "freqcap/nn/module.hpp"

namespace freqcap::nn {

namespace detail {
// A parameter-free module applying fn elementwise.
template <Var<float> (*Fn)(const Var<float>&)>
class Activation : public UnaryModule {
 public:
  explicit Activation(const char* name) : UnaryModule(name) {}
  Var<float> forward(const Var<float>& x) override { return Fn(x); }
};
}  // namespace detail

/// max(x, 0)
class ReLU : public detail::Activation<&freqcap::relu<float>> {
 public:
  ReLU() : Activation("ReLU") {}
};
/// min(max(x, 0), 6)
class ReLU6 : public detail::Activation<&freqcap::relu6<float>> {
 public:
  ReLU6() : Activation("ReLU6") {}
};
/// x * sigmoid(x)
class SiLU : public detail::Activation<&freqcap::silu<float>> {
 public:
  SiLU() : Activation("SiLU") {}
};
/// x * Phi(x) (exact erf form, PyTorch's default)
class GELU : public detail::Activation<&freqcap::gelu<float>> {
 public:
  GELU() : Activation("GELU") {}
};
class Sigmoid : public detail::Activation<&freqcap::sigmoid<float>> {
 public:
  Sigmoid() : Activation("Sigmoid") {}
};
class Tanh : public detail::Activation<&freqcap::tanh<float>> {
 public:
  Tanh() : Activation("Tanh") {}
};

}  // namespace freqcap::nn
