// The evaluation protocols over a whole caption set, and the file-level entry
// point behind `freqcap-evaluate`. `coco` is pycocoevalcap's multi-reference
// protocol: corpus BLEU from summed statistics, best-reference ROUGE-1/2,
// pycocoevalcap ROUGE-L, best-reference METEOR, CIDEr-D, each (but BLEU)
// averaged over images. `seed` scores every candidate against each reference
// separately and averages over references and images, as the seed paper did:
// sentence BLEU (NLTK smoothing method1), ROUGE-N F1, ROUGE-L, METEOR; CIDEr-D
// is already a mean over references and is the same in both protocols.
// Captions are standardized with text/standardize.hpp; everything after
// tokenization runs on integer ids, on OpenMP threads.
#pragma once

#include <array>
#include <cstdio>
#include <iomanip>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "freqcap/core/error.hpp"
#include "freqcap/io/atomic_file.hpp"
#include "freqcap/text/caption_json.hpp"
#include "freqcap/metrics/bleu.hpp"
#include "freqcap/metrics/cider.hpp"
#include "freqcap/metrics/meteor.hpp"
#include "freqcap/metrics/ngrams.hpp"
#include "freqcap/metrics/rouge.hpp"
#include "freqcap/metrics/wordnet.hpp"
#include "freqcap/text/standardize.hpp"

