// Tests for autograd's neural-network ops: conv2d, batch_norm, layer_norm,
// max/avg/adaptive pooling, cross-entropy losses, embedding and dropout.
// Each op: forward against a direct reference in this file (nested loops or
// hand formulas), finite-difference gradcheck in double (gradcheck's default
// tolerances), and PyTorch values from tests/fixtures/autograd/nn_ops.json
// (written by tools/autograd_reference.py) within 1e-10 (double) / 1e-5 (float).
#include <catch2/catch.hpp>

#include "support.hpp"

#include <cmath>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "freqcap/autograd/autograd.hpp"

#ifndef FREQCAP_SOURCE_DIR
#define FREQCAP_SOURCE_DIR "."
#endif

namespace freqcap_test_autograd_nn {  // own scope: the unity build joins test files

using namespace freqcap;
using VD = Var<double>;
using Inputs = std::vector<VD>;

using freqcap::testing::randn;

namespace {


VD param(const Shape& s, unsigned seed, double scale = 1.0) { return VD(randn<double>(s, seed, scale), true); }

void require_gradcheck(const std::function<VD(const Inputs&)>& f, const Inputs& in) {
  const GradcheckResult r = gradcheck(f, in);
  INFO(r.message);
  REQUIRE(r.ok);
}

const nlohmann::json& fixtures() {
  static const nlohmann::json j = [] {
    const std::string path = std::string(FREQCAP_SOURCE_DIR) + "/tests/fixtures/autograd/nn_ops.json";
    std::ifstream in(path);
    if (!in) throw Error("cannot open fixture " + path);
    return nlohmann::json::parse(in);
  }();
  return j;
}

const nlohmann::json& fixture(const std::string& name) { return fixtures().at("cases").at(name); }

template <class T>
Tensor<T> from_json(const nlohmann::json& j) {
  const Shape s = j.at("shape").get<Shape>();
  std::vector<T> v;
  for (const auto& e : j.at("data")) v.push_back(static_cast<T>(e.get<double>()));
  return Tensor<T>::from_vector(s, v);
}

Tensor<std::int64_t> ints_from_json(const nlohmann::json& j) {
  return Tensor<std::int64_t>::from_vector(j.at("shape").get<Shape>(), j.at("data").get<std::vector<std::int64_t>>());
}

template <class T>
void require_close(const Tensor<T>& got, const Tensor<T>& want, double tol) {
  INFO("shapes " << shape_str(got.shape()) << " vs " << shape_str(want.shape()));
  REQUIRE(got.shape() == want.shape());
  INFO("max abs diff " << max_abs_diff(got, want));
  REQUIRE(allclose(got, want, tol, tol));
}

// Runs `op` on the fixture's named inputs (as leaves needing grad), then
// backward of sum(out * r), and compares out and every input gradient.
template <class T, class Op>
void check_fixture(const std::string& name, const std::vector<std::string>& input_names, Op op, double tol) {
  INFO("fixture " << name << (std::is_same_v<T, float> ? " (float)" : " (double)"));
  const auto& c = fixture(name);
  std::vector<Var<T>> in;
  for (const auto& n : input_names) in.emplace_back(from_json<T>(c.at("inputs").at(n)), true);
  Var<T> out = op(in);
  require_close(out.value(), from_json<T>(c.at("out")), tol);
  sum(out * Var<T>(from_json<T>(c.at("r")).reshape(out.shape()))).backward();
  for (std::size_t i = 0; i < in.size(); ++i) {
    INFO("gradient of " << input_names[i]);
    require_close(in[i].grad(), from_json<T>(c.at("grads").at(input_names[i])), tol);
  }
}

Conv2dParams conv_params_of(const nlohmann::json& p) {
  Conv2dParams cp;
  cp.stride_h = p["stride"][0], cp.stride_w = p["stride"][1];
  cp.padding_h = p["padding"][0], cp.padding_w = p["padding"][1];
  cp.dilation_h = p["dilation"][0], cp.dilation_w = p["dilation"][1];
  cp.groups = p["groups"];
  return cp;
}

// Direct nested-loop convolution.
template <class T>
Tensor<T> conv_ref(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>* b, const Conv2dParams& p) {
  const auto N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3), O = w.dim(0), kh = w.dim(2), kw = w.dim(3);
  const auto Cg = C / p.groups, Og = O / p.groups;
  const auto Ho = (H + 2 * p.padding_h - p.dilation_h * (kh - 1) - 1) / p.stride_h + 1;
  const auto Wo = (W + 2 * p.padding_w - p.dilation_w * (kw - 1) - 1) / p.stride_w + 1;
  Tensor<T> y(Shape{N, O, Ho, Wo});
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t o = 0; o < O; ++o)
      for (std::int64_t oh = 0; oh < Ho; ++oh)
        for (std::int64_t ow = 0; ow < Wo; ++ow) {
          double s = b ? static_cast<double>((*b)(o)) : 0.0;
          for (std::int64_t c = 0; c < Cg; ++c)
            for (std::int64_t i = 0; i < kh; ++i)
              for (std::int64_t j = 0; j < kw; ++j) {
                const auto ih = oh * p.stride_h - p.padding_h + i * p.dilation_h;
                const auto iw = ow * p.stride_w - p.padding_w + j * p.dilation_w;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                s += static_cast<double>(x(n, (o / Og) * Cg + c, ih, iw)) * static_cast<double>(w(o, c, i, j));
              }
          y(n, o, oh, ow) = static_cast<T>(s);
        }
  return y;
}

}  // namespace

// --- conv2d -------------------------------------------------------------------

