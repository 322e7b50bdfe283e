// ROUGE-1, ROUGE-2 and ROUGE-L. ROUGE-N is the F1 of clipped n-gram overlap
// against one reference (precision over candidate n-grams, recall over
// reference n-grams). ROUGE-L follows pycocoevalcap's Rouge: LCS length l,
// precision l/|c| and recall l/|r| per reference, the maximum precision and the
// maximum recall taken separately over the references, F = (1+b^2)PR/(R+b^2P)
// with b = 1.2. ref: Lin 2004; pycocoevalcap/rouge/rouge.py.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "freqcap/core/error.hpp"
#include "freqcap/metrics/ngrams.hpp"

namespace freqcap::metrics {

/// pycocoevalcap's ROUGE-L beta.
inline constexpr double kRougeLBeta = 1.2;

/// Length of the longest common subsequence of a and b. O(|a| |b|) time,
/// O(|b|) memory.
inline std::size_t lcs_length(const TokenIds& a, const TokenIds& b) {
  if (a.empty() || b.empty()) return 0;
  std::vector<std::uint32_t> row(b.size() + 1, 0);
  for (std::size_t i = 0; i < a.size(); ++i) {
    std::uint32_t diag = 0;  // row[j] of the previous i
    for (std::size_t j = 0; j < b.size(); ++j) {
      const std::uint32_t up = row[j + 1];
      row[j + 1] = a[i] == b[j] ? diag + 1 : std::max(up, row[j]);
      diag = up;
    }
  }
  return row[b.size()];
}

/// (1+b^2)PR / (R + b^2 P), or 0 when P or R is 0.
inline double rouge_l_f(double precision, double recall, double beta = kRougeLBeta) {
  if (precision == 0 || recall == 0) return 0.0;
  return (1 + beta * beta) * precision * recall / (recall + beta * beta * precision);
}

/// pycocoevalcap ROUGE-L of `hyp` against `refs` (max P and max R separately).
/// An empty candidate or empty references score 0.
inline double rouge_l(const TokenIds& hyp, const std::vector<TokenIds>& refs) {
  FREQCAP_CHECK(!refs.empty(), "rouge_l: no references");
  if (hyp.empty()) return 0.0;
  double p_max = 0, r_max = 0;
  for (const auto& r : refs) {
    if (r.empty()) continue;
    const double l = static_cast<double>(lcs_length(r, hyp));
    p_max = std::max(p_max, l / static_cast<double>(hyp.size()));
    r_max = std::max(r_max, l / static_cast<double>(r.size()));
  }
  return rouge_l_f(p_max, r_max);
}

/// ROUGE-L of `hyp` against a single reference.
inline double rouge_l(const TokenIds& hyp, const TokenIds& ref) {
  return rouge_l(hyp, std::vector<TokenIds>{ref});
}

/// ROUGE-N F1 (n in 1..4) of `hyp` against one reference: overlap o of clipped
/// n-gram counts, P = o / #hyp n-grams, R = o / #ref n-grams, F1 = 2PR/(P+R);
/// 0 when there is no overlap.
inline double rouge_n(const NgramCounts& hyp, const NgramCounts& ref, int n) {
  FREQCAP_CHECK(n >= 1 && n <= kMaxOrder, "rouge_n: order ", n, " not in 1..4");
  const auto o = clipped_overlap(hyp.grams[n - 1], ref.grams[n - 1]);
  if (o == 0) return 0.0;
  const double p = static_cast<double>(o) / hyp.totals[n - 1];
  const double r = static_cast<double>(o) / ref.totals[n - 1];
  return 2 * p * r / (p + r);
}

/// Best ROUGE-N F1 over references (the coco protocol).
inline double rouge_n_best(const NgramCounts& hyp, const std::vector<NgramCounts>& refs, int n) {
  double best = 0;
  for (const auto& r : refs) best = std::max(best, rouge_n(hyp, r, n));
  return best;
}

/// Mean ROUGE-N F1 over references (the seed protocol).
inline double rouge_n_mean(const NgramCounts& hyp, const std::vector<NgramCounts>& refs, int n) {
  FREQCAP_CHECK(!refs.empty(), "rouge_n_mean: no references");
  double s = 0;
  for (const auto& r : refs) s += rouge_n(hyp, r, n);
  return s / static_cast<double>(refs.size());
}

}  // namespace freqcap::metrics
