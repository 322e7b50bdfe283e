// METEOR with NLTK 3.8 `meteor_score` semantics: alignment in three stages
// (exact word, Porter stem, WordNet synonym), each stage walking the candidate
// from its last word to its first and taking the LAST still-unmatched
// reference word that fits; P = m/|c|, R = m/|r|, Fmean = PR/(aP + (1-a)R),
// penalty = g (chunks/m)^b with a = 0.9, b = 3, g = 0.5; score
// (1 - penalty) Fmean; the best over references. Quirk reproduced: as in NLTK,
// the synonym stage sees the STEMMED words left over by the stem stage, so it
// looks up WordNet synonyms of the candidate's stem and compares them with the
// reference's stems. Without WordNet the synonym stage is skipped (reported
// as METEOR-nosyn). ref: Lavie & Agarwal 2007; nltk/translate/meteor_score.py.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "freqcap/core/error.hpp"
#include "freqcap/metrics/ngrams.hpp"
#include "freqcap/metrics/porter_stemmer.hpp"
#include "freqcap/metrics/wordnet.hpp"

namespace freqcap::metrics {

/// METEOR weights (NLTK defaults).
struct MeteorParams {
  double alpha = 0.9;
  double beta = 3.0;
  double gamma = 0.5;
};

/// METEOR scorer for sentences whose word ids come from `vocab`. Stems and
/// synonym sets of every vocabulary word are computed once in the
/// constructor; scoring is then read-only and thread-safe.
class Meteor {
 public:
  /// wordnet may be null (no synonym stage). threads <= 0: OpenMP default.
  Meteor(const Vocabulary& vocab, const WordNet* wordnet, MeteorParams params = {},
         int threads = 0)
      : params_(params), has_synonyms_(wordnet != nullptr) {
    const std::size_t n = vocab.size();
    std::vector<std::string> stems(n);
#pragma omp parallel for schedule(dynamic, 64) num_threads(threads > 0 ? threads : omp_threads())
    for (long long i = 0; i < static_cast<long long>(n); ++i)
      stems[i] = porter_stem(vocab.word(static_cast<std::uint32_t>(i)));
    std::unordered_map<std::string, std::uint32_t> stem_ids;
    stem_of_.resize(n);
    std::vector<const std::string*> stem_words;
    for (std::size_t i = 0; i < n; ++i) {
      auto [it, added] = stem_ids.emplace(stems[i], static_cast<std::uint32_t>(stem_words.size()));
      if (added) stem_words.push_back(&it->first);
      stem_of_[i] = it->second;
    }
    if (!wordnet) return;
    synonyms_.resize(stem_words.size());
#pragma omp parallel for schedule(dynamic, 16) num_threads(threads > 0 ? threads : omp_threads())
    for (long long s = 0; s < static_cast<long long>(stem_words.size()); ++s) {
      auto& out = synonyms_[s];
      for (const auto& name : wordnet->synonyms(*stem_words[s])) {
        auto it = stem_ids.find(name);
        if (it != stem_ids.end()) out.push_back(it->second);
      }
      std::sort(out.begin(), out.end());
    }
  }

  bool has_synonyms() const { return has_synonyms_; }

  /// NLTK single_meteor_score(ref, hyp).
  double score(const TokenIds& hyp, const TokenIds& ref) const {
    if (hyp.empty() || ref.empty()) return 0.0;
    using Enum = std::vector<std::pair<std::uint32_t, std::uint32_t>>;  // (position, token)
    Enum h, r;
    for (std::uint32_t i = 0; i < hyp.size(); ++i) h.emplace_back(i, hyp[i]);
    for (std::uint32_t j = 0; j < ref.size(); ++j) r.emplace_back(j, ref[j]);
    std::vector<std::pair<std::uint32_t, std::uint32_t>> matches;
    const auto stage = [&](auto fits) {
      for (std::size_t i = h.size(); i-- > 0;) {
        for (std::size_t j = r.size(); j-- > 0;) {
          if (fits(h[i].second, r[j].second)) {
            matches.emplace_back(h[i].first, r[j].first);
            h.erase(h.begin() + static_cast<long>(i));
            r.erase(r.begin() + static_cast<long>(j));
            break;
          }
        }
      }
    };
    stage([](std::uint32_t a, std::uint32_t b) { return a == b; });
    for (auto& e : h) e.second = stem_of_[e.second];
    for (auto& e : r) e.second = stem_of_[e.second];
    stage([](std::uint32_t a, std::uint32_t b) { return a == b; });
    if (has_synonyms_) {
      stage([&](std::uint32_t a, std::uint32_t b) {
        const auto& syn = synonyms_[a];
        return a == b || std::binary_search(syn.begin(), syn.end(), b);
      });
    }
    const std::size_t m = matches.size();
    if (m == 0) return 0.0;
    std::sort(matches.begin(), matches.end());
    std::size_t chunks = 1;
    for (std::size_t k = 0; k + 1 < m; ++k)
      if (!(matches[k + 1].first == matches[k].first + 1 &&
            matches[k + 1].second == matches[k].second + 1))
        ++chunks;
    const double p = static_cast<double>(m) / static_cast<double>(hyp.size());
    const double rc = static_cast<double>(m) / static_cast<double>(ref.size());
    const double fmean = p * rc / (params_.alpha * p + (1 - params_.alpha) * rc);
    const double frag = static_cast<double>(chunks) / static_cast<double>(m);
    const double penalty = params_.gamma * std::pow(frag, params_.beta);
    return (1 - penalty) * fmean;
  }

  /// NLTK meteor_score(refs, hyp): best over references (coco protocol).
  double score_best(const TokenIds& hyp, const std::vector<TokenIds>& refs) const {
    FREQCAP_CHECK(!refs.empty(), "meteor: no references");
    double best = 0;
    for (const auto& r : refs) best = std::max(best, score(hyp, r));
    return best;
  }

  /// Mean over references (seed protocol).
  double score_mean(const TokenIds& hyp, const std::vector<TokenIds>& refs) const {
    FREQCAP_CHECK(!refs.empty(), "meteor: no references");
    double s = 0;
    for (const auto& r : refs) s += score(hyp, r);
    return s / static_cast<double>(refs.size());
  }

 private:
  static int omp_threads() {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
  }
  MeteorParams params_;
  bool has_synonyms_;
  std::vector<std::uint32_t> stem_of_;               // word id -> stem id
  std::vector<std::vector<std::uint32_t>> synonyms_;  // stem id -> sorted synonym stem ids
};

/// String-level NLTK meteor_score(refs, hyp) (tokens already lower-case).
inline double meteor_score(const std::vector<std::string>& hyp,
                           const std::vector<std::vector<std::string>>& refs,
                           const WordNet* wordnet, MeteorParams params = {}) {
  Vocabulary vocab;
  const TokenIds h = vocab.intern_all(hyp);
  std::vector<TokenIds> r;
  for (const auto& ref : refs) r.push_back(vocab.intern_all(ref));
  return Meteor(vocab, wordnet, params, 1).score_best(h, r);
}

}  // namespace freqcap::metrics