TEST_CASE("conv2d forward matches nested loops", "[autograd_nn][conv]") {
  struct Case {
    Shape x, w;
    Conv2dParams p;
    bool bias;
  };
  const std::vector<Case> cases = {
      {{2, 4, 7, 6}, {6, 2, 3, 2}, {2, 1, 1, 2, 2, 1, 2}, true},  // groups 2, stride/pad/dilation per axis
      {{2, 3, 5, 5}, {3, 1, 3, 3}, Conv2dParams::square(1, 1, 1, 3), true},  // depthwise
      {{3, 5, 4, 3}, {2, 5, 1, 1}, Conv2dParams{}, false},                   // 1x1
      {{1, 2, 9, 4}, {3, 2, 1, 3}, Conv2dParams::square(2, 1), true},        // non-square kernel and input
      {{2, 3, 6, 7}, {4, 3, 3, 3}, Conv2dParams::square(1, 2, 2), false},    // dilation 2
      {{2, 2, 5, 5}, {2, 2, 1, 1}, Conv2dParams::square(2, 0), true},        // strided 1x1
  };
  for (std::size_t k = 0; k < cases.size(); ++k) {
    INFO("case " << k);
    const auto& c = cases[k];
    const Tensor<float> x = randn<float>(c.x, 10 + k), w = randn<float>(c.w, 20 + k), b = randn<float>({c.w[0]}, 30 + k);
    const Var<float> y = conv2d(Var<float>(x), Var<float>(w), c.bias ? Var<float>(b) : Var<float>(), c.p);
    require_close(y.value(), conv_ref(x, w, c.bias ? &b : nullptr, c.p), 1e-5);
    const Tensor<double> xd = cast<double>(x), wd = cast<double>(w), bd = cast<double>(b);
    const VD yd = conv2d(VD(xd), VD(wd), c.bias ? VD(bd) : VD(), c.p);
    require_close(yd.value(), conv_ref(xd, wd, c.bias ? &bd : nullptr, c.p), 1e-12);
  }
}

TEST_CASE("conv2d gradcheck: groups, depthwise, 1x1, dilation, non-square", "[autograd_nn][conv]") {
  SECTION("stride 2, padding 1, dilation 2, groups 2") {
    const Conv2dParams p = Conv2dParams::square(2, 1, 2, 2);
    require_gradcheck([p](const Inputs& v) { return conv2d(v[0], v[1], v[2], p); },
                      {param({2, 4, 7, 6}, 1), param({4, 2, 3, 3}, 2), param({4}, 3)});
  }
  SECTION("depthwise 3x3, padding 1") {
    const Conv2dParams p = Conv2dParams::square(1, 1, 1, 3);
    require_gradcheck([p](const Inputs& v) { return conv2d(v[0], v[1], v[2], p); },
                      {param({2, 3, 5, 4}, 4), param({3, 1, 3, 3}, 5), param({3}, 6)});
  }
  SECTION("1x1 without bias") {
    require_gradcheck([](const Inputs& v) { return conv2d(v[0], v[1]); },
                      {param({2, 5, 3, 4}, 7), param({3, 5, 1, 1}, 8)});
  }
  SECTION("non-square kernel, input, stride and padding") {
    const Conv2dParams p{2, 1, 1, 2, 1, 2, 1};
    require_gradcheck([p](const Inputs& v) { return conv2d(v[0], v[1], v[2], p); },
                      {param({1, 2, 7, 5}, 9), param({3, 2, 2, 3}, 10), param({3}, 11)});
  }
}

TEST_CASE("conv2d matches PyTorch", "[autograd_nn][conv][parity]") {
  for (const std::string name : {"conv_groups", "conv_depthwise", "conv_pointwise", "conv_strided"}) {
    const Conv2dParams p = conv_params_of(fixture(name).at("params"));
    check_fixture<double>(name, {"x", "w", "b"}, [p](const auto& v) { return conv2d(v[0], v[1], v[2], p); }, 1e-10);
    check_fixture<float>(name, {"x", "w", "b"}, [p](const auto& v) { return conv2d(v[0], v[1], v[2], p); }, 1e-5);
  }
}

TEST_CASE("conv2d float on the threaded path agrees with double", "[autograd_nn][conv]") {
  const Conv2dParams p = Conv2dParams::square(1, 1);
  const Tensor<float> x = randn<float>({8, 4, 16, 15}, 40), w = randn<float>({8, 4, 3, 3}, 41), b = randn<float>({8}, 42);
  const Tensor<float> r = randn<float>({8, 8, 16, 15}, 43);
  Var<float> xf(x, true), wf(w, true), bf(b, true);
  Var<float> yf = conv2d(xf, wf, bf, p);
  sum(yf * Var<float>(r)).backward();
  VD xd(cast<double>(x), true), wd(cast<double>(w), true), bd(cast<double>(b), true);
  VD yd = conv2d(xd, wd, bd, p);
  sum(yd * VD(cast<double>(r))).backward();
  require_close(cast<double>(yf.value()), yd.value(), 1e-4);
  require_close(cast<double>(xf.grad()), xd.grad(), 1e-4);
  require_close(cast<double>(wf.grad()), wd.grad(), 1e-3);  // sums of 1920 products in float
  require_close(cast<double>(bf.grad()), bd.grad(), 1e-3);
  require_close(yd.value(), conv_ref(cast<double>(x), cast<double>(w), static_cast<const Tensor<double>*>(nullptr), p) + cast<double>(b).reshape({1, 8, 1, 1}),
                1e-12);
}

