// BLEU-1..4. Per image we keep the sufficient statistics (clipped n-gram
// matches, candidate n-gram counts, candidate length, closest reference length
// with ties to the shorter); corpus BLEU sums them over images. Two corpus
// flavours: `coco` reproduces pycocoevalcap's BleuScorer (tiny = 1e-15 and
// small = 1e-9 guards, candidate n-gram counts max(0, len - n + 1)) and its
// per-image scores; `nltk` reproduces NLTK 3.8 corpus_bleu (each sentence adds
// max(1, count) to the denominator; zero precisions become the smallest double).
// sentence_bleu is NLTK's sentence_bleu with smoothing method0 or method1.
// ref: Papineni et al. 2002; pycocoevalcap/bleu/bleu_scorer.py; nltk/translate/bleu_score.py.
#pragma once

#include <algorithm>
#include <array>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "freqcap/core/error.hpp"
#include "freqcap/metrics/ngrams.hpp"

namespace freqcap::metrics {

/// Sufficient statistics of one candidate against its references.
struct BleuStats {
  std::array<double, kMaxOrder> correct{};  ///< clipped matches per order
  std::array<double, kMaxOrder> guess{};    ///< candidate n-grams per order
  double test_len = 0;                      ///< candidate length
  double ref_len = 0;                       ///< closest reference length
};

/// BLEU statistics of `hyp` against `refs` (at least one reference).
inline BleuStats bleu_stats(const NgramCounts& hyp, const std::vector<NgramCounts>& refs) {
  FREQCAP_CHECK(!refs.empty(), "bleu_stats: no references");
  BleuStats s;
  s.test_len = hyp.length;
  long best = -1;
  for (const auto& r : refs) {
    const long d = std::labs(static_cast<long>(r.length) - static_cast<long>(hyp.length));
    const long bd = std::labs(best - static_cast<long>(hyp.length));
    if (best < 0 || d < bd || (d == bd && static_cast<long>(r.length) < best))
      best = static_cast<long>(r.length);
  }
  s.ref_len = static_cast<double>(best);
  for (int k = 0; k < kMaxOrder; ++k) {
    s.guess[k] = hyp.totals[k];
    std::uint32_t correct = 0;
    // For each candidate n-gram: min(count, max count over references).
    for (const auto& [id, count] : hyp.grams[k]) {
      std::uint32_t max_ref = 0;
      for (const auto& r : refs) {
        const auto& g = r.grams[k];
        auto it = std::lower_bound(g.begin(), g.end(), std::make_pair(id, 0u));
        if (it != g.end() && it->first == id) max_ref = std::max(max_ref, it->second);
      }
      correct += std::min(count, max_ref);
    }
    s.correct[k] = correct;
  }
  return s;
}

/// Adds statistics (for corpus totals).
inline BleuStats& operator+=(BleuStats& a, const BleuStats& b) {
  for (int k = 0; k < kMaxOrder; ++k) {
    a.correct[k] += b.correct[k];
    a.guess[k] += b.guess[k];
  }
  a.test_len += b.test_len;
  a.ref_len += b.ref_len;
  return a;
}

/// pycocoevalcap's BLEU-1..4 from (per-image or summed) statistics:
/// BLEU-n = (prod_{k<=n} (correct_k + 1e-15) / (guess_k + 1e-9))^(1/n) * BP,
/// BP = exp(1 - 1/ratio) when ratio = (c + 1e-15) / (r + 1e-9) < 1.
inline std::array<double, kMaxOrder> coco_bleu(const BleuStats& s) {
  constexpr double tiny = 1e-15, small = 1e-9;
  std::array<double, kMaxOrder> out{};
  double bleu = 1.0;
  for (int k = 0; k < kMaxOrder; ++k) {
    bleu *= (s.correct[k] + tiny) / (s.guess[k] + small);
    out[k] = std::pow(bleu, 1.0 / (k + 1));
  }
  const double ratio = (s.test_len + tiny) / (s.ref_len + small);
  if (ratio < 1)
    for (auto& v : out) v *= std::exp(1 - 1 / ratio);
  return out;
}

/// NLTK smoothing for sentence/corpus BLEU: method0 (none) or method1
/// (a zero match count becomes epsilon = 0.1 matches).
enum class BleuSmoothing { none, method1 };

namespace detail {
/// NLTK's combination of precisions p_k = num_k / den_k (k < n) with uniform
/// weights 1/n, brevity penalty from lengths c (candidate) and r (reference).
inline double nltk_bleu_combine(const std::array<double, kMaxOrder>& num,
                                const std::array<double, kMaxOrder>& den, double c, double r,
                                int n, BleuSmoothing smoothing) {
  if (num[0] == 0) return 0.0;
  const double bp = c > r ? 1.0 : (c == 0 ? 0.0 : std::exp(1 - r / c));
  double sum = 0;
  for (int k = 0; k < n; ++k) {
    double p;
    if (num[k] != 0) p = num[k] / den[k];
    else if (smoothing == BleuSmoothing::method1) p = 0.1 / den[k];
    else p = DBL_MIN;
    sum += (1.0 / n) * std::log(p);
  }
  return bp * std::exp(sum);
}
}  // namespace detail

/// NLTK 3.8 sentence_bleu(refs, hyp, weights = (1/n,)*n, smoothing) for n in 1..4.
inline double sentence_bleu(const BleuStats& s, int n, BleuSmoothing smoothing) {
  FREQCAP_CHECK(n >= 1 && n <= kMaxOrder, "sentence_bleu: order ", n, " not in 1..4");
  std::array<double, kMaxOrder> den{};
  for (int k = 0; k < kMaxOrder; ++k) den[k] = std::max(1.0, s.guess[k]);
  return detail::nltk_bleu_combine(s.correct, den, s.test_len, s.ref_len, n, smoothing);
}

/// NLTK 3.8 corpus_bleu with weights (1/n,)*n over per-image statistics.
inline double nltk_corpus_bleu(const std::vector<BleuStats>& stats, int n,
                               BleuSmoothing smoothing = BleuSmoothing::none) {
  FREQCAP_CHECK(n >= 1 && n <= kMaxOrder, "nltk_corpus_bleu: order ", n, " not in 1..4");
  std::array<double, kMaxOrder> num{}, den{};
  double c = 0, r = 0;
  for (const auto& s : stats) {
    for (int k = 0; k < kMaxOrder; ++k) {
      num[k] += s.correct[k];
      den[k] += std::max(1.0, s.guess[k]);
    }
    c += s.test_len;
    r += s.ref_len;
  }
  return detail::nltk_bleu_combine(num, den, c, r, n, smoothing);
}

/// pycocoevalcap corpus BLEU-1..4 over per-image statistics.
inline std::array<double, kMaxOrder> coco_corpus_bleu(const std::vector<BleuStats>& stats) {
  BleuStats total;
  for (const auto& s : stats) total += s;
  return coco_bleu(total);
}

/// String-level convenience: NLTK sentence BLEU-n of tokens against references.
inline double sentence_bleu(const std::vector<std::string>& hyp,
                            const std::vector<std::vector<std::string>>& refs, int n,
                            BleuSmoothing smoothing = BleuSmoothing::method1) {
  SentenceSet set;
  const auto h = set.add(hyp);
  std::vector<NgramCounts> r;
  for (const auto& ref : refs) r.push_back(set.add(ref));
  return sentence_bleu(bleu_stats(h, r), n, smoothing);
}

}  // namespace freqcap::metrics
