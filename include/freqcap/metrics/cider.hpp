// CIDEr-D exactly as pycocoevalcap's CiderScorer computes it: n = 1..4,
// TF-IDF vectors with document frequencies counted over the references of the
// evaluated set (an n-gram counts once per image), IDF = log(#images) -
// log(max(1, df)), clipped dot products min(v_c, v_r) * v_r divided by both
// norms, a Gaussian length penalty exp(-delta^2 / (2 sigma^2)) with sigma = 6,
// mean over the references and over n, times 10. Quirks reproduced: the
// "length" in delta is the number of BIGRAMS (pycocoevalcap counts term
// frequencies where its 0-based order index is 1), an n-gram no reference
// contains gets IDF log(#images), a set of one image scores 0 (log 1 = 0), and
// a zero norm leaves the unnormalised (zero) dot product.
// ref: Vedantam et al. 2015; pycocoevalcap/cider/cider_scorer.py.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <vector>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "freqcap/core/error.hpp"
#include "freqcap/metrics/ngrams.hpp"

namespace freqcap::metrics {

/// CIDEr-D scorer holding the IDF table of one evaluated set.
class CiderD {
 public:
  static constexpr double kSigma = 6.0;

  /// refs[i]: the reference n-gram counts of image i (ids from one table).
  /// threads <= 0: OpenMP default.
  explicit CiderD(const std::vector<std::vector<NgramCounts>>& refs, int threads = 0) {
    FREQCAP_CHECK(!refs.empty(), "CiderD: no images");
    const long long n = static_cast<long long>(refs.size());
#ifdef _OPENMP
    if (threads <= 0) threads = omp_get_max_threads();
#else
    threads = 1;
#endif
    std::uint32_t max_id = 0;
#pragma omp parallel for reduction(max : max_id) schedule(static) num_threads(threads)
    for (long long i = 0; i < n; ++i)
      for (const auto& r : refs[i])
        for (const auto& g : r.grams)
          if (!g.empty()) max_id = std::max(max_id, g.back().first);
    std::vector<std::uint32_t> df(static_cast<std::size_t>(max_id) + 1, 0);
#pragma omp parallel num_threads(threads)
    {
      std::vector<std::uint32_t> ids;  // this image's distinct reference n-grams
#pragma omp for schedule(dynamic, 256)
      for (long long i = 0; i < n; ++i) {
        ids.clear();
        for (const auto& r : refs[i])
          for (const auto& g : r.grams)
            for (const auto& [id, count] : g) ids.push_back(id);
        std::sort(ids.begin(), ids.end());
        ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
        for (auto id : ids) {
#pragma omp atomic
          ++df[id];
        }
      }
    }
    log_images_ = std::log(static_cast<double>(refs.size()));
    idf_.resize(df.size());
    for (std::size_t i = 0; i < df.size(); ++i)
      idf_[i] = log_images_ - std::log(std::max(1.0, static_cast<double>(df[i])));
  }

  /// CIDEr-D of one candidate against its references (the refs passed to the
  /// constructor for this image, or any others with ids from the same table).
  double score(const NgramCounts& hyp, const std::vector<NgramCounts>& refs) const {
    FREQCAP_CHECK(!refs.empty(), "CiderD::score: no references");
    const Vec vh = to_vec(hyp);
    std::array<double, kMaxOrder> sum{};
    for (const auto& r : refs) {
      const Vec vr = to_vec(r);
      const double delta = static_cast<double>(vh.length) - static_cast<double>(vr.length);
      const double penalty = std::exp(-(delta * delta) / (2 * kSigma * kSigma));
      for (int n = 0; n < kMaxOrder; ++n) {
        double val = clipped_dot(vh.v[n], vr.v[n]);
        if (vh.norm[n] != 0 && vr.norm[n] != 0) val /= vh.norm[n] * vr.norm[n];
        sum[n] += val * penalty;
      }
    }
    double mean = 0;
    for (double s : sum) mean += s;
    mean /= kMaxOrder;
    return mean / static_cast<double>(refs.size()) * 10.0;
  }

  /// IDF numerator: log(number of images).
  double log_images() const { return log_images_; }

 private:
  using Sparse = std::vector<std::pair<std::uint32_t, double>>;
  struct Vec {
    std::array<Sparse, kMaxOrder> v;
    std::array<double, kMaxOrder> norm{};
    std::uint32_t length = 0;  // number of bigrams (pycocoevalcap quirk)
  };
  double idf(std::uint32_t id) const { return id < idf_.size() ? idf_[id] : log_images_; }
  Vec to_vec(const NgramCounts& c) const {
    Vec out;
    for (int n = 0; n < kMaxOrder; ++n) {
      double sq = 0;
      out.v[n].reserve(c.grams[n].size());
      for (const auto& [id, tf] : c.grams[n]) {
        const double w = static_cast<double>(tf) * idf(id);
        out.v[n].emplace_back(id, w);
        sq += w * w;
      }
      out.norm[n] = std::sqrt(sq);
    }
    out.length = c.totals[1];
    return out;
  }
  static double clipped_dot(const Sparse& h, const Sparse& r) {
    double s = 0;
    std::size_t i = 0, j = 0;
    while (i < h.size() && j < r.size()) {
      if (h[i].first < r[j].first) {
        ++i;
      } else if (r[j].first < h[i].first) {
        ++j;
      } else {
        s += std::min(h[i].second, r[j].second) * r[j].second;
        ++i;
        ++j;
      }
    }
    return s;
  }
  std::vector<double> idf_;
  double log_images_ = 0;
};

}  // namespace freqcap::metrics