TEST_CASE("conv2d rejects mismatched shapes", "[autograd_nn][conv]") {
  const Var<float> x(Tensor<float>(Shape{1, 4, 5, 5}));
  REQUIRE_THROWS_AS(conv2d(x, Var<float>(Tensor<float>(Shape{2, 3, 3, 3}))), Error);
  REQUIRE_THROWS_WITH(conv2d(x, Var<float>(Tensor<float>(Shape{2, 4, 3, 3})), Var<float>(Tensor<float>(Shape{3}))),
                      Catch::Contains("bias"));
  REQUIRE_THROWS_AS(conv2d(x, Var<float>(Tensor<float>(Shape{3, 2, 3, 3})), Var<float>(), Conv2dParams::square(1, 0, 1, 2)),
                    Error);  // 3 outputs not divisible by 2 groups
  REQUIRE_THROWS_AS(conv2d(x, Var<float>(Tensor<float>(Shape{2, 4, 7, 7}))), Error);  // kernel larger than input
}

// --- normalisation ----------------------------------------------------------------

TEST_CASE("batch_norm training: batch statistics and running update by hand", "[autograd_nn][norm]") {
  const Tensor<double> x = randn<double>({3, 2, 2, 2}, 50), w = randn<double>({2}, 51), b = randn<double>({2}, 52);
  Tensor<double> rm = Tensor<double>::from({2}, {0.5, -1.0}), rv = Tensor<double>::from({2}, {2.0, 0.5});
  const VD y = batch_norm(VD(x), VD(w), VD(b), rm, rv, true, 0.1, 1e-5);
  for (std::int64_t c = 0; c < 2; ++c) {
    double s = 0, ss = 0;
    for (std::int64_t n = 0; n < 3; ++n)
      for (std::int64_t i = 0; i < 2; ++i)
        for (std::int64_t j = 0; j < 2; ++j) s += x(n, c, i, j);
    const double mu = s / 12;
    for (std::int64_t n = 0; n < 3; ++n)
      for (std::int64_t i = 0; i < 2; ++i)
        for (std::int64_t j = 0; j < 2; ++j) ss += (x(n, c, i, j) - mu) * (x(n, c, i, j) - mu);
    const double var = ss / 12;
    for (std::int64_t n = 0; n < 3; ++n)
      for (std::int64_t i = 0; i < 2; ++i)
        for (std::int64_t j = 0; j < 2; ++j)
          REQUIRE(y.value()(n, c, i, j) == Approx((x(n, c, i, j) - mu) / std::sqrt(var + 1e-5) * w(c) + b(c)).margin(1e-12));
    const double rm0 = c == 0 ? 0.5 : -1.0, rv0 = c == 0 ? 2.0 : 0.5;
    REQUIRE(rm(c) == Approx(0.9 * rm0 + 0.1 * mu).margin(1e-12));
    REQUIRE(rv(c) == Approx(0.9 * rv0 + 0.1 * ss / 11).margin(1e-12));  // unbiased
  }
}

TEST_CASE("batch_norm eval uses running statistics", "[autograd_nn][norm]") {
  const Tensor<double> x = randn<double>({4, 3}, 53);
  Tensor<double> rm = Tensor<double>::from({3}, {0.1, 0.2, -0.3}), rv = Tensor<double>::from({3}, {1.5, 0.7, 2.0});
  const Tensor<double> rm0 = rm.clone(), rv0 = rv.clone();
  const VD y = batch_norm(VD(x), VD(), VD(), rm, rv, false);
  for (std::int64_t n = 0; n < 4; ++n)
    for (std::int64_t c = 0; c < 3; ++c) REQUIRE(y.value()(n, c) == Approx((x(n, c) - rm0(c)) / std::sqrt(rv0(c) + 1e-5)));
  REQUIRE(max_abs_diff(rm, rm0) == 0.0);
  REQUIRE(max_abs_diff(rv, rv0) == 0.0);
}

TEST_CASE("batch_norm gradcheck in training and eval", "[autograd_nn][norm]") {
  for (const bool training : {true, false}) {
    INFO("training " << training);
    Tensor<double> rm = randn<double>({3}, 54), rv = map(randn<double>({3}, 55), [](double v) { return 0.5 + v * v; });
    require_gradcheck([&](const Inputs& v) { return batch_norm(v[0], v[1], v[2], rm, rv, training); },
                      {param({4, 3, 2, 3}, 56), param({3}, 57), param({3}, 58)});
    require_gradcheck([&](const Inputs& v) { return batch_norm(v[0], v[1], v[2], rm, rv, training); },
                      {param({5, 3}, 59), param({3}, 60), param({3}, 61)});
  }
  Tensor<double> none;  // untracked running statistics
  require_gradcheck([&](const Inputs& v) { return batch_norm(v[0], VD(), VD(), none, none, true); },
                    {param({4, 2, 2, 2}, 62)});
}

TEST_CASE("batch_norm matches PyTorch", "[autograd_nn][norm][parity]") {
  for (const std::string name : {"batch_norm_train", "batch_norm_eval"}) {
    const auto& c = fixture(name);
    const bool training = c.at("params").at("training");
    auto run = [&](auto tag, double tol) {
      using T = decltype(tag);
      Tensor<T> rm = from_json<T>(c.at("extra").at("running_mean_in")), rv = from_json<T>(c.at("extra").at("running_var_in"));
      check_fixture<T>(name, {"x", "w", "b"}, [&](const auto& v) { return batch_norm(v[0], v[1], v[2], rm, rv, training); },
                       tol);
      require_close(rm, from_json<T>(c.at("extra").at("running_mean_out")), tol);
      require_close(rv, from_json<T>(c.at("extra").at("running_var_out")), tol);
    };
    run(double{}, 1e-10);
    run(float{}, 1e-5);
  }
}

