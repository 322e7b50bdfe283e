// The captioner on the committed model (models/scenes-captioner.safetensors,
// or FREQCAP_CAPTIONER_MODEL): scenes_cnn backbone at 128x128 (64 image
// tokens of 128 channels), 1 encoder + 1 decoder layer, embed 192, 4 heads
// of 48, ff 384, seq_len 25, its own vocabulary (61 words). Images are the 8
// demo PNGs of models/scenes-demo (read as RGB in [0, 1]; the model's
// preprocess is then a no-op: 128x128 already, "unit" normalisation), image
// i of a batch being demo image i % 8. Cases, for a PyTorch peer to mirror:
//
//  image_tokens/64     eval, no grad: backbone features of [64, 3, 128, 128]
//                      -> tokens [64, 64, 128] (permute NCHW -> N, h*w, C).
//  greedy/64, beam3/64 eval, no grad: generate() on those tokens (computed
//                      once, untimed): encoder, then decoding all 64 together
//                      with the decoder's key/value cache, at most 24 tokens;
//                      greedy drops an image's row once it writes <end>.
//                      Beam 3: length penalty 1. "max_words" = the longest
//                      caption (greedy runs max_words + 1 steps, <= 24).
//  caption_images/64   caption_images() on the raw [64, 3, 128, 128] images:
//                      preprocess + backbone + encoder + greedy, end to end.
//  train_step/32       one step of model/trainer.hpp's loop with a frozen
//                      backbone (eval mode, no grad) and cached tokens: 32
//                      images x all 5 of their test.json captions, encoded as
//                      the trainer does (<start> caption <end> padded to 25
//                      ids; inputs = ids[0:24], targets = ids[1:25], mask =
//                      target != pad), rows caption-major [160, 24]. Training
//                      mode (decoder dropout ff 0.3, out 0.5, attention 0.1):
//                      encoder forward, caption_logits, masked token
//                      cross-entropy (sum / masked-in tokens) + masked
//                      accuracy, backward, global grad-norm clip 5 (trainer default),
//                      Adam lr 1e-3 over encoder + decoder. The trainer has no
//                      one-step function: this composes its step from the
//                      same calls (teacher_forced_loss, clip_grad_norm_, Adam).
//
// Thread count from FREQCAP_NUM_THREADS (else all cores):
//   OMP_WAIT_POLICY=passive FREQCAP_NUM_THREADS=1 bench_captioner --benchmark_min_time=2
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "freqcap/core/memory.hpp"
#include "freqcap/core/threads.hpp"
#include "freqcap/model/model_file.hpp"
#include "freqcap/model/trainer.hpp"

