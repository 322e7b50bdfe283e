// Weight initialisers with PyTorch's semantics (torch.nn.init): uniform_,
// normal_, zeros_, ones_, kaiming_uniform_/kaiming_normal_ (fan_in/fan_out,
// gain from the nonlinearity), xavier_uniform_/xavier_normal_, and the
// default Linear/Conv2d initialisation (kaiming_uniform_ with a = sqrt(5),
// i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), bias the same bound). Each takes an
// explicit std::mt19937&, or uses the process-wide generator that
// freqcap::manual_seed(s) reseeds. Values are drawn in row-major order; the
// streams differ from PyTorch's generator, the distributions do not.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <utility>

#include "freqcap/core/tensor.hpp"

namespace freqcap {

/// The process-wide generator used when no RNG is passed (not thread-safe;
/// pass your own std::mt19937 from worker threads).
inline std::mt19937& global_generator() {
  static std::mt19937 gen(5489u);
  return gen;
}

/// Reseeds the process-wide generator (like torch.manual_seed).
inline void manual_seed(std::uint64_t seed) {
  global_generator().seed(static_cast<std::mt19937::result_type>(seed ^ (seed >> 32)));
}

}  // namespace freqcap

namespace freqcap::nn::init {

enum class FanMode { fan_in, fan_out };
enum class Nonlinearity { linear, conv, sigmoid, tanh, relu, leaky_relu, selu };

/// torch.nn.init.calculate_gain. `param` is leaky_relu's negative slope.
inline double calculate_gain(Nonlinearity nl, double param = 0.01) {
  switch (nl) {
    case Nonlinearity::linear:
    case Nonlinearity::conv:
    case Nonlinearity::sigmoid: return 1.0;
    case Nonlinearity::tanh: return 5.0 / 3.0;
    case Nonlinearity::relu: return std::sqrt(2.0);
    case Nonlinearity::leaky_relu: return std::sqrt(2.0 / (1.0 + param * param));
    case Nonlinearity::selu: return 0.75;
  }
  return 1.0;
}

/// (fan_in, fan_out) of a weight [out, in, *kernel]: in * prod(kernel), out * prod(kernel).
inline std::pair<std::int64_t, std::int64_t> calculate_fans(const Shape& shape) {
  FREQCAP_CHECK(shape.size() >= 2, "init: fan in/out needs a tensor of at least 2 dimensions, got ",
                shape_str(shape));
  std::int64_t receptive = 1;
  for (std::size_t i = 2; i < shape.size(); ++i) receptive *= shape[i];
  return {shape[1] * receptive, shape[0] * receptive};
}

/// Fills t with U(a, b).
inline void uniform_(Tensor<float>& t, double a, double b, std::mt19937& rng = global_generator()) {
  std::uniform_real_distribution<double> u(a, b);
  float* p = t.data();
  t.for_each_offset([&](std::int64_t off) { p[off] = static_cast<float>(u(rng)); });
}

/// Fills t with N(mean, std^2).
inline void normal_(Tensor<float>& t, double mean = 0.0, double std = 1.0, std::mt19937& rng = global_generator()) {
  std::normal_distribution<double> n(mean, std);
  float* p = t.data();
  t.for_each_offset([&](std::int64_t off) { p[off] = static_cast<float>(n(rng)); });
}

inline void constant_(Tensor<float>& t, float v) { t.fill(v); }
inline void zeros_(Tensor<float>& t) { t.fill(0.0f); }
inline void ones_(Tensor<float>& t) { t.fill(1.0f); }

/// torch.nn.init.kaiming_uniform_: U(-b, b), b = gain * sqrt(3 / fan), gain from
/// (nonlinearity, a). PyTorch's defaults: a = 0, fan_in, leaky_relu.
inline void kaiming_uniform_(Tensor<float>& t, double a = 0.0, FanMode mode = FanMode::fan_in,
                             Nonlinearity nl = Nonlinearity::leaky_relu, std::mt19937& rng = global_generator()) {
  const auto [fan_in, fan_out] = calculate_fans(t.shape());
  const double fan = static_cast<double>(mode == FanMode::fan_in ? fan_in : fan_out);
  FREQCAP_CHECK(fan > 0, "kaiming_uniform_: zero fan for shape ", shape_str(t.shape()));
  const double bound = calculate_gain(nl, a) * std::sqrt(3.0 / fan);
  uniform_(t, -bound, bound, rng);
}

/// torch.nn.init.kaiming_normal_: N(0, std^2), std = gain / sqrt(fan).
inline void kaiming_normal_(Tensor<float>& t, double a = 0.0, FanMode mode = FanMode::fan_in,
                            Nonlinearity nl = Nonlinearity::leaky_relu, std::mt19937& rng = global_generator()) {
  const auto [fan_in, fan_out] = calculate_fans(t.shape());
  const double fan = static_cast<double>(mode == FanMode::fan_in ? fan_in : fan_out);
  FREQCAP_CHECK(fan > 0, "kaiming_normal_: zero fan for shape ", shape_str(t.shape()));
  normal_(t, 0.0, calculate_gain(nl, a) / std::sqrt(fan), rng);
}

/// torch.nn.init.xavier_uniform_: U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out)).
inline void xavier_uniform_(Tensor<float>& t, double gain = 1.0, std::mt19937& rng = global_generator()) {
  const auto [fan_in, fan_out] = calculate_fans(t.shape());
  const double bound = gain * std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  uniform_(t, -bound, bound, rng);
}

/// torch.nn.init.xavier_normal_: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)).
inline void xavier_normal_(Tensor<float>& t, double gain = 1.0, std::mt19937& rng = global_generator()) {
  const auto [fan_in, fan_out] = calculate_fans(t.shape());
  normal_(t, 0.0, gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out)), rng);
}

/// PyTorch's reset_parameters() for Linear and Conv*d: weight
/// kaiming_uniform_(a = sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)); bias
/// (when given) U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
inline void default_affine_init_(Tensor<float>& weight, Tensor<float>* bias, std::mt19937& rng = global_generator()) {
  kaiming_uniform_(weight, std::sqrt(5.0), FanMode::fan_in, Nonlinearity::leaky_relu, rng);
  if (bias) {
    const double fan_in = static_cast<double>(calculate_fans(weight.shape()).first);
    const double bound = fan_in > 0 ? 1.0 / std::sqrt(fan_in) : 0.0;
    uniform_(*bias, -bound, bound, rng);
  }
}

}  // namespace freqcap::nn::init
