// Tests for the autograd core: Var and the graph (accumulation into reused
// nodes, NoGradGuard, graph freeing, errors), and every elementwise,
// reduction, softmax, matrix and shape op: forward against direct formulas,
// then a finite-difference gradcheck in double with gradcheck's default
// tolerances (atol 1e-6, rtol 1e-4, step 1e-6).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>

#include "freqcap/autograd/autograd.hpp"

namespace freqcap_test_autograd {  // own scope: the unity build joins test files

using namespace freqcap;
using VD = Var<double>;
using Inputs = std::vector<VD>;

namespace {

Tensor<double> rand_t(const Shape& s, unsigned seed, double lo = -2.0, double hi = 2.0) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  Tensor<double> t(s);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = u(rng);
  return t;
}

VD leaf(const Shape& s, unsigned seed, double lo = -2.0, double hi = 2.0) { return VD(rand_t(s, seed, lo, hi), true); }

void require_gradcheck(const std::function<VD(const Inputs&)>& f, const Inputs& in) {
  const GradcheckResult r = gradcheck(f, in);
  INFO(r.message);
  REQUIRE(r.ok);
}

// Forward check of a unary op against a scalar formula on every element.
template <class Op, class Ref>
void check_unary(Op op, Ref ref, const Tensor<double>& x) {
  const Tensor<double> y = op(VD(x)).value();
  REQUIRE(y.shape() == x.shape());
  for (std::int64_t i = 0; i < x.numel(); ++i) REQUIRE(y.data()[i] == Approx(ref(x.data()[i])).margin(1e-14));
}

}  // namespace

// --- elementwise ---------------------------------------------------------------------

TEST_CASE("add/sub/mul/div broadcast both ways: values and gradients", "[autograd]") {
  const Shape sa{3, 1, 4}, sb{2, 4};
  const Tensor<double> a = rand_t(sa, 1), b = rand_t(sb, 2, 0.5, 2.0);
  const VD y = VD(a) / VD(b) + VD(a) * VD(b) - VD(b);
  REQUIRE(y.shape() == Shape{3, 2, 4});
  for (std::int64_t i = 0; i < 3; ++i)
    for (std::int64_t j = 0; j < 2; ++j)
      for (std::int64_t k = 0; k < 4; ++k)
        REQUIRE(y.value()(i, j, k) == Approx(a(i, 0, k) / b(j, k) + a(i, 0, k) * b(j, k) - b(j, k)));
  using F = std::function<VD(const Inputs&)>;
  for (const F& f : std::vector<F>{
           [](const Inputs& v) { return v[0] + v[1]; }, [](const Inputs& v) { return v[1] + v[0]; },
           [](const Inputs& v) { return v[0] - v[1]; }, [](const Inputs& v) { return v[1] - v[0]; },
           [](const Inputs& v) { return v[0] * v[1]; }, [](const Inputs& v) { return v[1] * v[0]; },
           [](const Inputs& v) { return v[0] / v[1]; }, [](const Inputs& v) { return v[1] / v[0]; }}) {
    // Both operands bounded away from zero so either may be a denominator.
    require_gradcheck(f, {leaf(sa, 3, 0.5, 2.0), leaf(sb, 4, 0.5, 2.0)});
  }
  // A scalar-shaped operand and a size-1 middle axis on the other side.
  require_gradcheck([](const Inputs& v) { return v[0] * v[1]; }, {leaf({}, 5), leaf({2, 3}, 6)});
  require_gradcheck([](const Inputs& v) { return v[0] - v[1]; }, {leaf({2, 1, 3}, 7), leaf({2, 4, 1}, 8)});
}

TEST_CASE("affine, scalar multiply and negation", "[autograd]") {
  const Tensor<double> x = rand_t({2, 3}, 10);
  check_unary([](const VD& v) { return affine(v, 2.5, -1.0); }, [](double v) { return 2.5 * v - 1.0; }, x);
  check_unary([](const VD& v) { return v * 3.0; }, [](double v) { return 3.0 * v; }, x);
  check_unary([](const VD& v) { return -v; }, [](double v) { return -v; }, x);
  require_gradcheck([](const Inputs& v) { return affine(v[0], 2.5, -1.0); }, {leaf({2, 3}, 11)});
  require_gradcheck([](const Inputs& v) { return -(v[0] * 0.5); }, {leaf({4}, 12)});
}