TEST_CASE("batch_norm in float stays accurate on a large offset batch", "[autograd_nn][norm]") {
  // 50176 values per channel around 100: float accumulators would drift.
  const Tensor<float> x = map(randn<float>({64, 2, 28, 28}, 63), [](float v) { return 100.f + v; });
  Tensor<float> rm(Shape{2}), rv(Shape{2}, 1.f);
  Tensor<double> rmd(Shape{2}), rvd(Shape{2}, 1.0);
  Var<float> xf(x, true);
  const Var<float> yf = batch_norm(xf, Var<float>(), Var<float>(), rm, rv, true);
  VD xd(cast<double>(x), true);
  const VD yd = batch_norm(xd, VD(), VD(), rmd, rvd, true);
  require_close(cast<double>(yf.value()), yd.value(), 2e-4);
  require_close(cast<double>(rm), rmd, 1e-5);
  require_close(cast<double>(rv), rvd, 1e-4);
  const Tensor<float> r = randn<float>(x.shape(), 64);
  sum(yf * Var<float>(r)).backward();
  sum(yd * VD(cast<double>(r))).backward();
  require_close(cast<double>(xf.grad()), xd.grad(), 2e-3);
}

TEST_CASE("batch_norm rejects bad shapes", "[autograd_nn][norm]") {
  Tensor<float> rm(Shape{3}), rv(Shape{3}, 1.f), bad(Shape{2});
  const Var<float> x(Tensor<float>(Shape{2, 3, 4}));
  REQUIRE_THROWS_AS(batch_norm(x, Var<float>(), Var<float>(), rm, rv, true), Error);  // 3-D
  const Var<float> x4(Tensor<float>(Shape{2, 3, 2, 2}));
  REQUIRE_THROWS_WITH(batch_norm(x4, Var<float>(), Var<float>(), bad, rv, false), Catch::Contains("running_mean"));
  REQUIRE_THROWS_AS(batch_norm(Var<float>(Tensor<float>(Shape{1, 3})), Var<float>(), Var<float>(), rm, rv, true), Error);
}

TEST_CASE("layer_norm forward by hand, gradcheck, PyTorch", "[autograd_nn][norm]") {
  const Tensor<double> x = randn<double>({2, 3, 4}, 70), w = randn<double>({4}, 71), b = randn<double>({4}, 72);
  const VD y = layer_norm(VD(x), VD(w), VD(b));
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t j = 0; j < 3; ++j) {
      double mu = 0, var = 0;
      for (std::int64_t k = 0; k < 4; ++k) mu += x(i, j, k) / 4;
      for (std::int64_t k = 0; k < 4; ++k) var += (x(i, j, k) - mu) * (x(i, j, k) - mu) / 4;
      for (std::int64_t k = 0; k < 4; ++k)
        REQUIRE(y.value()(i, j, k) == Approx((x(i, j, k) - mu) / std::sqrt(var + 1e-5) * w(k) + b(k)).margin(1e-12));
    }
  require_gradcheck([](const Inputs& v) { return layer_norm(v[0], v[1], v[2]); },
                    {param({2, 3, 5}, 73), param({5}, 74), param({5}, 75)});
  require_gradcheck([](const Inputs& v) { return layer_norm(v[0]); }, {param({4, 6}, 76)});
  require_gradcheck([](const Inputs& v) { return layer_norm(transpose(v[0], 0, 1), v[1]); },
                    {param({3, 4}, 77), param({3}, 78)});  // strided (transposed) input
  check_fixture<double>("layer_norm", {"x", "w", "b"}, [](const auto& v) { return layer_norm(v[0], v[1], v[2]); }, 1e-10);
  check_fixture<float>("layer_norm", {"x", "w", "b"}, [](const auto& v) { return layer_norm(v[0], v[1], v[2]); }, 1e-5);
  REQUIRE_THROWS_AS(layer_norm(Var<float>(Tensor<float>(Shape{2, 4})), Var<float>(Tensor<float>(Shape{3}))), Error);
}

// --- pooling ----------------------------------------------------------------------

TEST_CASE("max_pool2d forward, ties and gradient routing", "[autograd_nn][pool]") {
  const Tensor<double> x = randn<double>({2, 3, 6, 5}, 80);
  const VD y = max_pool2d(VD(x), 2);
  REQUIRE(y.shape() == Shape{2, 3, 3, 2});
  for (std::int64_t n = 0; n < 2; ++n)
    for (std::int64_t c = 0; c < 3; ++c)
      for (std::int64_t i = 0; i < 3; ++i)
        for (std::int64_t j = 0; j < 2; ++j) {
          const double m = std::max({x(n, c, 2 * i, 2 * j), x(n, c, 2 * i, 2 * j + 1), x(n, c, 2 * i + 1, 2 * j),
                                     x(n, c, 2 * i + 1, 2 * j + 1)});
          REQUIRE(y.value()(n, c, i, j) == m);
        }
  // Ties: the first maximum in row-major window order takes the whole gradient.
  VD t(Tensor<double>::from({1, 1, 2, 2}, {1.0, 3.0, 3.0, 3.0}), true);
  sum(max_pool2d(t, 2)).backward();
  REQUIRE(t.grad().to_vector() == std::vector<double>{0, 1, 0, 0});
}

