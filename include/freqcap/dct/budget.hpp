// Planning what an FR model keeps: how many coefficients each FR layer ends
// with, and how fast its mask gets there.
//  - keep_split_sqrt: a total budget split over the layers in proportion to
//    sqrt(N), at least 1 each, the rounding remainder given to the largest;
//  - keep_per_ratio: N / r per layer (a ratio of the weights);
//  - keep_budget_for_stored_ratio: the kept coefficients that make kept +
//    dense numbers (biases, BatchNorm) = weights / r, or an Error saying how
//    far r can go;
//  - drop_rate_for_floor: the per-step drop rate that brings every mask to
//    within 1e-4 N of its floor after a given number of steps;
//  - plan_truncation: sets each FR layer's dynamic schedule to end at its
//    count with that drop rate.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <vector>

#include "freqcap/core/error.hpp"
#include "freqcap/dct/fr_layer.hpp"

namespace freqcap::dct {

/// `total` kept coefficients over layers of `sizes` coefficients, in
/// proportion to sqrt(N), each clamped to [1, N]; what rounding leaves over
/// (or takes) goes to the largest layer. Needs total >= sizes.size().
inline std::vector<std::int64_t> keep_split_sqrt(const std::vector<std::int64_t>& sizes, std::int64_t total) {
  FREQCAP_CHECK(!sizes.empty() && total >= std::int64_t(sizes.size()), "keep_split_sqrt: a budget of ", total,
                " kept coefficients is less than one for each of ", sizes.size(), " FR layers");
  double norm = 0;
  for (auto n : sizes) {
    FREQCAP_CHECK(n > 0, "keep_split_sqrt: an FR layer with ", n, " coefficients");
    norm += std::sqrt(double(n));
  }
  std::vector<std::int64_t> k(sizes.size());
  std::int64_t used = 0;
  std::size_t largest = 0;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    k[i] = std::clamp<std::int64_t>(std::int64_t(double(total) * std::sqrt(double(sizes[i])) / norm), 1, sizes[i]);
    used += k[i];
    if (sizes[i] > sizes[largest]) largest = i;
  }
  k[largest] = std::clamp<std::int64_t>(k[largest] + total - used, 1, sizes[largest]);
  return k;
}

/// N / ratio kept coefficients per layer (at least 1). Needs ratio >= 1.
inline std::vector<std::int64_t> keep_per_ratio(const std::vector<std::int64_t>& sizes, double ratio) {
  FREQCAP_CHECK(ratio >= 1, "keep_per_ratio: ratio ", ratio, " must be >= 1");
  std::vector<std::int64_t> k(sizes.size());
  for (std::size_t i = 0; i < sizes.size(); ++i)
    k[i] = std::clamp<std::int64_t>(std::int64_t(double(sizes[i]) / ratio), std::min<std::int64_t>(1, sizes[i]),
                                    sizes[i]);
  return k;
}

/// Kept coefficients K with K + dense_numbers = weights / ratio (rounded down),
/// for a model whose FR layers (`layers` of them) hold `weights` coefficients.
/// Throws when that leaves less than one coefficient per layer, naming the
/// largest ratio within reach.
inline std::int64_t keep_budget_for_stored_ratio(std::int64_t weights, std::int64_t dense_numbers, std::size_t layers,
                                                 double ratio) {
  FREQCAP_CHECK(ratio > 0, "keep_budget_for_stored_ratio: ratio ", ratio, " must be > 0");
  const auto total = std::int64_t(double(weights) / ratio);
  if (total - dense_numbers < std::int64_t(layers)) {
    std::ostringstream m;
    m << "stored ratio " << ratio << " is out of reach: the FR model's dense numbers (biases, BatchNorm) alone are "
      << dense_numbers << ", and its " << weights << " weights / " << ratio << " = " << total << "; at most "
      << double(weights) / double(dense_numbers + std::int64_t(layers)) << "x";
    throw Error(m.str());
  }
  return total - dense_numbers;
}

/// The drop rate d with (1 - d)^steps = 1e-4: after `steps` training steps
/// each mask exceeds its floor by at most 1e-4 of its N coefficients.
inline double drop_rate_for_floor(double steps) {
  FREQCAP_CHECK(steps >= 1, "drop_rate_for_floor: need at least one step (got ", steps, ")");
  return 1.0 - std::exp(std::log(1e-4) / steps);
}

/// Makes every FR layer of `model` (pre-order, as fr_layers lists them) shrink
/// dynamically to keep[i] coefficients with the given per-step drop rate.
inline void plan_truncation(nn::Module& model, const std::vector<std::int64_t>& keep, double drop_rate) {
  const auto layers = fr_layers(model);
  FREQCAP_CHECK(keep.size() == layers.size(), "plan_truncation: ", keep.size(), " kept counts for ", layers.size(),
                " FR layers");
  for (std::size_t i = 0; i < layers.size(); ++i) {
    TruncationSchedule s = layers[i].second->schedule();
    s.keep_count = keep[i];
    s.drop_rate = drop_rate;
    s.dynamic = true;
    layers[i].second->set_schedule(s);  // validates s
  }
}

}  // namespace freqcap::dct