TEST_CASE("exp, log, sqrt and the activations", "[autograd]") {
  const Tensor<double> x = rand_t({3, 5}, 20, -4.0, 7.0), pos = rand_t({3, 5}, 21, 0.2, 3.0);
  check_unary([](const VD& v) { return exp(v); }, [](double v) { return std::exp(v); }, x);
  check_unary([](const VD& v) { return log(v); }, [](double v) { return std::log(v); }, pos);
  check_unary([](const VD& v) { return sqrt(v); }, [](double v) { return std::sqrt(v); }, pos);
  check_unary([](const VD& v) { return relu(v); }, [](double v) { return v > 0 ? v : 0.0; }, x);
  check_unary([](const VD& v) { return relu6(v); }, [](double v) { return std::clamp(v, 0.0, 6.0); }, x);
  check_unary([](const VD& v) { return sigmoid(v); }, [](double v) { return 1 / (1 + std::exp(-v)); }, x);
  check_unary([](const VD& v) { return tanh(v); }, [](double v) { return std::tanh(v); }, x);
  check_unary([](const VD& v) { return silu(v); }, [](double v) { return v / (1 + std::exp(-v)); }, x);
  check_unary([](const VD& v) { return gelu(v); }, [](double v) { return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); },
              x);
  REQUIRE(gelu(VD(Tensor<double>::from({1}, {1.0}))).item() == Approx(0.8413447460685429));  // torch.nn.functional.gelu(1.)
  // activation(x, act) is the named op: same values, same name in the graph.
  const VD xl(x, true);
  const VD named = activation(xl, kernels::Act::silu);
  CHECK(named.value().to_vector() == silu(xl).value().to_vector());
  CHECK(std::string(named.op()) == "silu");

  // Random points in [-4, 7]: far (>> 1e-6) from the kinks of relu and relu6 with probability ~1.
  require_gradcheck([](const Inputs& v) { return exp(v[0]); }, {leaf({3, 4}, 22)});
  require_gradcheck([](const Inputs& v) { return log(v[0]); }, {leaf({3, 4}, 23, 0.2, 3.0)});
  require_gradcheck([](const Inputs& v) { return sqrt(v[0]); }, {leaf({3, 4}, 24, 0.2, 3.0)});
  require_gradcheck([](const Inputs& v) { return relu(v[0]); }, {leaf({3, 4}, 25, -4.0, 7.0)});
  require_gradcheck([](const Inputs& v) { return relu6(v[0]); }, {leaf({3, 4}, 26, -4.0, 7.0)});
  require_gradcheck([](const Inputs& v) { return silu(v[0]); }, {leaf({3, 4}, 27, -4.0, 4.0)});
  require_gradcheck([](const Inputs& v) { return gelu(v[0]); }, {leaf({3, 4}, 28, -4.0, 4.0)});
  require_gradcheck([](const Inputs& v) { return sigmoid(v[0]); }, {leaf({3, 4}, 29, -4.0, 4.0)});
  require_gradcheck([](const Inputs& v) { return tanh(v[0]); }, {leaf({3, 4}, 30, -3.0, 3.0)});
}

// --- reductions and softmax ------------------------------------------------------------

TEST_CASE("sum and mean over axes", "[autograd]") {
  const Tensor<double> x = rand_t({2, 3, 4}, 40);
  double total = 0, row = 0;
  for (std::int64_t i = 0; i < x.numel(); ++i) total += x.data()[i];
  for (std::int64_t k = 0; k < 4; ++k) row += x(1, 2, k);
  REQUIRE(sum(VD(x)).item() == Approx(total));
  REQUIRE(mean(VD(x)).item() == Approx(total / 24));
  REQUIRE(sum(VD(x), {-1}).value()(1, 2) == Approx(row));
  REQUIRE(mean(VD(x), {2}, true).value()(1, 2, 0) == Approx(row / 4));
  REQUIRE(sum(VD(x), {0, 2}).shape() == Shape{3});
  REQUIRE(mean(VD(x), {0, 2}, true).shape() == Shape{1, 3, 1});
  for (const bool keep : {false, true}) {
    for (const std::vector<std::int64_t>& axes : std::vector<std::vector<std::int64_t>>{{}, {0}, {1, 2}, {-1}, {0, 2}}) {
      require_gradcheck([axes, keep](const Inputs& v) { return sum(v[0], axes, keep); }, {leaf({2, 3, 4}, 41)});
      require_gradcheck([axes, keep](const Inputs& v) { return mean(v[0], axes, keep); }, {leaf({2, 3, 4}, 42)});
    }
  }
}

