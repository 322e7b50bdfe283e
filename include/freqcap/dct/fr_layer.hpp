// What FRConv2d and FRLinear share: FROptions (the truncation schedule and
// the reconstruction path, chainable like nn's options) and FRLayer, the
// mixin holding an FR layer's state: the coefficient parameter C (registered
// as "weight", same shape as the dense weight), the current zigzag mask, the
// training-step counter, the basis cache and the eval-mode weight cache.
// In training mode each forward uses the mask of the current step and then
// advances the step (auto_step); eval forwards neither advance nor shrink it
// and reuse a cached reconstruction while the kept coefficients are unchanged.
#pragma once

#include <cstring>
#include <memory>
#include <optional>

#include "freqcap/dct/fr_ops.hpp"
#include "freqcap/dct/schedule.hpp"
#include "freqcap/nn/module.hpp"

namespace freqcap::dct {

/// `FROptions().min_rate(0.05).drop_rate(1e-3).min_count(128)`.
struct FROptions {
  /// Fraction of coefficients the schedule decays to.
  FREQCAP_OPTION(double, min_rate) = 0.1;
  /// Per-step decay: keep_t = min_rate + (1 - min_rate) (1 - drop_rate)^t.
  FREQCAP_OPTION(double, drop_rate) = 1e-3;
  /// Floor on the kept count; -1 = the layer's default (128 conv, 256 linear).
  FREQCAP_OPTION(std::int64_t, min_count) = -1;
  /// When >= 0: decay to this many kept coefficients instead of min_rate * N.
  FREQCAP_OPTION(std::int64_t, keep_count) = -1;
  /// false: use the final mask from the first step on (no schedule).
  FREQCAP_OPTION(bool, dynamic) = true;
  /// true: every training-mode forward is one schedule step.
  FREQCAP_OPTION(bool, auto_step) = true;
  /// How the weight is reconstructed (automatic = cheapest).
  FREQCAP_OPTION(FRPath, path) = FRPath::automatic;

  TruncationSchedule schedule(std::int64_t default_min_count) const {
    TruncationSchedule s;
    s.min_rate = min_rate_;
    s.drop_rate = drop_rate_;
    s.min_count = min_count_ >= 0 ? min_count_ : default_min_count;
    s.keep_count = keep_count_;
    s.dynamic = dynamic_;
    s.validate();
    return s;
  }
};

/// C = DCT(W) over all axes: the FR coefficients whose full-mask reconstruction is W.
inline Tensor<float> from_dense(const Tensor<float>& weight) { return dct(weight); }

class FRLayer {
 public:
  virtual ~FRLayer() = default;

  /// The coefficient parameter C (registered as "weight").
  const Var<float>& coefficients() const { return coef_; }
  const ZigzagMask& mask() const { return mask_; }
  /// K, the number of kept coefficients right now.
  std::int64_t kept() const { return mask_.kept(); }
  /// N, the number of coefficients (= dense weight elements).
  std::int64_t coefficient_count() const { return mask_.numel(); }
  /// Training steps taken so far; the next training forward uses the mask of step step().
  std::int64_t step() const { return step_; }
  const TruncationSchedule& schedule() const { return schedule_; }
  FRPath path() const { return path_; }
  void set_path(FRPath p) {
    path_ = p;
    cache_valid_ = false;
  }

  /// Jumps to training step t (resuming): the mask becomes the schedule's mask at t.
  void set_step(std::int64_t t) {
    step_ = std::max<std::int64_t>(t, 0);
    set_kept(schedule_.kept_at(mask_.numel(), step_));
  }
  /// One schedule step by hand (auto_step off): the mask shrinks to the next
  /// step's count (never grows).
  void advance() {
    ++step_;
    const std::int64_t k = schedule_.kept_at(mask_.numel(), step_);
    if (k < mask_.kept()) set_kept(k);
  }
  /// Sets the mask to keep the first K coefficients (loaders, post-training compression).
  void set_kept(std::int64_t k) {
    if (k == mask_.kept() && mask_.shape() == coef_.shape()) return;
    mask_ = ZigzagMask::keep_first(coef_.shape(), k);
    cache_valid_ = false;
  }
  /// Restores a saved state: step counter t and K kept coefficients (loaders).
  void restore(std::int64_t t, std::int64_t k) {
    step_ = std::max<std::int64_t>(t, 0);
    set_kept(k);
    cache_valid_ = false;
  }
  /// Replaces the schedule (keeps the step; the mask follows the new schedule).
  void set_schedule(const TruncationSchedule& s) {
    s.validate();
    schedule_ = s;
    set_kept(schedule_.kept_at(mask_.numel(), step_));
  }