namespace freqcap::metrics {

enum class Protocol { coco, seed };

/// "coco" or "seed"; Error otherwise.
inline Protocol parse_protocol(const std::string& name) {
  if (name == "coco") return Protocol::coco;
  if (name == "seed") return Protocol::seed;
  ::freqcap::detail::fail("unknown protocol '", name, "' (expected coco or seed)");
}

struct EvaluateOptions {
  Protocol protocol = Protocol::coco;
  const WordNet* wordnet = nullptr;  ///< null: METEOR without synonyms (METEOR-nosyn)
  int threads = 0;                   ///< <= 0: OpenMP default
  BleuSmoothing seed_bleu_smoothing = BleuSmoothing::method1;
};

/// Metric names in report order; index 7 is METEOR or METEOR-nosyn.
inline std::vector<std::string> metric_names(bool with_synonyms) {
  return {"BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "ROUGE-1", "ROUGE-2", "ROUGE-L",
          with_synonyms ? "METEOR" : "METEOR-nosyn", "CIDEr-D"};
}
inline constexpr int kNumMetrics = 9;

struct EvaluationResult {
  std::vector<std::string> names;                 ///< kNumMetrics metric names
  std::array<double, kNumMetrics> scores{};       ///< corpus scores, same order
  std::vector<std::string> paths;                 ///< image paths (may be empty)
  std::vector<std::array<double, kNumMetrics>> per_image;  ///< [images][metrics]
  std::vector<std::string> warnings;
  double score(const std::string& name) const {
    for (std::size_t i = 0; i < names.size(); ++i)
      if (names[i] == name) return scores[i];
    ::freqcap::detail::fail("no metric named '", name, "'");
  }
};

namespace detail {
/// Writes the 1..4-gram ids of every sentence into `flat` (sentence k's ids
/// start at starts[k], laid out as intern_ngrams does). N-grams are split
/// over `shards` tables by hash so that each thread probes only its own;
/// ids are local id * shards + shard (unique, not dense).
inline void intern_sharded(const std::vector<const TokenIds*>& sentences,
                           const std::vector<std::size_t>& starts, std::vector<std::uint32_t>& flat,
                           int shards) {
  if (shards < 1) shards = 1;
  std::vector<NgramTable> tables(static_cast<std::size_t>(shards));
  const long long count = static_cast<long long>(sentences.size());
#pragma omp parallel num_threads(shards)
  {
#ifdef _OPENMP
    const int t = omp_get_thread_num(), team = omp_get_num_threads();
#else
    const int t = 0, team = 1;
#endif
    // A thread owns shards t, t + team, ... (all of them if OpenMP gave fewer threads).
    for (int s = t; s < shards; s += team)
      tables[s].reserve(flat.size() * 3 / 4 / static_cast<std::size_t>(shards));
    for (int order = 1; order <= kMaxOrder; ++order) {
      for (long long k = 0; k < count; ++k) {
        const TokenIds& w = *sentences[k];
        if (w.size() < static_cast<std::size_t>(order)) continue;
        // Offset of this order's ids (and the previous order's) in the sentence.
        std::size_t at = starts[k], prev = at;
        for (int m = 1; m < order; ++m) {
          prev = at;
          at += w.size() - m + 1;
        }
        const std::size_t len = w.size() - order + 1;
        for (std::size_t i = 0; i < len; ++i) {
          const std::uint32_t prefix = order == 1 ? NgramTable::kNoPrefix : flat[prev + i];
          const std::uint64_t key = (static_cast<std::uint64_t>(prefix) << 32) | w[i + order - 1];
          const int s = static_cast<int>((NgramTable::hash(key) >> 40) % static_cast<std::uint64_t>(shards));
          if (s % team != t) continue;
          const std::uint32_t local = tables[s].intern(prefix, w[i + order - 1], order);
          flat[at + i] = local * static_cast<std::uint32_t>(shards) + static_cast<std::uint32_t>(s);
        }
      }
#pragma omp barrier
    }
  }
}
}  // namespace detail

/// Scores candidates[i] against references[i] (raw caption strings, at least one
/// reference per image). Empty candidates score 0.
inline EvaluationResult evaluate_captions(const std::vector<std::vector<std::string>>& references,
                                          const std::vector<std::string>& candidates,
                                          const EvaluateOptions& options = {}) {
  FREQCAP_CHECK(references.size() == candidates.size(), "evaluate_captions: ",
                candidates.size(), " candidates for ", references.size(), " reference sets");
  FREQCAP_CHECK(!references.empty(), "evaluate_captions: no images to score");
  const long long n = static_cast<long long>(references.size());
#ifdef _OPENMP
  const int threads = options.threads > 0 ? options.threads : omp_get_max_threads();
#else
  const int threads = 1;
#endif
  // 1. Tokenize (parallel), 2. intern words and n-grams (serial, one table).
  std::vector<std::vector<std::string>> hyp_tok(n);
  std::vector<std::vector<std::vector<std::string>>> ref_tok(n);
#pragma omp parallel for schedule(dynamic, 256) num_threads(threads)
  for (long long i = 0; i < n; ++i) {
    hyp_tok[i] = standardize_tokens(candidates[i]);
    for (const auto& r : references[i]) ref_tok[i].push_back(standardize_tokens(r));
  }
  Vocabulary vocab;
  std::vector<TokenIds> hyp_ids(n);
  std::vector<std::vector<TokenIds>> ref_ids(n);
  for (long long i = 0; i < n; ++i) {
    FREQCAP_CHECK(!ref_tok[i].empty(), "evaluate_captions: image ", i, " has no references");
    hyp_ids[i] = vocab.intern_all(hyp_tok[i]);
    for (const auto& r : ref_tok[i]) ref_ids[i].push_back(vocab.intern_all(r));
  }
  // N-gram ids: one table per thread, each owning the n-grams whose hash
  // falls in its shard (global id = local id * shards + shard), filled order
  // by order so that (n-1)-gram prefix ids are known.
  std::vector<const TokenIds*> sentences;
  std::vector<std::size_t> hyp_at(n), ref_at;
  std::vector<std::size_t> starts;
  std::size_t total = 0;
  for (long long i = 0; i < n; ++i) {
    hyp_at[i] = total;
    sentences.push_back(&hyp_ids[i]);
    starts.push_back(total);
    total += ngram_occurrences(hyp_ids[i].size());
    for (const auto& r : ref_ids[i]) {
      ref_at.push_back(total);
      sentences.push_back(&r);
      starts.push_back(total);
      total += ngram_occurrences(r.size());
    }
  }
  std::vector<std::uint32_t> flat(total);
  detail::intern_sharded(sentences, starts, flat, threads);
  std::vector<std::size_t> ref_first(n + 1, 0);
  for (long long i = 0; i < n; ++i) ref_first[i + 1] = ref_first[i] + ref_ids[i].size();
  std::vector<NgramCounts> hyp_grams(n);
  std::vector<std::vector<NgramCounts>> ref_grams(n);
#pragma omp parallel for schedule(dynamic, 256) num_threads(threads)
  for (long long i = 0; i < n; ++i) {
    hyp_grams[i] = counts_from_ids(flat.data() + hyp_at[i], hyp_ids[i].size());
    for (std::size_t r = 0; r < ref_ids[i].size(); ++r)
      ref_grams[i].push_back(counts_from_ids(flat.data() + ref_at[ref_first[i] + r], ref_ids[i][r].size()));
  }
  flat = {};
  hyp_tok.clear();
  ref_tok.clear();
  const Meteor meteor(vocab, options.wordnet, {}, threads);
  const CiderD cider(ref_grams, threads);

  EvaluationResult res;
  res.names = metric_names(options.wordnet != nullptr);
  res.per_image.assign(n, {});
  std::vector<BleuStats> stats(n);
  const bool coco = options.protocol == Protocol::coco;
#pragma omp parallel for schedule(dynamic, 64) num_threads(threads)
  for (long long i = 0; i < n; ++i) {
    auto& s = res.per_image[i];
    const auto& h = hyp_grams[i];
    if (coco) {
      stats[i] = bleu_stats(h, ref_grams[i]);
      const auto b = coco_bleu(stats[i]);
      for (int k = 0; k < 4; ++k) s[k] = b[k];
      s[4] = rouge_n_best(h, ref_grams[i], 1);
      s[5] = rouge_n_best(h, ref_grams[i], 2);
      s[6] = rouge_l(hyp_ids[i], ref_ids[i]);
      s[7] = meteor.score_best(hyp_ids[i], ref_ids[i]);
    } else {
      const double inv = 1.0 / static_cast<double>(ref_ids[i].size());
      std::vector<NgramCounts> one(1);
      for (std::size_t r = 0; r < ref_ids[i].size(); ++r) {
        one[0] = ref_grams[i][r];
        const auto st = bleu_stats(h, one);
        for (int k = 0; k < 4; ++k)
          s[k] += inv * sentence_bleu(st, k + 1, options.seed_bleu_smoothing);
        s[4] += inv * rouge_n(h, ref_grams[i][r], 1);
        s[5] += inv * rouge_n(h, ref_grams[i][r], 2);
        s[6] += inv * rouge_l(hyp_ids[i], ref_ids[i][r]);
        s[7] += inv * meteor.score(hyp_ids[i], ref_ids[i][r]);
      }
    }
    s[8] = cider.score(h, ref_grams[i]);
  }
  for (const auto& s : res.per_image)
    for (int m = 0; m < kNumMetrics; ++m) res.scores[m] += s[m];
  for (auto& v : res.scores) v /= static_cast<double>(n);
  if (coco) {
    const auto b = coco_corpus_bleu(stats);
    for (int k = 0; k < 4; ++k) res.scores[k] = b[k];
  }
  return res;
}

/// What freqcap-evaluate does, as a library call.
struct EvaluateFilesOptions {
  std::string references;   ///< seed test.json: {path: [captions]}
  std::string predictions;  ///< {path: caption} or {path: [caption]}
  Protocol protocol = Protocol::coco;
  std::string wordnet_dir = kDefaultWordNetDir;
  bool allow_missing = false;  ///< score images without prediction as empty
  int threads = 0;
};

namespace detail {
inline std::string first_items(const std::vector<std::string>& v, std::size_t k = 5) {
  std::string s;
  for (std::size_t i = 0; i < v.size() && i < k; ++i) s += (i ? ", '" : "'") + v[i] + "'";
  if (v.size() > k) s += ", ...";
  return s;
}
}  // namespace detail

/// Reads both files, matches images by path (reference order), loads WordNet
/// (missing -> warning, METEOR-nosyn) and scores. Errors: unreadable or
/// malformed files; images of the references without prediction (unless
/// allow_missing, then a warning). Warnings: predictions for unknown images,
/// empty candidates.
inline EvaluationResult evaluate_files(const EvaluateFilesOptions& o) {
  const CaptionSet refs = read_reference_captions(o.references);
  const CaptionSet preds = read_prediction_captions(o.predictions);
  FREQCAP_CHECK(!refs.empty(), o.references, ": no images");
  std::unordered_map<std::string, const std::string*> pred_of;
  for (const auto& p : preds) pred_of[p.path] = &p.captions.front();
  std::vector<std::vector<std::string>> r;
  std::vector<std::string> c, missing, paths;
  std::unordered_set<std::string> ref_paths;
  std::size_t empty = 0;
  static const std::string kEmpty;
  for (const auto& e : refs) {
    ref_paths.insert(e.path);
    auto it = pred_of.find(e.path);
    if (it == pred_of.end()) missing.push_back(e.path);
    const std::string& cand = it == pred_of.end() ? kEmpty : *it->second;
    if (it != pred_of.end() && standardize_tokens(cand).empty()) ++empty;
    r.push_back(e.captions);
    c.push_back(cand);
    paths.push_back(e.path);
  }
  std::vector<std::string> warnings;
  if (!missing.empty()) {
    FREQCAP_CHECK(o.allow_missing, o.predictions, ": no prediction for ", missing.size(), " of ",
                  refs.size(), " images in ", o.references, ", first: ",
                  detail::first_items(missing), " (--allow-missing scores them as empty)");
    warnings.push_back(std::to_string(missing.size()) + " of " + std::to_string(refs.size()) +
                       " images have no prediction in " + o.predictions +
                       " and are scored as empty captions, first: " +
                       detail::first_items(missing));
  }
  std::vector<std::string> extra;
  for (const auto& p : preds)
    if (!ref_paths.count(p.path)) extra.push_back(p.path);
  if (!extra.empty())
    warnings.push_back(std::to_string(extra.size()) + " prediction(s) in " + o.predictions +
                       " name images not in " + o.references + " and are ignored, first: " +
                       detail::first_items(extra));
  if (empty > 0)
    warnings.push_back(std::to_string(empty) + " prediction(s) are empty after standardization and score 0");
  std::unique_ptr<WordNet> wordnet;
  if (WordNet::available(o.wordnet_dir)) {
    wordnet = std::make_unique<WordNet>(o.wordnet_dir);
  } else {
    warnings.push_back("WordNet NOT FOUND in '" + o.wordnet_dir +
                       "' (install Debian's wordnet-base or pass --wordnet DIR): METEOR is "
                       "computed WITHOUT synonyms and reported as METEOR-nosyn");
  }
  EvaluateOptions eo;
  eo.protocol = o.protocol;
  eo.wordnet = wordnet.get();
  eo.threads = o.threads;
  auto res = evaluate_captions(r, c, eo);
  res.paths = std::move(paths);
  res.warnings = std::move(warnings);
  return res;
}

/// {"BLEU-1": ..., ..., "CIDEr-D": ...} in report order.
inline nlohmann::ordered_json scores_json(const EvaluationResult& r) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (std::size_t m = 0; m < r.names.size(); ++m) j[r.names[m]] = r.scores[m];
  return j;
}

/// A readable two-column table of the corpus scores.
inline std::string format_table(const EvaluationResult& r, const std::string& title = "") {
  std::ostringstream os;
  if (!title.empty()) os << title << "\n";
  os << std::left << std::setw(14) << "metric" << "score\n";
  for (std::size_t m = 0; m < r.names.size(); ++m)
    os << std::left << std::setw(14) << r.names[m] << std::fixed << std::setprecision(4)
       << r.scores[m] << "\n";
  return os.str();
}

/// Writes {path: {metric: score}} for every image to `file` (temporary file,
/// then rename).
inline void write_per_image(const EvaluationResult& r, const std::string& file) {
  FREQCAP_CHECK(r.paths.size() == r.per_image.size(), "write_per_image: ", r.paths.size(),
                " paths for ", r.per_image.size(), " images");
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (std::size_t i = 0; i < r.paths.size(); ++i) {
    nlohmann::ordered_json row = nlohmann::ordered_json::object();
    for (std::size_t m = 0; m < r.names.size(); ++m) row[r.names[m]] = r.per_image[i][m];
    j[r.paths[i]] = std::move(row);
  }
  write_file_atomic(file, j.dump(2) + "\n");
}

}  // namespace freqcap::metrics