TEST_CASE("softmax and log_softmax on several axes", "[autograd]") {
  const Tensor<double> x = rand_t({3, 4, 5}, 50, -3.0, 3.0);
  for (const std::int64_t axis : {0, 1, 2, -1, -3}) {
    INFO("axis " << axis);
    const Tensor<double> p = softmax(VD(x), axis).value(), lp = log_softmax(VD(x), axis).value();
    const Tensor<double> s = sum(p, {axis});
    for (std::int64_t i = 0; i < s.numel(); ++i) REQUIRE(s.data()[i] == Approx(1.0));
    for (std::int64_t i = 0; i < x.numel(); ++i) REQUIRE(std::log(p.data()[i]) == Approx(lp.data()[i]));
    // softmax(x)_i = exp(x_i) / sum_j exp(x_j) on one element directly.
    double z = 0;
    const std::int64_t ax = axis < 0 ? axis + 3 : axis;
    for (std::int64_t j = 0; j < x.dim(ax); ++j) z += std::exp(ax == 0 ? x(j, 1, 2) : ax == 1 ? x(2, j, 2) : x(2, 1, j));
    REQUIRE(p(ax == 0 ? 0 : 2, 1, 2) == Approx(std::exp(x(ax == 0 ? 0 : 2, 1, 2)) / z));
    require_gradcheck([axis](const Inputs& v) { return softmax(v[0], axis); }, {leaf({3, 4, 5}, 51)});
    require_gradcheck([axis](const Inputs& v) { return log_softmax(v[0], axis); }, {leaf({3, 4, 5}, 52)});
  }
  // Stable for large logits.
  const Tensor<double> big = Tensor<double>::from({1, 3}, {1000.0, 999.0, -1000.0});
  REQUIRE(std::isfinite(log_softmax(VD(big)).value()(0, 2)));
  REQUIRE(softmax(VD(big)).value()(0, 0) == Approx(1 / (1 + std::exp(-1.0))));
}

// --- matrix products ---------------------------------------------------------------------

TEST_CASE("matmul: 2-D, batched, broadcast batch dims, transposed views", "[autograd]") {
  const Tensor<double> a = rand_t({3, 4}, 60), b = rand_t({4, 2}, 61);
  const VD c = matmul(VD(a), VD(b));
  for (std::int64_t i = 0; i < 3; ++i)
    for (std::int64_t j = 0; j < 2; ++j) {
      double s = 0;
      for (std::int64_t k = 0; k < 4; ++k) s += a(i, k) * b(k, j);
      REQUIRE(c.value()(i, j) == Approx(s));
    }
  auto mm = [](const Inputs& v) { return matmul(v[0], v[1]); };
  require_gradcheck(mm, {leaf({3, 4}, 62), leaf({4, 2}, 63)});
  require_gradcheck(mm, {leaf({2, 3, 4}, 64), leaf({2, 4, 5}, 65)});
  require_gradcheck(mm, {leaf({2, 3, 4}, 66), leaf({4, 5}, 67)});           // batch vs matrix
  require_gradcheck(mm, {leaf({3, 4}, 68), leaf({2, 4, 5}, 69)});           // matrix vs batch
  require_gradcheck(mm, {leaf({2, 1, 3, 4}, 70), leaf({5, 4, 2}, 71)});     // [2,1] x [5] batch dims
  // Transposed and permuted views as operands.
  require_gradcheck([](const Inputs& v) { return matmul(transpose(v[0], 0, 1), v[1]); },
                    {leaf({4, 3}, 72), leaf({4, 2}, 73)});
  require_gradcheck([](const Inputs& v) { return matmul(v[0], transpose(v[1], -1, -2)); },
                    {leaf({2, 3, 4}, 74), leaf({2, 5, 4}, 75)});
  // Value on a transposed view equals the value on a contiguous copy.
  const Tensor<double> at = rand_t({4, 3}, 76);
  REQUIRE(max_abs_diff(matmul(VD(at.transpose(0, 1)), VD(b)).value(), matmul(VD(at.transpose(0, 1).clone()), VD(b)).value()) <
          1e-14);
}

