// Google Benchmark: training-step time (forward + backward of sum(y * R)) of
// FR layer stacks against their dense twins, for a LeNet-5-size network
// (batch 64, 1x32x32) and AlexNet-size layers (the 9216-4096-4096-1000
// classifier at batch 32, and the whole network at batch 4, 224x224), with
// the FR masks fixed at keep fractions 100%, 10% and 1% (argument = keep in
// permille). Also torchvision's AlexNet (backbones/) with 10 classes at
// batch 64, 3x64x64: freqcap-compress's Fashion-MNIST shape, where 20 permille
// is its 50x point; and EfficientNet-B0 at batch 64, 3x32x32, where 7 permille
// is its 50x point with folded BatchNorm. Also eval-mode inference, where FR reuses its cached weights.
// The optimizer update (the same for both: same parameter sizes) is left out.
// Threads: OMP_NUM_THREADS. Results and discussion: docs/fr.md.
#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <string>

#include "freqcap/autograd/ops_reduce.hpp"
#include "freqcap/backbones/factory.hpp"
#include "freqcap/core/memory.hpp"
#include "freqcap/dct/fr_conv.hpp"
#include "freqcap/dct/fr_linear.hpp"
#include "freqcap/nn/activation.hpp"
#include "freqcap/nn/pooling.hpp"
#include "freqcap/nn/sequential.hpp"

using namespace freqcap;

