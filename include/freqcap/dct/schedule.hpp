// Dynamic tail truncation of Frequency Regularization as a small policy
// object: at training step t an FR layer keeps
//   keep_t = min_rate + (1 - min_rate) * (1 - drop_rate)^t
// of its N coefficients (the lowest-ranked ones in zigzag order), never fewer
// than min_count (nor than 1, nor more than N). keep_t falls monotonically, so
// the mask only shrinks. A fixed count (keep_count >= 0) replaces the ratio.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "freqcap/core/error.hpp"

namespace freqcap::dct {

struct TruncationSchedule {
  /// Fraction of coefficients kept in the end (the schedule's floor).
  double min_rate = 0.1;
  /// Per-step decay of the excess over min_rate; 0 keeps the starting mask.
  double drop_rate = 1e-3;
  /// Never keep fewer than this many coefficients (FR's authors: 128 conv, 256 linear).
  std::int64_t min_count = 128;
  /// When >= 0: the final kept count instead of min_rate * N.
  std::int64_t keep_count = -1;
  /// false: the final mask from step 0 (no schedule, as post-training compression).
  bool dynamic = true;

  void validate() const {
    FREQCAP_CHECK(min_rate >= 0 && min_rate <= 1, "TruncationSchedule: min_rate ", min_rate, " not in [0, 1]");
    FREQCAP_CHECK(drop_rate >= 0 && drop_rate <= 1, "TruncationSchedule: drop_rate ", drop_rate, " not in [0, 1]");
    FREQCAP_CHECK(min_count >= 0, "TruncationSchedule: negative min_count ", min_count);
  }

  /// keep_t as a fraction of N for n coefficients (closed form above).
  double keep_fraction(std::int64_t n, std::int64_t step) const {
    const double floor_rate = keep_count >= 0 && n > 0 ? std::min(1.0, double(keep_count) / double(n)) : min_rate;
    if (!dynamic) return floor_rate;
    return floor_rate + (1.0 - floor_rate) * std::pow(1.0 - drop_rate, double(std::max<std::int64_t>(step, 0)));
  }

  /// Kept count at `step` for n coefficients: floor(keep_t * n), clamped to
  /// [min(max(min_count, 1), n), n] (keep_count replaces min_count when set).
  std::int64_t kept_at(std::int64_t n, std::int64_t step) const {
    if (n <= 0) return 0;
    const double f = keep_fraction(n, step);
    // A hair of tolerance so 0.1 * 1000 gives 100, not 99.
    auto k = static_cast<std::int64_t>(std::floor(f * double(n) + 1e-9 * double(n)));
    const std::int64_t floor_count = keep_count >= 0 ? keep_count : min_count;  // an explicit count wins
    const std::int64_t lo = std::min<std::int64_t>(std::max<std::int64_t>(floor_count, 1), n);
    return std::clamp<std::int64_t>(k, lo, n);
  }
};

}  // namespace freqcap::dct