TEST_CASE("linear with and without bias", "[autograd]") {
  const Tensor<double> x = rand_t({2, 3, 4}, 80), w = rand_t({5, 4}, 81), b = rand_t({5}, 82);
  const VD y = linear(VD(x), VD(w), VD(b));
  REQUIRE(y.shape() == Shape{2, 3, 5});
  double s = b(3);
  for (std::int64_t k = 0; k < 4; ++k) s += x(1, 2, k) * w(3, k);
  REQUIRE(y.value()(1, 2, 3) == Approx(s));
  REQUIRE(linear(VD(x), VD(w)).value()(1, 2, 3) == Approx(s - b(3)));
  require_gradcheck([](const Inputs& v) { return linear(v[0], v[1], v[2]); },
                    {leaf({2, 3, 4}, 83), leaf({5, 4}, 84), leaf({5}, 85)});
  require_gradcheck([](const Inputs& v) { return linear(v[0], v[1]); }, {leaf({6, 4}, 86), leaf({3, 4}, 87)});
  require_gradcheck([](const Inputs& v) { return linear(permute(v[0], {1, 0}), v[1], v[2]); },  // strided input
                    {leaf({4, 6}, 88), leaf({3, 4}, 89), leaf({3}, 90)});
  REQUIRE_THROWS_AS(linear(VD(x), VD(rand_t({5, 3}, 91))), Error);
}

// --- shape ops -------------------------------------------------------------------------------

TEST_CASE("reshape, permute, transpose, slice, select, unsqueeze, concat", "[autograd]") {
  const Tensor<double> x = rand_t({2, 3, 4}, 100);
  REQUIRE(reshape(VD(x), {4, -1}).shape() == Shape{4, 6});
  REQUIRE(reshape(VD(x), {6, 4}).value()(4, 1) == x(1, 1, 1));
  REQUIRE(permute(VD(x), {2, 0, 1}).value()(3, 1, 2) == x(1, 2, 3));
  REQUIRE(transpose(VD(x), 0, 2).value()(3, 2, 1) == x(1, 2, 3));
  const VD sl = slice(VD(x), 2, 1, 4, 2);
  REQUIRE(sl.shape() == Shape{2, 3, 2});
  REQUIRE(sl.value()(1, 2, 1) == x(1, 2, 3));
  REQUIRE(select(VD(x), 1, -1).value()(1, 3) == x(1, 2, 3));
  REQUIRE(unsqueeze(VD(x), 1).shape() == Shape{2, 1, 3, 4});
  REQUIRE(unsqueeze(VD(x), -1).shape() == Shape{2, 3, 4, 1});
  const VD cat = concat(std::vector<VD>{VD(x), VD(rand_t({2, 1, 4}, 101))}, 1);
  REQUIRE(cat.shape() == Shape{2, 4, 4});
  REQUIRE(cat.value()(1, 2, 3) == x(1, 2, 3));

  require_gradcheck([](const Inputs& v) { return reshape(v[0], {4, -1}); }, {leaf({2, 3, 4}, 102)});
  require_gradcheck([](const Inputs& v) { return permute(v[0], {2, 0, 1}); }, {leaf({2, 3, 4}, 103)});
  require_gradcheck([](const Inputs& v) { return transpose(v[0], -1, 0); }, {leaf({2, 3, 4}, 104)});
  require_gradcheck([](const Inputs& v) { return slice(v[0], 2, 1, 4, 2); }, {leaf({2, 3, 4}, 105)});
  require_gradcheck([](const Inputs& v) { return slice(v[0], -2, 0, -1, 2); }, {leaf({2, 5, 4}, 106)});
  require_gradcheck([](const Inputs& v) { return select(v[0], 1, -1); }, {leaf({2, 3, 4}, 107)});
  require_gradcheck([](const Inputs& v) { return unsqueeze(v[0], 1); }, {leaf({2, 3}, 108)});
  require_gradcheck([](const Inputs& v) { return concat(std::vector<VD>{v[0], v[1], v[0]}, -1); },
                    {leaf({2, 3}, 109), leaf({2, 2}, 110)});
  // A chain of views, so gradients flow through non-contiguous values.
  require_gradcheck([](const Inputs& v) { return reshape(slice(permute(v[0], {1, 0, 2}), 0, 0, 3, 2), {-1}); },
                    {leaf({2, 3, 4}, 111)});
}

// --- graph behaviour -------------------------------------------------------------------------