TEST_CASE("max_pool2d matches a window-by-window reference, with and without a graph", "[autograd_nn][pool]") {
  // Small integers make ties common; a few NaN and -inf cells test what wins.
  // Reference: scan each window in row-major order; a cell wins when it is
  // strictly greater or NaN (so the first maximum, or the last NaN, wins).
  std::mt19937 rng(7);
  for (int trial = 0; trial < 40; ++trial) {
    Pool2dParams p;
    p.kernel_h = 1 + std::int64_t(rng() % 3), p.kernel_w = 1 + std::int64_t(rng() % 4);
    p.stride_h = 1 + std::int64_t(rng() % 3), p.stride_w = 1 + std::int64_t(rng() % 3);
    p.padding_h = std::int64_t(rng() % (p.kernel_h / 2 + 1)), p.padding_w = std::int64_t(rng() % (p.kernel_w / 2 + 1));
    p.dilation_h = 1 + std::int64_t(rng() % 2), p.dilation_w = 1 + std::int64_t(rng() % 2);
    p.ceil_mode = rng() % 2;
    if (trial % 4 == 0) {  // the backbones' 2x2 stride-2 pool (kernels/max_pool.hpp without a graph)
      const bool ceil_mode = p.ceil_mode;
      p = Pool2dParams::square(2, 2), p.ceil_mode = ceil_mode;
    }
    const std::int64_t H = 5 + std::int64_t(rng() % 6), W = 5 + std::int64_t(rng() % (trial % 4 == 0 ? 30 : 9));
    Tensor<float> x(Shape{2, 2, H, W});
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      const unsigned r = rng() % 50;
      x.data()[i] = r == 0   ? std::numeric_limits<float>::quiet_NaN()
                    : r == 1 ? -std::numeric_limits<float>::infinity()
                    : r < 6  ? (r % 2 ? -0.0f : 0.0f)  // ties of signed zeros: the first one wins
                             : float(int(rng() % 5) - 1);
    }
    INFO("trial " << trial);
    Var<float> xv(x, true);
    Var<float> y = max_pool2d(xv, p);
    const std::int64_t Ho = y.dim(2), Wo = y.dim(3);
    Tensor<float> gy(y.shape()), want_dx(x.shape());
    for (std::int64_t i = 0; i < gy.numel(); ++i) gy.data()[i] = float(i % 7 + 1);
    bool same = true;
    for (std::int64_t pl = 0; pl < 4; ++pl)
      for (std::int64_t oh = 0; oh < Ho; ++oh)
        for (std::int64_t ow = 0; ow < Wo; ++ow) {
          float best = -std::numeric_limits<float>::infinity();
          std::int64_t bi = -1;
          for (std::int64_t ki = 0; ki < p.kernel_h; ++ki)
            for (std::int64_t kj = 0; kj < p.kernel_w; ++kj) {
              const std::int64_t ih = oh * p.stride_h - p.padding_h + ki * p.dilation_h;
              const std::int64_t iw = ow * p.stride_w - p.padding_w + kj * p.dilation_w;
              if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
              const float v = x.data()[pl * H * W + ih * W + iw];
              if (bi < 0) bi = ih * W + iw;  // a window of -inf keeps its first cell
              if (v > best || std::isnan(v)) best = v, bi = ih * W + iw;
            }
          const std::int64_t o = (pl * Ho + oh) * Wo + ow;
          const float got = y.value().data()[o];
          same = same && (std::isnan(best) ? std::isnan(got) : got == best && std::signbit(got) == std::signbit(best));
          want_dx.data()[pl * H * W + bi] += gy.data()[o];
        }
    CHECK(same);
    y.backward(gy);
    CHECK(xv.grad().to_vector() == want_dx.to_vector());
    // Without a graph: the same values, no argmax kept.
    NoGradGuard no_grad;
    const Var<float> y2 = max_pool2d(Var<float>(x), p);
    bool same2 = true;
    for (std::int64_t i = 0; i < y2.value().numel(); ++i) {
      const float a = y2.value().data()[i], b = y.value().data()[i];
      same2 = same2 && (std::isnan(b) ? std::isnan(a) : a == b && std::signbit(a) == std::signbit(b));
    }
    CHECK(same2);
  }
}

TEST_CASE("pooling gradchecks", "[autograd_nn][pool]") {
  // Random normal values: distinct, with gaps far above the 1e-6 step.
  require_gradcheck([](const Inputs& v) { return max_pool2d(v[0], 2); }, {param({2, 2, 4, 6}, 81)});
  Pool2dParams p = Pool2dParams::square(3, 2, 1);
  p.ceil_mode = true;
  require_gradcheck([p](const Inputs& v) { return max_pool2d(v[0], p); }, {param({1, 2, 7, 6}, 82)});
  Pool2dParams d;
  d.kernel_h = 2, d.kernel_w = 3, d.stride_h = 1, d.stride_w = 2, d.dilation_h = 2, d.dilation_w = 2, d.padding_h = 1,
  d.padding_w = 1;
  require_gradcheck([d](const Inputs& v) { return max_pool2d(v[0], d); }, {param({1, 2, 7, 6}, 83)});
  require_gradcheck([](const Inputs& v) { return avg_pool2d(v[0], 2); }, {param({2, 2, 4, 5}, 84)});
  require_gradcheck([p](const Inputs& v) { return avg_pool2d(v[0], p); }, {param({1, 2, 7, 6}, 85)});
  require_gradcheck([](const Inputs& v) { return avg_pool2d(v[0], 3, 2, 1, false); }, {param({1, 2, 6, 5}, 86)});
  require_gradcheck([](const Inputs& v) { return adaptive_avg_pool2d(v[0], 3, 2); }, {param({2, 2, 7, 5}, 87)});
  require_gradcheck([](const Inputs& v) { return adaptive_avg_pool2d(v[0], 1, 1); }, {param({2, 3, 4, 4}, 88)});
}

