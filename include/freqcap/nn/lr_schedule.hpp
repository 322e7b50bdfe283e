// Learning-rate schedules: small policy objects mapping a 0-based optimizer
// step to a learning rate (constant; linear warmup then constant; linear
// warmup then cosine decay to a floor). apply_lr() sets an optimizer's rate
// for a step, so a resumed run only needs the step count.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>

#include "freqcap/core/error.hpp"
#include "freqcap/nn/optim.hpp"

namespace freqcap::nn {

class LrSchedule {
 public:
  virtual ~LrSchedule() = default;
  /// The learning rate for 0-based step `step` (the step-th call to step()).
  virtual double lr(std::int64_t step) const = 0;
  double operator()(std::int64_t step) const { return lr(step); }
};

/// lr(s) = base.
class ConstantLr : public LrSchedule {
 public:
  explicit ConstantLr(double base) : base_(base) {}
  double lr(std::int64_t) const override { return base_; }

 private:
  double base_;
};

namespace detail {
// Linear warmup factor: (s + 1) / warmup for s < warmup, else 1.
inline double warmup_factor(std::int64_t step, std::int64_t warmup) {
  if (step < warmup) return static_cast<double>(step + 1) / static_cast<double>(warmup);
  return 1.0;
}
}  // namespace detail

/// lr(s) = base * (s + 1) / warmup for s < warmup, then base.
class WarmupConstantLr : public LrSchedule {
 public:
  WarmupConstantLr(double base, std::int64_t warmup_steps) : base_(base), warmup_(warmup_steps) {
    FREQCAP_CHECK(warmup_steps >= 0, "WarmupConstantLr: negative warmup ", warmup_steps);
  }
  double lr(std::int64_t step) const override { return base_ * detail::warmup_factor(step, warmup_); }

 private:
  double base_;
  std::int64_t warmup_;
};

/// Linear warmup over `warmup_steps`, then a half cosine from base down to
/// `floor` at `total_steps`, and `floor` after that:
/// lr(s) = floor + (base - floor) * (1 + cos(pi * p)) / 2, p = (s - warmup) / (total - warmup).
class WarmupCosineLr : public LrSchedule {
 public:
  WarmupCosineLr(double base, std::int64_t warmup_steps, std::int64_t total_steps, double floor = 0.0)
      : base_(base), floor_(floor), warmup_(warmup_steps), total_(total_steps) {
    FREQCAP_CHECK(warmup_steps >= 0 && total_steps >= warmup_steps, "WarmupCosineLr: need 0 <= warmup (",
                  warmup_steps, ") <= total (", total_steps, ")");
  }
  double lr(std::int64_t step) const override {
    if (step < warmup_) return base_ * detail::warmup_factor(step, warmup_);
    const double span = static_cast<double>(std::max<std::int64_t>(total_ - warmup_, 1));
    const double p = std::clamp(static_cast<double>(step - warmup_) / span, 0.0, 1.0);
    return floor_ + (base_ - floor_) * 0.5 * (1.0 + std::cos(std::numbers::pi * p));
  }

 private:
  double base_, floor_;
  std::int64_t warmup_, total_;
};

/// Sets `opt`'s learning rate to schedule.lr(step); returns it.
inline double apply_lr(Optimizer& opt, const LrSchedule& schedule, std::int64_t step) {
  const double lr = schedule.lr(step);
  opt.set_lr(lr);
  return lr;
}

}  // namespace freqcap::nn
