// Caption metrics at COCO val size: 40,000 images x 5 references, generated
// deterministically from real English words (sampled from WordNet's index so
// the synonym stage has work to do). Reports seconds per metric over the
// whole set, and the whole `evaluate_captions` call per protocol (tokenize,
// intern, METEOR tables, all nine scores). Threads: OpenMP default (all cores;
// set OMP_NUM_THREADS / FREQCAP_NUM_THREADS to change).
#include <benchmark/benchmark.h>

#include <ctime>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "freqcap/metrics/bleu.hpp"
#include "freqcap/metrics/cider.hpp"
#include "freqcap/metrics/evaluate.hpp"
#include "freqcap/metrics/meteor.hpp"
#include "freqcap/metrics/rouge.hpp"
#include "freqcap/metrics/wordnet.hpp"
#include "freqcap/text/standardize.hpp"

using namespace freqcap;
using namespace freqcap::metrics;

namespace {

constexpr int kImages = 40000;
constexpr int kRefs = 5;

std::vector<std::string> sample_words(const std::string& pos, std::size_t every) {
  std::ifstream in(std::string(kDefaultWordNetDir) + "/index." + pos);
  std::vector<std::string> words;
  std::string line;
  for (std::size_t k = 0; std::getline(in, line); ++k) {
    if (line.empty() || line[0] == ' ' || k % every != 0) continue;
    const std::string w = line.substr(0, line.find(' '));
    if (w.find_first_not_of("abcdefghijklmnopqrstuvwxyz") == std::string::npos && w.size() > 2)
      words.push_back(w);
  }
  return words;
}

struct Data {
  std::vector<std::vector<std::string>> refs;
  std::vector<std::string> cands;
  std::unique_ptr<WordNet> wordnet;
  // Interned form for the per-metric benchmarks.
  Vocabulary vocab;
  NgramTable table;
  std::vector<TokenIds> hyp_ids;
  std::vector<std::vector<TokenIds>> ref_ids;
  std::vector<NgramCounts> hyp_grams;
  std::vector<std::vector<NgramCounts>> ref_grams;
};

const Data& data() {
  static const Data* d = [] {
    auto* out = new Data;
    if (!WordNet::available(kDefaultWordNetDir)) {
      std::fprintf(stderr, "bench_metrics: WordNet missing in %s (install wordnet-base)\n", kDefaultWordNetDir);
      std::exit(1);
    }
    out->wordnet = std::make_unique<WordNet>();
    // A few thousand nouns, verbs and adjectives (~ COCO's caption vocabulary).
    const auto nouns = sample_words("noun", 40), verbs = sample_words("verb", 8),
               adjs = sample_words("adj", 12);
    const std::vector<std::string> dets = {"a", "the", "two", "some", "an", "one"};
    const std::vector<std::string> preps = {"on", "in", "near", "with", "beside", "under", "of"};
    std::mt19937 rng(7);
    const auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
    const auto sentence = [&](const std::vector<std::string>& scene) {
      // scene: 4 nouns, 2 verbs, 2 adjectives shared by one image's captions.
      std::string s = pick(dets) + " " + scene[6 + rng() % 2] + " " + scene[rng() % 2];
      s += rng() % 2 ? " is " + scene[4 + rng() % 2] + "ing " : " " + scene[4 + rng() % 2] + "s ";
      s += pick(preps) + " " + pick(dets) + " " + scene[2 + rng() % 2];
      if (rng() % 2) s += " " + pick(preps) + " " + pick(dets) + " " + pick(adjs) + " " + pick(nouns);
      if (rng() % 3 == 0) s += ".";
      return s;
    };
    out->refs.resize(kImages);
    out->cands.resize(kImages);
    for (int i = 0; i < kImages; ++i) {
      const std::vector<std::string> scene = {pick(nouns), pick(nouns), pick(nouns), pick(nouns),
                                              pick(verbs), pick(verbs), pick(adjs),  pick(adjs)};
      for (int r = 0; r < kRefs; ++r) out->refs[i].push_back(sentence(scene));
      out->cands[i] = sentence(scene);
    }
    for (int i = 0; i < kImages; ++i) {
      out->hyp_ids.push_back(out->vocab.intern_all(standardize_tokens(out->cands[i])));
      out->hyp_grams.push_back(count_ngrams(out->table, out->hyp_ids.back()));
      out->ref_ids.emplace_back();
      out->ref_grams.emplace_back();
      for (const auto& r : out->refs[i]) {
        out->ref_ids.back().push_back(out->vocab.intern_all(standardize_tokens(r)));
        out->ref_grams.back().push_back(count_ngrams(out->table, out->ref_ids.back().back()));
      }
    }
    return out;
  }();
  return *d;
}

// Adds the CPU seconds of all threads per iteration since c0 (on an idle
// 2-core machine the wall time is about half of it, plus serial parts).
void report(benchmark::State& state, std::clock_t c0) {
  state.counters["process_cpu_s"] =
      static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC / static_cast<double>(state.iterations());
  state.counters["images"] = kImages;
  state.counters["vocabulary"] = static_cast<double>(data().vocab.size());
}

void BM_Tokenize(benchmark::State& state) {
  const auto& d = data();
  const std::clock_t c0 = std::clock();
  for (auto _ : state) {
    std::size_t n = 0;
#pragma omp parallel for reduction(+ : n) schedule(dynamic, 256)
    for (int i = 0; i < kImages; ++i) {
      n += standardize_tokens(d.cands[i]).size();
      for (const auto& r : d.refs[i]) n += standardize_tokens(r).size();
    }
    benchmark::DoNotOptimize(n);
  }
  report(state, c0);
}

void BM_Bleu(benchmark::State& state) {
  const auto& d = data();
  const std::clock_t c0 = std::clock();
  for (auto _ : state) {
    std::vector<BleuStats> stats(kImages);
#pragma omp parallel for schedule(dynamic, 256)
    for (int i = 0; i < kImages; ++i) stats[i] = bleu_stats(d.hyp_grams[i], d.ref_grams[i]);
    benchmark::DoNotOptimize(coco_corpus_bleu(stats));
  }
  report(state, c0);
}

void BM_Rouge(benchmark::State& state) {  // ROUGE-1, ROUGE-2 and ROUGE-L
  const auto& d = data();
  const std::clock_t c0 = std::clock();
  for (auto _ : state) {
    double s = 0;
#pragma omp parallel for reduction(+ : s) schedule(dynamic, 256)
    for (int i = 0; i < kImages; ++i)
      s += rouge_n_best(d.hyp_grams[i], d.ref_grams[i], 1) + rouge_n_best(d.hyp_grams[i], d.ref_grams[i], 2) +
           rouge_l(d.hyp_ids[i], d.ref_ids[i]);
    benchmark::DoNotOptimize(s);
  }
  report(state, c0);
}

void BM_Meteor(benchmark::State& state) {  // includes building stem + synonym tables
  const auto& d = data();
  const std::clock_t c0 = std::clock();
  for (auto _ : state) {
    const Meteor meteor(d.vocab, d.wordnet.get());
    double s = 0;
#pragma omp parallel for reduction(+ : s) schedule(dynamic, 256)
    for (int i = 0; i < kImages; ++i) s += meteor.score_best(d.hyp_ids[i], d.ref_ids[i]);
    benchmark::DoNotOptimize(s);
  }
  report(state, c0);
}

void BM_CiderD(benchmark::State& state) {  // includes document frequencies
  const auto& d = data();
  const std::clock_t c0 = std::clock();
  for (auto _ : state) {
    const CiderD cider(d.ref_grams);
    double s = 0;
#pragma omp parallel for reduction(+ : s) schedule(dynamic, 256)
    for (int i = 0; i < kImages; ++i) s += cider.score(d.hyp_grams[i], d.ref_grams[i]);
    benchmark::DoNotOptimize(s);
  }
  report(state, c0);
}

void BM_WordNetLoad(benchmark::State& state) {
  const std::clock_t c0 = std::clock();
  for (auto _ : state) benchmark::DoNotOptimize(WordNet(kDefaultWordNetDir).synonyms("car"));
  state.counters["process_cpu_s"] =
      static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC / static_cast<double>(state.iterations());
}

void BM_Evaluate(benchmark::State& state) {  // everything, from raw strings
  const auto& d = data();
  EvaluateOptions o;
  o.protocol = state.range(0) == 0 ? Protocol::coco : Protocol::seed;
  o.wordnet = d.wordnet.get();
  const std::clock_t c0 = std::clock();
  for (auto _ : state) benchmark::DoNotOptimize(evaluate_captions(d.refs, d.cands, o).scores);
  state.SetLabel(state.range(0) == 0 ? "coco" : "seed");
  report(state, c0);
}

}  // namespace

BENCHMARK(BM_Tokenize)->Unit(benchmark::kSecond)->UseRealTime()->Iterations(3);
BENCHMARK(BM_Bleu)->Unit(benchmark::kSecond)->UseRealTime()->Iterations(3);
BENCHMARK(BM_Rouge)->Unit(benchmark::kSecond)->UseRealTime()->Iterations(3);
BENCHMARK(BM_Meteor)->Unit(benchmark::kSecond)->UseRealTime()->Iterations(3);
BENCHMARK(BM_CiderD)->Unit(benchmark::kSecond)->UseRealTime()->Iterations(3);
BENCHMARK(BM_WordNetLoad)->Unit(benchmark::kSecond)->UseRealTime()->Iterations(3);
BENCHMARK(BM_Evaluate)->Arg(0)->Arg(1)->Unit(benchmark::kSecond)->UseRealTime()->Iterations(3);