TEST_CASE("avg and adaptive pooling forward by hand", "[autograd_nn][pool]") {
  const Tensor<double> x = randn<double>({1, 2, 5, 4}, 90);
  // 3x3 window, stride 2, padding 1 over a 5x4 plane: output cell (0,0) covers rows -1..1, cols -1..1.
  const VD incl = avg_pool2d(VD(x), 3, 2, 1, true), excl = avg_pool2d(VD(x), 3, 2, 1, false);
  REQUIRE(incl.shape() == Shape{1, 2, 3, 2});
  const double s00 = x(0, 1, 0, 0) + x(0, 1, 0, 1) + x(0, 1, 1, 0) + x(0, 1, 1, 1);
  REQUIRE(incl.value()(0, 1, 0, 0) == Approx(s00 / 9));
  REQUIRE(excl.value()(0, 1, 0, 0) == Approx(s00 / 4));
  // adaptive 5 -> 3 rows: bins [0,2), [1,4), [3,5); 4 -> 1 column: [0, 4).
  const VD a = adaptive_avg_pool2d(VD(x), 3, 1);
  for (std::int64_t c = 0; c < 2; ++c) {
    const std::int64_t lo[] = {0, 1, 3}, hi[] = {2, 4, 5};
    for (int i = 0; i < 3; ++i) {
      double s = 0;
      for (std::int64_t r = lo[i]; r < hi[i]; ++r)
        for (std::int64_t col = 0; col < 4; ++col) s += x(0, c, r, col);
      REQUIRE(a.value()(0, c, i, 0) == Approx(s / ((hi[i] - lo[i]) * 4)));
    }
  }
}

TEST_CASE("pooling matches PyTorch", "[autograd_nn][pool][parity]") {
  for (const std::string name : {"max_pool_pad_ceil", "max_pool_dilated", "avg_pool_incl", "avg_pool_excl"}) {
    const auto& j = fixture(name).at("params");
    Pool2dParams p;
    p.kernel_h = j["kernel"][0], p.kernel_w = j["kernel"][1];
    p.stride_h = j["stride"][0], p.stride_w = j["stride"][1];
    p.padding_h = j["padding"][0], p.padding_w = j["padding"][1];
    if (j.contains("dilation")) p.dilation_h = j["dilation"][0], p.dilation_w = j["dilation"][1];
    p.ceil_mode = j["ceil_mode"];
    if (j.contains("count_include_pad")) p.count_include_pad = j["count_include_pad"];
    const bool is_max = name.rfind("max", 0) == 0;
    auto op = [p, is_max](const auto& v) { return is_max ? max_pool2d(v[0], p) : avg_pool2d(v[0], p); };
    check_fixture<double>(name, {"x"}, op, 1e-10);
    check_fixture<float>(name, {"x"}, op, 1e-5);
  }
  auto ad = [](const auto& v) { return adaptive_avg_pool2d(v[0], 3, 2); };
  check_fixture<double>("adaptive_avg_pool", {"x"}, ad, 1e-10);
  check_fixture<float>("adaptive_avg_pool", {"x"}, ad, 1e-5);
  REQUIRE_THROWS_AS(max_pool2d(Var<float>(Tensor<float>(Shape{1, 1, 4, 4})), 2, 2, 2), Error);  // padding > k/2
  REQUIRE_THROWS_AS(avg_pool2d(Var<float>(Tensor<float>(Shape{1, 4, 4})), 2), Error);
}

// --- losses -----------------------------------------------------------------------

TEST_CASE("cross_entropy by hand, ignore_index, label smoothing", "[autograd_nn][loss]") {
  const Tensor<double> x = randn<double>({4, 3}, 100);
  const auto t = Tensor<std::int64_t>::from({4}, {2, 0, -100, 1});
  auto lse = [&](std::int64_t r) {
    double s = 0;
    for (std::int64_t c = 0; c < 3; ++c) s += std::exp(x(r, c));
    return std::log(s);
  };
  double want = 0, smooth = 0;
  for (std::int64_t r : {0, 1, 3}) {
    want += lse(r) - x(r, t(r));
    smooth += 0.8 * (lse(r) - x(r, t(r))) + 0.2 * (lse(r) - (x(r, 0) + x(r, 1) + x(r, 2)) / 3);
  }
  REQUIRE(cross_entropy(VD(x), t).item() == Approx(want / 3).margin(1e-12));
  REQUIRE(cross_entropy(VD(x), t, -100, 0.2).item() == Approx(smooth / 3).margin(1e-12));
  // Stable for huge logits.
  const auto big = Tensor<double>::from({1, 2}, {1000.0, 0.0});
  REQUIRE(cross_entropy(VD(big), Tensor<std::int64_t>::from({1}, {1})).item() == Approx(1000.0));
  require_gradcheck([t](const Inputs& v) { return cross_entropy(v[0], t); }, {param({4, 3}, 101)});
  require_gradcheck([t](const Inputs& v) { return cross_entropy(v[0], t, -100, 0.3); }, {param({4, 3}, 102)});
  for (const std::string name : {"cross_entropy", "cross_entropy_smooth"}) {
    const auto& c = fixture(name);
    const auto tg = ints_from_json(c.at("extra").at("targets"));
    const double ls = c.at("params").at("label_smoothing");
    check_fixture<double>(name, {"logits"}, [&](const auto& v) { return cross_entropy(v[0], tg, -100, ls); }, 1e-10);
    check_fixture<float>(name, {"logits"}, [&](const auto& v) { return cross_entropy(v[0], tg, -100, float(ls)); }, 1e-5);
  }
  REQUIRE_THROWS_WITH(cross_entropy(VD(x), Tensor<std::int64_t>::from({4}, {0, 3, 1, 1})),
                      Catch::Contains("target index 3") && Catch::Contains("3 classes"));
  REQUIRE_THROWS_WITH(cross_entropy(VD(x), Tensor<std::int64_t>(Shape{4}, -100)), Catch::Contains("no target tokens"));
}