namespace {

using namespace freqcap;
using namespace freqcap::model;

std::unique_ptr<Captioner> load_model() {
  static const bool once = [] {
    keep_freed_tensor_memory();
    init_threads(0);
    return true;
  }();
  (void)once;
  const char* env = std::getenv("FREQCAP_CAPTIONER_MODEL");
  return load_captioner(env && *env ? std::filesystem::path(env)
                                    : std::filesystem::path(FREQCAP_SOURCE_DIR "/models/scenes-captioner.safetensors"));
}

/// The inference cases share one model (they never change it).
Captioner& shared_model() {
  static const std::unique_ptr<Captioner> m = load_model();
  return *m;
}

const CaptionDataset& demo() {
  static const CaptionDataset d = read_caption_dataset(FREQCAP_SOURCE_DIR "/models/scenes-demo/test.json");
  return d;
}

/// Demo image indices 0..7, 0..7, ... (n of them).
std::vector<std::int64_t> tiled(std::int64_t n) {
  std::vector<std::int64_t> idx(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) idx[static_cast<std::size_t>(i)] = i % demo().size();
  return idx;
}

/// RGB [n, 3, 128, 128] in [0, 1], through the library's image loader.
Tensor<float> demo_images(std::int64_t n) { return load_image_batch(demo(), tiled(n)); }

void set_counters(benchmark::State& state, std::int64_t images) {
  state.counters["threads"] = num_threads();
  state.counters["images/s"] = benchmark::Counter(double(images) * double(state.iterations()), benchmark::Counter::kIsRate);
}

void set_word_counters(benchmark::State& state, const std::vector<std::string>& captions) {
  std::size_t most = 0, total = 0;
  for (const auto& c : captions) {
    const std::size_t words = Vocabulary::tokens(c).size();
    most = std::max(most, words);
    total += words;
  }
  state.counters["max_words"] = double(most);
  state.counters["mean_words"] = double(total) / double(captions.size());
}

void bm_image_tokens(benchmark::State& state) {
  Captioner& m = shared_model();
  const Tensor<float> x = m.preprocess(demo_images(state.range(0)));
  // Two untimed calls first, as bench_backbones and the PyTorch peers make.
  for (int i = 0; i < 2; ++i) benchmark::DoNotOptimize(m.image_tokens(x).data());
  for (auto _ : state) {
    Tensor<float> y = m.image_tokens(x);
    benchmark::DoNotOptimize(y.data());
  }
  set_counters(state, state.range(0));
}

void bm_generate(benchmark::State& state, int beam) {
  Captioner& m = shared_model();
  const Tensor<float> tokens = m.image_tokens(m.preprocess(demo_images(state.range(0))));
  GenerateOptions opt;
  opt.beam = beam;
  std::vector<std::string> captions;
  for (int i = 0; i < 2; ++i) captions = m.generate(tokens, opt);
  for (auto _ : state) {
    captions = m.generate(tokens, opt);
    benchmark::DoNotOptimize(captions.data());
  }
  set_counters(state, state.range(0));
  set_word_counters(state, captions);
}

void bm_caption_images(benchmark::State& state) {
  Captioner& m = shared_model();
  const Tensor<float> images = demo_images(state.range(0));
  std::vector<std::string> captions;
  for (int i = 0; i < 2; ++i) captions = m.caption_images(images);
  for (auto _ : state) {
    captions = m.caption_images(images);
    benchmark::DoNotOptimize(captions.data());
  }
  set_counters(state, state.range(0));
  set_word_counters(state, captions);
}

void bm_train_step(benchmark::State& state) {
  // Its own copy of the model: each step changes the weights.
  const std::unique_ptr<Captioner> m = load_model();
  for (auto& [name, p] : m->backbone().named_parameters()) p.set_requires_grad(false);
  std::vector<Var<float>> params;
  for (auto& [name, p] : m->named_parameters())
    if (p.requires_grad()) params.push_back(p);
  nn::Adam adam(params, nn::AdamOptions(1e-3));
  // As train_captioner with a frozen backbone: the set's captions encoded
  // once, its image tokens cached, a batch's tokens gathered by image index.
  const EncodedCaptions enc = encode_captions(demo(), m->vocabulary(), m->max_tokens(), 5);
  const Tensor<float> cached = m->image_tokens(m->preprocess(demo_images(demo().size())));
  const std::vector<std::int64_t> idx = tiled(state.range(0));
  m->train();
  m->backbone().eval();
  std::mt19937 rng(42);
  double loss = 0;
  auto step = [&] {
    adam.zero_grad();
    BatchLoss b = teacher_forced_loss(*m, Var<float>(gather_rows(cached, idx)), enc, idx, rng);
    b.loss.backward();
    nn::clip_grad_norm_(params, 5.0);
    adam.step();
    loss = b.loss.item();
  };
  for (int i = 0; i < 2; ++i) step();
  for (auto _ : state) step();
  set_counters(state, state.range(0));
  state.counters["loss"] = loss;
}

}  // namespace

BENCHMARK(bm_image_tokens)->Name("bm_captioner/image_tokens")->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(bm_generate, greedy, 1)->Name("bm_captioner/greedy")->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(bm_generate, beam3, 3)->Name("bm_captioner/beam3")->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(bm_caption_images)->Name("bm_captioner/caption_images")->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(bm_train_step)->Name("bm_captioner/train_step")->Arg(32)->Unit(benchmark::kMillisecond)->UseRealTime();
