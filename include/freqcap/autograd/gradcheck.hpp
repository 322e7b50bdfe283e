// Finite-difference gradient check (ref: Flashlight's AutogradTestUtils):
// compares the analytic gradient of every input with central differences of
// a random projection of the output, in double precision.
#pragma once

#include <cmath>
#include <functional>
#include <random>
#include <string>

#include "freqcap/autograd/ops_elementwise.hpp"
#include "freqcap/autograd/ops_reduce.hpp"

namespace freqcap {

struct GradcheckResult {
  bool ok = true;
  double max_error = 0;  ///< largest |analytic - numeric| / (atol + rtol * |numeric|)
  std::string message;   ///< the worst element, for failure output
};

/// Checks d/dx_i of L = sum(f(inputs) * R) for a fixed random R against central
/// differences with step `eps`, for every element of every input that requires
/// grad. Passes when |analytic - numeric| <= atol + rtol * |numeric| everywhere.
inline GradcheckResult gradcheck(const std::function<Var<double>(const std::vector<Var<double>>&)>& f,
                                 std::vector<Var<double>> inputs, double eps = 1e-6, double atol = 1e-6,
                                 double rtol = 1e-4, unsigned seed = 7) {
  GradcheckResult res;
  const Tensor<double> out0 = f(inputs).value();
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  Tensor<double> r(out0.shape());
  for (std::int64_t i = 0; i < r.numel(); ++i) r.data()[i] = u(rng);
  const Var<double> rv(r);
  auto loss = [&](const std::vector<Var<double>>& in) { return sum(f(in) * rv); };

  for (auto& in : inputs) in.zero_grad();
  loss(inputs).backward();
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    if (!inputs[k].requires_grad()) continue;
    const Tensor<double> analytic = inputs[k].grad();
    Tensor<double>& x = inputs[k].value();
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      const double saved = x.data()[i];
      double lp, lm;
      {
        NoGradGuard ng;
        x.data()[i] = saved + eps;
        lp = loss(inputs).item();
        x.data()[i] = saved - eps;
        lm = loss(inputs).item();
      }
      x.data()[i] = saved;
      const double numeric = (lp - lm) / (2 * eps);
      const double err = std::abs(analytic.data()[i] - numeric) / (atol + rtol * std::abs(numeric));
      if (err > res.max_error) {
        res.max_error = err;
        res.message = "input " + std::to_string(k) + " element " + std::to_string(i) + ": analytic " +
                      std::to_string(analytic.data()[i]) + " numeric " + std::to_string(numeric);
      }
    }
  }
  res.ok = res.max_error <= 1.0;
  return res;
}

}  // namespace freqcap