  /// The dense weight the layer uses now: IDCT(C * M), shape of C.
  Tensor<float> reconstructed_weight() const {
    BasisCache<float> b;
    return fr_reconstruct(coef_.value(), mask_, path_, b);
  }
  /// Loads a dense weight: C = DCT(W) (the mask is unchanged).
  void load_dense_weight(const Tensor<float>& w) {
    FREQCAP_CHECK(w.shape() == coef_.shape(), "FR layer: dense weight ", shape_str(w.shape()), " for coefficients ",
                  shape_str(coef_.shape()));
    coef_.value().copy_from(from_dense(w));
    cache_valid_ = false;
  }
  /// Drops the eval-mode cache (it is also dropped whenever the kept coefficients change).
  void invalidate_cache() { cache_valid_ = false; }

 protected:
  void init_fr(Var<float> coef, const TruncationSchedule& schedule, FRPath path, bool auto_step) {
    coef_ = std::move(coef);
    schedule_ = schedule;
    path_ = path;
    auto_step_ = auto_step;
    mask_ = ZigzagMask::keep_first(coef_.shape(), schedule_.kept_at(numel_of(coef_.shape()), 0));
  }

  /// Called at the start of a training forward: with auto_step, applies the
  /// mask of step t = step() (shrinking only) and counts the step.
  void begin_training_forward() {
    cache_valid_ = false;
    if (!auto_step_) return;
    const std::int64_t k = schedule_.kept_at(mask_.numel(), step_);
    if (k < mask_.kept()) set_kept(k);
    ++step_;
  }

  /// True when the eval cache holds the reconstruction of the current kept coefficients.
  bool cache_matches() const {
    if (!cache_valid_ || snapshot_.numel() != mask_.kept()) return false;
    const Tensor<float> c = coef_.value().contiguous();
    // Runs that touch in c are compared as one span (the snapshot is dense).
    bool same = true;
    std::int64_t start = 0, span = 0, i = 0;
    auto compare = [&] {
      if (same && span > 0)
        same = std::memcmp(c.data() + start, snapshot_.data() + i - span, sizeof(float) * std::size_t(span)) == 0;
    };
    mask_.for_each_kept_run([&](std::int64_t of, std::int64_t, std::int64_t len) {
      if (of != start + span) {
        compare();
        start = of, span = 0;
      }
      span += len, i += len;
    });
    compare();
    return same;
  }
  void store_cache(Tensor<float> value) {
    cache_ = std::move(value);
    snapshot_ = mask_.gather_kept_rowmajor(coef_.value());
    cache_valid_ = true;
  }

  Var<float> coef_;
  ZigzagMask mask_;
  TruncationSchedule schedule_;
  FRPath path_ = FRPath::automatic;
  bool auto_step_ = true;
  std::int64_t step_ = 0;
  std::shared_ptr<BasisCache<float>> bases_ = std::make_shared<BasisCache<float>>();
  bool cache_valid_ = false;
  Tensor<float> cache_;
  Tensor<float> snapshot_;
};

/// The FR layers of a module tree with their dotted names (pre-order).
inline std::vector<std::pair<std::string, FRLayer*>> fr_layers(const nn::Module& root) {
  std::vector<std::pair<std::string, FRLayer*>> out;
  std::function<void(const nn::Module&, const std::string&)> rec = [&](const nn::Module& m, const std::string& prefix) {
    for (const auto& [name, child] : m.named_children()) {
      const std::string full = prefix.empty() ? name : prefix + "." + name;
      if (auto* fr = dynamic_cast<FRLayer*>(child.get())) out.emplace_back(full, fr);
      rec(*child, full);
    }
  };
  if (auto* fr = dynamic_cast<FRLayer*>(const_cast<nn::Module*>(&root))) out.emplace_back("", fr);
  rec(root, "");
  return out;
}

/// Sets every FR layer of the tree to training step t (resuming a run).
inline void set_fr_step(nn::Module& root, std::int64_t t) {
  for (auto& [name, fr] : fr_layers(root)) fr->set_step(t);
}

}  // namespace freqcap::dct
