// Google Benchmark for freqcap's kernels: batched GEMM and conv2d (im2col +
// GEMM) on shapes from the backbones and the transformer, for every ISA this
// CPU supports and for Eigen (built, like a consumer, without -march: SSE2).
// Threads: OMP_NUM_THREADS (both freqcap and Eigen use OpenMP). The PyTorch
// peer is benchmarks/peers/torch_kernels.py; results are in benchmarks/README.md.
#include <benchmark/benchmark.h>

#include <Eigen/Core>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "freqcap/kernels/conv2d.hpp"
#include "freqcap/kernels/gemm.hpp"

namespace fk = freqcap::kernels;

namespace {

std::vector<float> random_vec(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

/// Eigen's GEMM behind freqcap's sgemm signature (row-major, any transposes).
void eigen_sgemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, float alpha,
                 const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta,
                 float* c, std::size_t ldc) {
  using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using CMap = Eigen::Map<const Mat, 0, Eigen::OuterStride<>>;
  Eigen::Map<Mat, 0, Eigen::OuterStride<>> C(c, Eigen::Index(m), Eigen::Index(n),
                                             Eigen::OuterStride<>(Eigen::Index(ldc)));
  const CMap A(a, Eigen::Index(ta ? k : m), Eigen::Index(ta ? m : k),
               Eigen::OuterStride<>(Eigen::Index(lda)));
  const CMap B(b, Eigen::Index(tb ? n : k), Eigen::Index(tb ? k : n),
               Eigen::OuterStride<>(Eigen::Index(ldb)));
  if (beta == 0.0f) C.setZero();
  else C *= beta;
  if (!ta && !tb) C.noalias() += alpha * A * B;
  else if (ta && !tb) C.noalias() += alpha * A.transpose() * B;
  else if (!ta && tb) C.noalias() += alpha * A * B.transpose();
  else C.noalias() += alpha * A.transpose() * B.transpose();
}

struct Impl {
  std::string name;
  fk::SgemmFn sgemm;
  const fk::KernelTable* depthwise;  ///< the eigen column runs freqcap's scalar depthwise kernels
  fk::Conv2dPackedFn packed;         ///< nullptr (eigen): im2col + sgemm
};

std::vector<Impl> impls() {
  std::vector<Impl> out;
  for (fk::Isa isa : {fk::Isa::avx2, fk::Isa::avx512})
    if (fk::isa_supported(isa)) {
      const fk::KernelTable& t = fk::table_for(isa);
      out.push_back({fk::isa_name(isa), t.sgemm, &t, t.conv2d_packed});
    }
  out.push_back({"eigen", &eigen_sgemm, &fk::table_for(fk::Isa::scalar), nullptr});
  return out;
}

struct GemmShape {
  const char* name;
  std::size_t batch, m, n, k;
};
const GemmShape kGemmShapes[] = {
    {"16x(64x64x64)", 16, 64, 64, 64},
    {"8x(128x512x512)", 8, 128, 512, 512},
    {"1x(512x512x512)", 1, 512, 512, 512},
    {"1x(400x512x512)", 1, 400, 512, 512},  // 20x20 tokens x d_model 512, one projection
};

struct ConvCase {
  const char* name;
  fk::Conv2dShape s;
};
fk::Conv2dShape conv(std::size_t n, std::size_t c, std::size_t h, std::size_t k, std::size_t r,
                     std::size_t stride, std::size_t pad, std::size_t groups) {
  fk::Conv2dShape s;
  s.batch = n, s.in_channels = c, s.in_h = s.in_w = h, s.out_channels = k;
  s.kernel_h = s.kernel_w = r, s.stride_h = s.stride_w = stride, s.pad_h = s.pad_w = pad;
  s.groups = groups;
  return s;
}
const ConvCase kConvCases[] = {
    {"N16_3x3_64to64_56", conv(16, 64, 56, 64, 3, 1, 1, 1)},
    {"N1_1x1_256to64_56", conv(1, 256, 56, 64, 1, 1, 0, 1)},
    {"N1_dw3x3_144_75", conv(1, 144, 75, 144, 3, 1, 1, 144)},
    {"N1_3x3s2_3to32_299", conv(1, 3, 299, 32, 3, 2, 1, 1)},
};

void bm_gemm(benchmark::State& state, GemmShape g, fk::SgemmFn f) {
  const auto a = random_vec(g.batch * g.m * g.k, 1), b = random_vec(g.batch * g.k * g.n, 2);
  std::vector<float> c(g.batch * g.m * g.n);
  for (auto _ : state) {
    fk::detail::sgemm_batched_with(f, false, false, g.batch, g.m, g.n, g.k, 1.0f, a.data(), g.k,
                                   g.m * g.k, b.data(), g.n, g.k * g.n, 0.0f, c.data(), g.n,
                                   g.m * g.n);
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * g.batch * g.m * g.n * g.k,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

void bm_conv(benchmark::State& state, fk::Conv2dShape s, Impl impl) {
  const auto x = random_vec(s.batch * s.in_channels * s.in_h * s.in_w, 3);
  const auto w = random_vec(s.out_channels * s.col_rows(), 4);
  const auto bias = random_vec(s.out_channels, 5);
  std::vector<float> y(s.batch * s.out_channels * s.col_cols());
  std::vector<float> ws(fk::conv2d_workspace_size(s));
  const fk::detail::ConvKernels<float> kern{impl.sgemm, impl.depthwise, impl.packed};
  for (auto _ : state) {
    fk::conv2d_forward(s, x.data(), w.data(), bias.data(), y.data(), ws.data(), kern);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(
      2.0 * double(s.batch) * double(s.out_channels) * double(s.col_rows()) * double(s.col_cols()),
      benchmark::Counter::kIsIterationInvariantRate);
}

// Registered at start-up so the list follows the ISAs this CPU supports.
const int kRegistered = [] {
  for (const Impl& impl : impls()) {
    for (const GemmShape& g : kGemmShapes)
      benchmark::RegisterBenchmark(("gemm/" + impl.name + "/" + g.name).c_str(), bm_gemm, g,
                                   impl.sgemm)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime()
          ->MinTime(0.5);
    for (const ConvCase& c : kConvCases)
      benchmark::RegisterBenchmark(("conv2d/" + impl.name + "/" + c.name).c_str(), bm_conv, c.s, impl)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime()
          ->MinTime(0.5);
  }
  return 0;
}();

}  // namespace