TEST_CASE("cross_entropy against probabilities and distillation_loss", "[autograd_nn][loss]") {
  const Tensor<double> x = randn<double>({3, 4}, 120);
  Tensor<double> p = map(randn<double>({3, 4}, 121), [](double v) { return std::exp(v); });
  double want = 0;
  for (std::int64_t r = 0; r < 3; ++r) {
    double s = 0;
    for (std::int64_t c = 0; c < 4; ++c) s += std::exp(x(r, c));
    for (std::int64_t c = 0; c < 4; ++c) want -= p(r, c) * (x(r, c) - std::log(s));  // rows of p need not sum to 1
  }
  REQUIRE(cross_entropy(VD(x), p).item() == Approx(want / 3).margin(1e-12));
  require_gradcheck([p](const Inputs& v) { return cross_entropy(v[0], p); }, {param({3, 4}, 122)});
  // A one-hot probability row is the class-index loss.
  const auto t = Tensor<std::int64_t>::from({3}, {2, 0, 3});
  Tensor<double> onehot({3, 4});
  for (std::int64_t r = 0; r < 3; ++r) onehot.data()[r * 4 + t(r)] = 1;
  REQUIRE(cross_entropy(VD(x), onehot).item() == Approx(cross_entropy(VD(x), t).item()).margin(1e-12));
  // Distillation with weight 0 is the hard loss; with weight 1 and the
  // student's own logits as teacher at T = 1 it is the student's entropy.
  REQUIRE(distillation_loss(VD(x), p, t, 3.0, 0.0).item() == Approx(cross_entropy(VD(x), t).item()).margin(1e-12));
  const Tensor<double> own = softmax(x, 1);
  REQUIRE(distillation_loss(VD(x), x, t, 1.0, 1.0).item() == Approx(cross_entropy(VD(x), own).item()).margin(1e-12));
  require_gradcheck([p, t](const Inputs& v) { return distillation_loss(v[0], p, t, 2.5, 0.6, 0.1); },
                    {param({3, 4}, 123)});
  {
    const auto& c = fixture("cross_entropy_probs");
    const auto probs = from_json<double>(c.at("extra").at("probs"));
    check_fixture<double>("cross_entropy_probs", {"logits"}, [&](const auto& v) { return cross_entropy(v[0], probs); },
                          1e-10);
    const auto probs_f = cast<float>(probs);
    check_fixture<float>("cross_entropy_probs", {"logits"},
                         [&](const auto& v) { return cross_entropy(v[0], probs_f); }, 1e-5);
  }
  {
    const auto& c = fixture("distillation");
    const auto teacher = from_json<double>(c.at("extra").at("teacher"));
    const auto tg = ints_from_json(c.at("extra").at("targets"));
    const double temp = c.at("params").at("temperature"), w = c.at("params").at("weight");
    check_fixture<double>("distillation", {"logits"},
                          [&](const auto& v) { return distillation_loss(v[0], teacher, tg, temp, w); }, 1e-10);
    const auto teacher_f = cast<float>(teacher);
    check_fixture<float>("distillation", {"logits"},
                         [&](const auto& v) { return distillation_loss(v[0], teacher_f, tg, float(temp), float(w)); },
                         1e-5);
  }
  REQUIRE_THROWS_WITH(cross_entropy(VD(x), Tensor<double>({3, 5})), Catch::Contains("[N, C]"));
  REQUIRE_THROWS_WITH(distillation_loss(VD(x), p, t, 0.0, 0.5), Catch::Contains("temperature > 0"));
}