TEST_CASE("a reused node accumulates gradients: y = x*x + x", "[autograd][graph]") {
  const Tensor<double> xv = rand_t({5}, 120);
  VD x(xv, true);
  VD y = sum(x * x + x);
  y.backward();
  for (std::int64_t i = 0; i < 5; ++i) REQUIRE(x.grad()(i) == Approx(2 * xv(i) + 1));
  // An intermediate used twice: z = h * h with h = 3x -> dz/dx = 18x.
  VD x2(xv, true);
  VD h = x2 * 3.0;
  sum(h * h).backward();
  for (std::int64_t i = 0; i < 5; ++i) REQUIRE(x2.grad()(i) == Approx(18 * xv(i)));
  // Two backward passes add up until zero_grad.
  sum(x * 2.0).backward();
  for (std::int64_t i = 0; i < 5; ++i) REQUIRE(x.grad()(i) == Approx(2 * xv(i) + 3));
  x.zero_grad();
  REQUIRE_FALSE(x.has_grad());
  REQUIRE(max_abs_diff(x.grad(), Tensor<double>(Shape{5})) == 0.0);
}

TEST_CASE("NoGradGuard records nothing and restores the mode", "[autograd][graph]") {
  VD x(rand_t({3}, 130), true);
  REQUIRE(grad_mode_enabled());
  {
    NoGradGuard guard;
    REQUIRE_FALSE(grad_mode_enabled());
    const VD y = exp(x * x);
    REQUIRE_FALSE(y.requires_grad());
    REQUIRE(y.node()->parents.empty());
    REQUIRE_FALSE(static_cast<bool>(y.node()->backward));
    {
      NoGradGuard nested;
    }
    REQUIRE_FALSE(grad_mode_enabled());
  }
  REQUIRE(grad_mode_enabled());
  REQUIRE(exp(x).requires_grad());
  // Ops on values that need no gradient are constants too.
  const VD c = VD(rand_t({3}, 131)) * VD(rand_t({3}, 132));
  REQUIRE_FALSE(c.requires_grad());
  REQUIRE(c.node()->parents.empty());
}

TEST_CASE("backward frees the graph unless retain_graph", "[autograd][graph]") {
  const Tensor<double> xv = rand_t({4}, 140);
  VD x(xv, true);
  VD h = exp(x);
  VD y = sum(h * x);
  REQUIRE(h.node()->parents.size() == 1);
  y.backward();
  REQUIRE(h.node()->parents.empty());
  REQUIRE_FALSE(static_cast<bool>(h.node()->backward));
  REQUIRE(y.node()->parents.empty());
  REQUIRE_FALSE(h.has_grad());  // intermediate gradients are dropped
  const Tensor<double> g1 = x.grad();
  for (std::int64_t i = 0; i < 4; ++i) REQUIRE(g1(i) == Approx(std::exp(xv(i)) * (1 + xv(i))));
  // The graph is gone: a second backward, from the same root or from a new
  // value built on a freed node, is an error (as in PyTorch), and no gradient changes.
  REQUIRE_THROWS_WITH(y.backward(), Catch::Contains("second time"));
  REQUIRE_THROWS_WITH(sum(h).backward(), Catch::Contains("second time"));
  REQUIRE(max_abs_diff(x.grad(), g1) == 0.0);

  VD x2(xv, true);
  VD y2 = sum(exp(x2) * x2);
  y2.backward(Tensor<double>(Shape{}, 1.0), true);
  REQUIRE(y2.node()->parents.size() == 1);  // sum -> mul
  y2.backward(Tensor<double>(Shape{}, 1.0), true);
  for (std::int64_t i = 0; i < 4; ++i) REQUIRE(x2.grad()(i) == Approx(2 * g1(i)));
}

TEST_CASE("backward errors", "[autograd][graph]") {
  VD c(rand_t({}, 150));
  REQUIRE_THROWS_WITH(c.backward(), Catch::Contains("does not require grad"));
  VD x(rand_t({3}, 151), true);
  REQUIRE_THROWS_WITH(exp(x).backward(), Catch::Contains("one-element"));
  {
    NoGradGuard guard;
    REQUIRE_THROWS_AS(sum(x).backward(), Error);
  }
  REQUIRE_THROWS_AS(exp(x).backward(Tensor<double>(Shape{2}, 1.0)), Error);  // seed shape
}

TEST_CASE("detach cuts the graph; float and double agree", "[autograd][graph]") {
  const Tensor<double> xv = rand_t({4}, 160);
  VD x(xv, true);
  sum(x * x.detach()).backward();
  for (std::int64_t i = 0; i < 4; ++i) REQUIRE(x.grad()(i) == Approx(xv(i)));
  Var<float> xf(cast<float>(xv), true);
  sum(tanh(xf) * xf).backward();
  VD xd(xv, true);
  sum(tanh(xd) * xd).backward();
  REQUIRE(max_abs_diff(cast<double>(xf.grad()), xd.grad()) < 1e-6);
}

}  // namespace freqcap_test_autograd
