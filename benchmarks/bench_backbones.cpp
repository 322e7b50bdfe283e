// Forward latency of every backbone (eval mode, no graph: features + head,
// i.e. the logits) at N x 3 x 299 x 299 for N = 1 and 16, the seed paper's
// input size. Thread count from FREQCAP_NUM_THREADS (else all cores); the
// PyTorch peer is benchmarks/peers/torch_backbones.py. Batch 16 is heavy
// (seconds per call on 2 cores): select with --benchmark_filter.
//
//   FREQCAP_NUM_THREADS=1 bench_backbones --benchmark_filter='/1/'
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <string>

#include "freqcap/backbones/factory.hpp"
#include "freqcap/core/memory.hpp"
#include "freqcap/core/threads.hpp"

namespace {

using namespace freqcap;

/// `keep`: the fraction of coefficients each FR layer keeps (FR backbones only).
void bm_backbone(benchmark::State& state, const std::string& name, double keep = 1.0) {
  static const bool once = [] {
    keep_freed_tensor_memory();
    init_threads(0);
    return true;
  }();
  (void)once;
  const std::int64_t batch = state.range(0);
  manual_seed(0);
  auto net = backbones::make_backbone(name);
  for (auto& [layer, fr] : dct::fr_layers(*net))
    fr->set_kept(std::max<std::int64_t>(1, std::int64_t(keep * double(fr->coefficient_count()))));
  net->eval();
  Tensor<float> x(Shape{batch, 3, 299, 299});
  std::mt19937 rng(1);
  std::normal_distribution<float> nd;
  for (std::int64_t i = 0; i < x.numel(); ++i) x.data()[i] = nd(rng);
  // Two untimed calls first, as the PyTorch peer makes (peer_env.time_ms):
  // the first touches every activation page, which later calls reuse.
  for (int i = 0; i < 2; ++i) benchmark::DoNotOptimize(net->predict(x).data());
  for (auto _ : state) {
    Tensor<float> y = net->predict(x);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["threads"] = num_threads();
  state.counters["images/s"] = benchmark::Counter(double(batch) * double(state.iterations()), benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK_CAPTURE(bm_backbone, alexnet, std::string("alexnet"))->Arg(1)->Arg(16)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(bm_backbone, efficientnet_b0, std::string("efficientnet_b0"))->Arg(1)->Arg(16)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(bm_backbone, efficientnet_b1, std::string("efficientnet_b1"))->Arg(1)->Arg(16)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(bm_backbone, resnet50, std::string("resnet50"))->Arg(1)->Arg(16)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(bm_backbone, mobilenet_v2, std::string("mobilenet_v2"))->Arg(1)->Arg(16)->Unit(benchmark::kMillisecond)->UseRealTime();
// FR variants keeping 2% of each layer's coefficients (about the 50x point
// of docs/compression.md). Eval mode reconstructs each convolution's weight
// once and caches it, so the convolutions run their dense twins' kernels;
// FR linears multiply by the few kept coefficients without forming W.
BENCHMARK_CAPTURE(bm_backbone, alexnet_fr_2pc, std::string("alexnet_fr"), 0.02)->Arg(1)->Arg(16)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(bm_backbone, efficientnet_b0_fr_2pc, std::string("efficientnet_b0_fr"), 0.02)->Arg(1)->Arg(16)->Unit(benchmark::kMillisecond)->UseRealTime();