TEST_CASE("masked_cross_entropy and masked_accuracy", "[autograd_nn][loss]") {
  const Tensor<double> x = randn<double>({2, 3, 4}, 110);
  const auto t = Tensor<std::int64_t>::from({2, 3}, {1, 3, 0, 2, 9, 0});  // 9 sits under a zero mask
  const auto m = Tensor<double>::from({2, 3}, {1, 1, 0, 1, 0, 0});
  double want = 0;
  int correct = 0;
  for (auto [n, s] : std::vector<std::pair<int, int>>{{0, 0}, {0, 1}, {1, 0}}) {
    double z = 0;
    std::int64_t best = 0;
    for (std::int64_t v = 0; v < 4; ++v) {
      z += std::exp(x(n, s, v));
      if (x(n, s, v) > x(n, s, best)) best = v;
    }
    want += std::log(z) - x(n, s, t(n, s));
    correct += best == t(n, s);
  }
  REQUIRE(masked_cross_entropy(VD(x), t, m).item() == Approx(want / 3).margin(1e-12));
  REQUIRE(masked_accuracy(x, t, m) == Approx(correct / 3.0));
  // Accuracy on logits built to be right on 2 of 3 tokens.
  Tensor<float> l(Shape{1, 3, 2});
  l(0, 0, 1) = 1, l(0, 1, 0) = 1, l(0, 2, 0) = 1;
  const auto tl = Tensor<std::int64_t>::from({1, 3}, {1, 1, 0});
  REQUIRE(masked_accuracy(l, tl, Tensor<std::uint8_t>(Shape{1, 3}, 1)) == Approx(2.0 / 3.0));
  require_gradcheck([&](const Inputs& v) { return masked_cross_entropy(v[0], t, m); }, {param({2, 3, 4}, 111)});
  const auto& c = fixture("masked_cross_entropy");
  const auto tg = ints_from_json(c.at("extra").at("targets"));
  const auto mk = from_json<double>(c.at("extra").at("mask"));
  check_fixture<double>("masked_cross_entropy", {"logits"}, [&](const auto& v) { return masked_cross_entropy(v[0], tg, mk); },
                        1e-10);
  check_fixture<float>("masked_cross_entropy", {"logits"}, [&](const auto& v) { return masked_cross_entropy(v[0], tg, mk); },
                       1e-5);
  REQUIRE_THROWS_WITH(masked_cross_entropy(VD(x), t, Tensor<double>(Shape{2, 3})), Catch::Contains("no target tokens"));
  REQUIRE_THROWS_WITH(masked_accuracy(x, t, Tensor<double>(Shape{2, 3})), Catch::Contains("no target tokens"));
  REQUIRE_THROWS_WITH(masked_cross_entropy(VD(x), t, Tensor<double>(Shape{2, 3}, 1.0)),
                      Catch::Contains("target index 9") && Catch::Contains("4 classes"));
  REQUIRE_THROWS_AS(masked_cross_entropy(VD(x), t, Tensor<double>(Shape{3, 2}, 1.0)), Error);
}

// --- embedding, dropout -----------------------------------------------------------

TEST_CASE("embedding gathers rows, skips padding_idx, checks indices", "[autograd_nn][misc]") {
  const Tensor<double> w = randn<double>({5, 3}, 120);
  const auto idx = Tensor<std::int64_t>::from({2, 2}, {4, 0, 0, 2});
  const VD y = embedding(idx, VD(w));
  REQUIRE(y.shape() == Shape{2, 2, 3});
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t j = 0; j < 2; ++j)
      for (std::int64_t d = 0; d < 3; ++d) REQUIRE(y.value()(i, j, d) == w(idx(i, j), d));
  VD wv(w, true);
  sum(embedding(idx, wv, std::optional<std::int64_t>(0))).backward();
  const Tensor<double> g = wv.grad();
  for (std::int64_t d = 0; d < 3; ++d) {
    REQUIRE(g(0, d) == 0.0);  // padding row
    REQUIRE(g(2, d) == 1.0);
    REQUIRE(g(4, d) == 1.0);
    REQUIRE(g(1, d) == 0.0);
  }
  require_gradcheck([&](const Inputs& v) { return embedding(idx, v[0]); }, {param({5, 3}, 121)});
  const auto& c = fixture("embedding");
  const auto fi = ints_from_json(c.at("extra").at("indices"));
  check_fixture<double>("embedding", {"w"}, [&](const auto& v) { return embedding(fi, v[0], std::optional<std::int64_t>(0)); },
                        1e-12);
  REQUIRE_THROWS_WITH(embedding(Tensor<std::int64_t>::from({2}, {1, 5}), VD(w)),
                      Catch::Contains("index 5") && Catch::Contains("5 rows"));
  REQUIRE_THROWS_AS(embedding(Tensor<std::int64_t>::from({1}, {-1}), VD(w)), Error);
}

TEST_CASE("dropout: inverted scaling, same mask in backward, eval identity", "[autograd_nn][misc]") {
  const Tensor<double> x = map(randn<double>({40, 50}, 130), [](double v) { return 1.0 + v * v; });  // never 0
  std::mt19937 rng(5);
  VD xv(x, true);
  const VD y = dropout(xv, 0.25, true, rng);
  std::int64_t kept = 0;
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    const double v = y.value().data()[i];
    if (v != 0.0) {
      ++kept;
      REQUIRE(v == Approx(x.data()[i] / 0.75));
    }
  }
  REQUIRE(std::abs(kept / 2000.0 - 0.75) < 0.04);  // binomial sd ~ 0.01
  sum(y).backward();
  for (std::int64_t i = 0; i < x.numel(); ++i)
    REQUIRE(xv.grad().data()[i] == (y.value().data()[i] != 0.0 ? Approx(1 / 0.75) : Approx(0.0)));
  // Deterministic for a seed; fresh draws differ.
  REQUIRE(dropout(VD(x), 0.5, true, std::uint64_t{9}).value().to_vector() ==
          dropout(VD(x), 0.5, true, std::uint64_t{9}).value().to_vector());
  REQUIRE(dropout(VD(x), 0.5, true, rng).value().to_vector() != dropout(VD(x), 0.5, true, rng).value().to_vector());
  // Eval and p = 0 are the identity; p = 1 zeroes everything.
  REQUIRE(dropout(xv, 0.5, false, rng).node() == xv.node());
  REQUIRE(dropout(xv, 0.0, true, rng).node() == xv.node());
  REQUIRE(max_abs_diff(dropout(xv, 1.0, true, rng).value(), Tensor<double>(x.shape())) == 0.0);
  REQUIRE_THROWS_AS(dropout(xv, 1.5, true, rng), Error);
  // Gradcheck with a fixed mask: the generator is re-seeded on every call.
  require_gradcheck([](const Inputs& v) { return dropout(v[0], 0.3, true, std::uint64_t{3}); }, {param({4, 5}, 131)});
}

}  // namespace freqcap_test_autograd_nn