namespace {

Tensor<float> randu(const Shape& s, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  Tensor<float> t(s);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = u(rng);
  return t;
}

/// Builds conv / linear layers dense (keep_permille < 0) or FR with a fixed mask.
struct Builder {
  int keep_permille;
  std::mt19937 rng{1};
  dct::FROptions fr() const {
    return dct::FROptions().dynamic(false).auto_step(false).min_rate(keep_permille / 1000.0).min_count(0);
  }
  std::shared_ptr<nn::UnaryModule> conv(nn::Conv2dOptions o) {
    if (keep_permille < 0) return std::make_shared<nn::Conv2d>(o, rng);
    return std::make_shared<dct::FRConv2d>(o, fr(), rng);
  }
  std::shared_ptr<nn::UnaryModule> linear(std::int64_t in, std::int64_t out) {
    if (keep_permille < 0) return std::make_shared<nn::Linear>(in, out, rng);
    return std::make_shared<dct::FRLinear>(nn::LinearOptions(in, out), fr(), rng);
  }
};

std::shared_ptr<nn::Sequential> lenet5(int keep) {
  Builder b{keep};
  auto m = std::make_shared<nn::Sequential>();
  m->push_back(b.conv(nn::Conv2dOptions(1, 6, 5)));
  m->push_back(std::make_shared<nn::ReLU>());
  m->push_back(std::make_shared<nn::MaxPool2d>(nn::Pool2dOptions(2)));
  m->push_back(b.conv(nn::Conv2dOptions(6, 16, 5)));
  m->push_back(std::make_shared<nn::ReLU>());
  m->push_back(std::make_shared<nn::MaxPool2d>(nn::Pool2dOptions(2)));
  m->push_back(std::make_shared<nn::Flatten>());
  m->push_back(b.linear(400, 120));
  m->push_back(std::make_shared<nn::ReLU>());
  m->push_back(b.linear(120, 84));
  m->push_back(std::make_shared<nn::ReLU>());
  m->push_back(b.linear(84, 10));
  return m;
}

std::shared_ptr<nn::Sequential> alexnet_classifier(int keep) {
  Builder b{keep};
  auto m = std::make_shared<nn::Sequential>();
  m->push_back(b.linear(9216, 4096));
  m->push_back(std::make_shared<nn::ReLU>());
  m->push_back(b.linear(4096, 4096));
  m->push_back(std::make_shared<nn::ReLU>());
  m->push_back(b.linear(4096, 1000));
  return m;
}

std::shared_ptr<nn::Sequential> alexnet(int keep) {
  Builder b{keep};
  auto m = std::make_shared<nn::Sequential>();
  auto relu = [&] { m->push_back(std::make_shared<nn::ReLU>()); };
  auto pool = [&] { m->push_back(std::make_shared<nn::MaxPool2d>(nn::Pool2dOptions(3).stride(2))); };
  m->push_back(b.conv(nn::Conv2dOptions(3, 64, 11).stride(4).padding(2)));
  relu(), pool();
  m->push_back(b.conv(nn::Conv2dOptions(64, 192, 5).padding(2)));
  relu(), pool();
  m->push_back(b.conv(nn::Conv2dOptions(192, 384, 3).padding(1)));
  relu();
  m->push_back(b.conv(nn::Conv2dOptions(384, 256, 3).padding(1)));
  relu();
  m->push_back(b.conv(nn::Conv2dOptions(256, 256, 3).padding(1)));
  relu(), pool();
  m->push_back(std::make_shared<nn::Flatten>());
  m->push_back(b.linear(9216, 4096));
  relu();
  m->push_back(b.linear(4096, 4096));
  relu();
  m->push_back(b.linear(4096, 1000));
  return m;
}

/// A torchvision backbone with 10 classes: dense (keep < 0) or its _fr twin
/// with every mask fixed at keep permille of its coefficients.
std::shared_ptr<nn::UnaryModule> backbone10(const std::string& name, int keep) {
  auto m = backbones::make_backbone(keep < 0 ? name : name + "_fr", 10);
  for (auto& [name, fr] : dct::fr_layers(*m)) {
    dct::TruncationSchedule s = fr->schedule();
    s.dynamic = false;
    s.keep_count = std::max<std::int64_t>(1, fr->coefficient_count() * keep / 1000);
    fr->set_schedule(s);
  }
  return m;
}

void train_step(benchmark::State& state, const std::shared_ptr<nn::UnaryModule>& m, const Shape& in) {
  keep_freed_tensor_memory();
  const Var<float> x(randu(in, 2));
  Var<float> r;
  auto step = [&] {
    m->zero_grad();
    Var<float> y = m->forward(x);
    if (!r.defined()) r = Var<float>(randu(y.shape(), 3));
    sum(y * r).backward();
    benchmark::DoNotOptimize(m->parameters()[0].grad().data());
  };
  step();  // plans, basis rows and allocator warm-up
  for (auto _ : state) step();
  std::int64_t kept = 0, n = 0;
  for (auto& [name, fr] : dct::fr_layers(*m)) kept += fr->kept(), n += fr->coefficient_count();
  state.counters["fr_kept_frac"] = n ? double(kept) / double(n) : 1.0;
}

void eval_step(benchmark::State& state, const std::shared_ptr<nn::UnaryModule>& m, const Shape& in) {
  keep_freed_tensor_memory();
  m->eval();
  const Var<float> x(randu(in, 2));
  NoGradGuard ng;
  (void)m->forward(x);  // builds the FR caches once
  for (auto _ : state) benchmark::DoNotOptimize(m->forward(x).value().data());
}

void BM_lenet5_train_dense(benchmark::State& s) { train_step(s, lenet5(-1), {64, 1, 32, 32}); }
void BM_lenet5_train_fr(benchmark::State& s) { train_step(s, lenet5(int(s.range(0))), {64, 1, 32, 32}); }
void BM_alexnet_classifier_train_dense(benchmark::State& s) { train_step(s, alexnet_classifier(-1), {32, 9216}); }
void BM_alexnet_classifier_train_fr(benchmark::State& s) {
  train_step(s, alexnet_classifier(int(s.range(0))), {32, 9216});
}
void BM_alexnet_train_dense(benchmark::State& s) { train_step(s, alexnet(-1), {4, 3, 224, 224}); }
void BM_alexnet_train_fr(benchmark::State& s) { train_step(s, alexnet(int(s.range(0))), {4, 3, 224, 224}); }
void BM_alexnet64_train_dense(benchmark::State& s) { train_step(s, backbone10("alexnet", -1), {64, 3, 64, 64}); }
void BM_alexnet64_train_fr(benchmark::State& s) {
  train_step(s, backbone10("alexnet", int(s.range(0))), {64, 3, 64, 64});
}
void BM_efficientnet_b0_32_train_dense(benchmark::State& s) {
  train_step(s, backbone10("efficientnet_b0", -1), {64, 3, 32, 32});
}
void BM_efficientnet_b0_32_train_fr(benchmark::State& s) {
  train_step(s, backbone10("efficientnet_b0", int(s.range(0))), {64, 3, 32, 32});
}
void BM_alexnet_classifier_eval_dense(benchmark::State& s) { eval_step(s, alexnet_classifier(-1), {32, 9216}); }
void BM_alexnet_classifier_eval_fr(benchmark::State& s) {
  eval_step(s, alexnet_classifier(int(s.range(0))), {32, 9216});
}

}  // namespace

BENCHMARK(BM_lenet5_train_dense)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_lenet5_train_fr)->Arg(1000)->Arg(100)->Arg(10)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_alexnet_classifier_train_dense)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_alexnet_classifier_train_fr)->Arg(1000)->Arg(100)->Arg(10)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_alexnet_train_dense)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_alexnet_train_fr)->Arg(1000)->Arg(100)->Arg(10)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_alexnet64_train_dense)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_alexnet64_train_fr)->Arg(1000)->Arg(100)->Arg(20)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_efficientnet_b0_32_train_dense)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_efficientnet_b0_32_train_fr)->Arg(1000)->Arg(100)->Arg(7)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_alexnet_classifier_eval_dense)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_alexnet_classifier_eval_fr)->Arg(1000)->Arg(10)->Unit(benchmark::kMillisecond);
