// The float matmul path of autograd (dispatched SIMD GEMM on strided views)
// against core's double-precision Eigen::Map product, on odd sizes, transposed
// operands and broadcast batches.
#include <catch2/catch.hpp>

#include <random>

#include "freqcap/autograd/ops_linalg.hpp"
#include "freqcap/autograd/ops_reduce.hpp"

namespace freqcap_test_matmul {  // own scope: the unity build joins test files

using namespace freqcap;

namespace {
Tensor<float> rand_f(Shape s, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  Tensor<float> t(std::move(s));
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = u(rng);
  return t;
}
// Largest error relative to the largest reference magnitude.
double rel_err(const Tensor<float>& got, const Tensor<double>& ref) {
  const auto g = got.to_vector();
  const auto r = ref.to_vector();
  double worst = 0, scale = 1e-30;
  for (std::size_t i = 0; i < r.size(); ++i) {
    worst = std::max(worst, std::abs(g[i] - r[i]));
    scale = std::max(scale, std::abs(r[i]));
  }
  return worst / scale;
}
}  // namespace

TEST_CASE("float matmul on the SIMD GEMM matches a double reference on views", "[matmul]") {
  for (auto [m, k, n] : {std::tuple{1, 1, 1}, {7, 17, 33}, {65, 3, 9}, {33, 129, 17}}) {
    const auto a = rand_f({m, k}, 1), b = rand_f({k, n}, 2);
    const auto ref = matmul(cast<double>(a), cast<double>(b));
    CHECK(rel_err(detail::mm(a, b), ref) < 1e-5);
    // the same product from transposed storage, read in place
    const auto at = a.transpose(0, 1).contiguous().transpose(0, 1);
    const auto bt = b.transpose(0, 1).contiguous().transpose(0, 1);
    CHECK(rel_err(detail::mm(at, bt), ref) < 1e-5);
    CHECK(rel_err(detail::mm(a, bt), ref) < 1e-5);
  }
  // a batch [3, 5, 7] x a shared [7, 4], and a strided slice as the left operand
  const auto a = rand_f({3, 5, 7}, 3), b = rand_f({7, 4}, 4);
  CHECK(rel_err(detail::mm(a, b), matmul(cast<double>(a), cast<double>(b))) < 1e-5);
  const auto s = a.slice(2, 1, 7, 2);  // [3, 5, 3], column stride 2: falls back to Eigen
  const auto b3 = rand_f({3, 2}, 5);
  CHECK(rel_err(detail::mm(s, b3), matmul(cast<double>(s), cast<double>(b3))) < 1e-5);
}

TEST_CASE("linear's float path and gradients agree with the double path", "[matmul]") {
  const auto x = rand_f({4, 6, 9}, 6), w = rand_f({5, 9}, 7), bias = rand_f({5}, 8);
  Var<float> xf(x, true), wf(w, true), bf(bias, true);
  Var<double> xd(cast<double>(x), true), wd(cast<double>(w), true), bd(cast<double>(bias), true);
  auto yf = linear(xf, wf, bf);
  auto yd = linear(xd, wd, bd);
  CHECK(rel_err(yf.value(), yd.value()) < 1e-5);
  sum(yf * yf).backward();
  sum(yd * yd).backward();
  CHECK(rel_err(xf.grad(), xd.grad()) < 1e-5);
  CHECK(rel_err(wf.grad(), wd.grad()) < 1e-5);
  CHECK(rel_err(bf.grad(), bd.grad()) < 1e-5);
}

}  // namespace freqcap_test_matmul
