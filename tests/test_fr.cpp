// dct/ FR layers: gradient checks of the FR ops (double, both reconstruction
// paths, the factored linear product), FRConv2d / FRLinear with a full mask
// against dense layers holding IDCT(C), module gradients against the adjoint
// computed from a dense twin, masked coefficients getting zero gradient, the
// schedule inside a module, the eval cache, PyTorch-variance initialisation,
// honest stored-number counting, compressed save/load round trips (F32
// bit-exact, F16 equal to F16-rounded coefficients), budget planning and post-training
// compression (Parseval: the error is exactly the dropped energy).
#include <catch2/catch.hpp>

#include "support.hpp"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>

#include <unistd.h>

#include "freqcap/autograd/gradcheck.hpp"
#include "freqcap/autograd/ops_reduce.hpp"
#include "freqcap/core/fp16.hpp"
#include "freqcap/dct/budget.hpp"
#include "freqcap/dct/compress.hpp"
#include "freqcap/dct/fr_conv.hpp"
#include "freqcap/dct/fr_linear.hpp"
#include "freqcap/nn/batchnorm.hpp"
#include "freqcap/nn/pooling.hpp"
#include "freqcap/nn/sequential.hpp"

namespace freqcap_test_fr {  // own scope: the unity build joins test files

using namespace freqcap;
using dct::FROptions;
using dct::FRPath;

using freqcap::testing::randn;
using freqcap::testing::max_abs;
using freqcap::testing::max_abs_diff;

namespace {



bool bit_equal(const Tensor<float>& a, const Tensor<float>& b) {
  if (a.shape() != b.shape()) return false;
  const auto va = a.to_vector(), vb = b.to_vector();
  return std::memcmp(va.data(), vb.data(), va.size() * sizeof(float)) == 0;
}

// sum(y * r) backward with a fixed random r.
void backward_projection(const Var<float>& y, unsigned seed) {
  const Var<float> r(randn<float>(y.shape(), seed));
  sum(y * r).backward();
}

std::filesystem::path temp_file(const std::string& name) {
  return std::filesystem::temp_directory_path() / ("freqcap_test_fr_" + std::to_string(::getpid()) + "_" + name);
}

// conv 4->8 3x3, flatten, linear 72->10: dense, and its FR twin with `fr` options.
nn::Sequential small_conv_net(std::mt19937& rng) {
  auto conv = std::make_shared<nn::Conv2d>(nn::Conv2dOptions(4, 8, 3), rng);
  auto linear = std::make_shared<nn::Linear>(8 * 3 * 3, 10, rng);
  return nn::Sequential{conv, std::make_shared<nn::Flatten>(), linear};
}
nn::Sequential small_conv_net_fr(const FROptions& fr = FROptions()) {
  return nn::Sequential{std::make_shared<dct::FRConv2d>(nn::Conv2dOptions(4, 8, 3), fr),
                        std::make_shared<nn::Flatten>(),
                        std::make_shared<dct::FRLinear>(nn::LinearOptions(8 * 3 * 3, 10), fr)};
}

}  // namespace

TEST_CASE("fr: gradcheck of fr_weight on both reconstruction paths; masked entries get zero gradient", "[fr]") {
  const Shape shape{4, 3, 3, 3};
  const auto mask = dct::ZigzagMask::keep_first(shape, 30);
  for (FRPath path : {FRPath::fftw, FRPath::box}) {
    INFO("path " << int(path));
    Var<double> c(randn<double>(shape, 1), true);
    auto f = [&](const std::vector<Var<double>>& in) { return dct::fr_weight(in[0], mask, path); };
    const auto res = gradcheck(f, {c});
    INFO(res.message);
    CHECK(res.ok);
    c.zero_grad();
    sum(dct::fr_weight(c, mask, path) * Var<double>(randn<double>(shape, 2))).backward();
    const auto g = c.grad();
    const auto m = mask.to_tensor<double>();
    std::int64_t nonzero_masked = 0;
    for (std::int64_t i = 0; i < g.numel(); ++i) nonzero_masked += m.data()[i] == 0.0 && g.data()[i] != 0.0;
    CHECK(nonzero_masked == 0);
  }
}

TEST_CASE("fr: gradcheck of the factored FR linear product (x, C and bias)", "[fr]") {
  const Shape shape{6, 9};
  const auto mask = dct::ZigzagMask::keep_first(shape, 14);
  Var<double> x(randn<double>({3, 9}, 3), true), c(randn<double>(shape, 4), true), b(randn<double>({6}, 5), true);
  dct::BasisCache<double> bases;
  auto f = [&](const std::vector<Var<double>>& in) {
    return dct::fr_linear_factored(in[0], in[1], mask, in[2], bases);
  };
  const auto res = gradcheck(f, {x, c, b});
  INFO(res.message);
  CHECK(res.ok);
  // The factored product equals the dense reconstruction.
  const auto y = dct::fr_linear_factored(x, c, mask, b, bases).value();
  const auto w = dct::idct(mask.apply(c.value()));
  const auto ref = linear(Var<double>(x.value()), Var<double>(w), Var<double>(b.value())).value();
  CHECK(max_abs_diff(y, ref) < 1e-12);
}

TEST_CASE("fr: gradcheck of the spectral FR linear product and of its truncated / padded row DCTs", "[fr]") {
  // 40 input features: the real-FFT row path; 6 outputs: the REDFT one.
  const Shape shape{6, 40};
  const auto mask = dct::ZigzagMask::keep_first(shape, 30);
  Var<double> x(randn<double>({3, 40}, 41), true), c(randn<double>(shape, 42), true), b(randn<double>({6}, 43), true);
  for (bool with_bias : {true, false}) {
    auto f = [&](const std::vector<Var<double>>& in) {
      return dct::fr_linear_spectral(in[0], in[1], mask, with_bias ? in[2] : Var<double>());
    };
    const auto res = gradcheck(f, {x, c, b});
    INFO(res.message);
    CHECK(res.ok);
  }
  // It equals the dense reconstruction.
  const auto y = dct::fr_linear_spectral(x, c, mask, b).value();
  const auto w = dct::idct(mask.apply(c.value()));
  const auto ref = linear(Var<double>(x.value()), Var<double>(w), Var<double>(b.value())).value();
  CHECK(max_abs_diff(y, ref) < 1e-12);
  // The two row ops alone, and their adjointness: <dct_keep(u), v> = <u, idct_pad(v)>.
  auto keep = [](const std::vector<Var<double>>& in) { return dct::dct_last_keep(in[0], 7); };
  auto pad = [](const std::vector<Var<double>>& in) { return dct::idct_last_padded(in[0], 33); };
  Var<double> u(randn<double>({2, 33}, 44), true), v(randn<double>({2, 7}, 45), true);
  CHECK(gradcheck(keep, {u}).ok);
  CHECK(gradcheck(pad, {v}).ok);
  const auto ku = dct::dct_last_keep(u, 7).value(), pv = dct::idct_last_padded(v, 33).value();
  double lhs = 0, rhs = 0;
  for (std::int64_t i = 0; i < ku.numel(); ++i) lhs += ku.data()[i] * v.value().data()[i];
  for (std::int64_t i = 0; i < pv.numel(); ++i) rhs += u.value().data()[i] * pv.data()[i];
  CHECK(lhs == Approx(rhs).epsilon(1e-12));
  CHECK_THROWS_WITH(dct::dct_last_keep(u, 34), Catch::Contains("34 of 33"));
}

TEST_CASE("fr: FRConv2d with a full mask equals Conv2d with weight IDCT(C)", "[fr]") {
  std::mt19937 rng(7);
  for (auto opts : {nn::Conv2dOptions(3, 8, 3).padding(1), nn::Conv2dOptions(4, 6, {3, 5}).stride(2).groups(2),
                    nn::Conv2dOptions(5, 7, 1).bias(false)}) {
    dct::FRConv2d fr(opts, FROptions().min_rate(1.0), rng);
    nn::Conv2d dense(opts, rng);
    {
      NoGradGuard ng;
      dense.weight.value().copy_from(dct::idct(fr.weight.value()));
      if (opts.bias()) dense.bias.value().copy_from(fr.bias.value());
    }
    const Var<float> x(randn<float>({2, opts.in_channels(), 9, 11}, 8));
    const auto y = fr(x), yd = dense(x);
    CHECK(fr.kept() == fr.coefficient_count());
    CHECK(max_abs_diff(y.value(), yd.value()) < 1e-5 * std::max(1.0, max_abs(yd.value())));
  }
}

TEST_CASE("fr: FRLinear with a full mask equals Linear with weight IDCT(C), dense, factored and spectral", "[fr]") {
  std::mt19937 rng(9);
  for (FRPath path : {FRPath::automatic, FRPath::fftw, FRPath::box, FRPath::factored, FRPath::spectral}) {
    dct::FRLinear fr(nn::LinearOptions(13, 7), FROptions().min_rate(1.0).path(path), rng);
    nn::Linear dense(13, 7, rng);
    {
      NoGradGuard ng;
      dense.weight.value().copy_from(dct::idct(fr.weight.value()));
      dense.bias.value().copy_from(fr.bias.value());
    }
    const Var<float> x(randn<float>({2, 3, 13}, 10));
    CHECK(max_abs_diff(fr(x).value(), dense(x).value()) < 2e-6);
  }
}

TEST_CASE("fr: FRConv2d gradient reaches C through the adjoint DCT; masked entries get none", "[fr]") {
  std::mt19937 rng(11);
  const auto opts = nn::Conv2dOptions(6, 8, 3).padding(1);
  for (FRPath path : {FRPath::fftw, FRPath::box}) {
    dct::FRConv2d fr(opts, FROptions().dynamic(false).keep_count(50).path(path), rng);
    REQUIRE(fr.kept() == 50);
    const Var<float> x(randn<float>({2, 6, 7, 7}, 12));
    backward_projection(fr(x), 13);
    // Dense twin holding the reconstructed weight gives dL/dW; dL/dC = M * DCT(dL/dW).
    nn::Conv2d dense(opts, rng);
    {
      NoGradGuard ng;
      dense.weight.value().copy_from(fr.reconstructed_weight());
      dense.bias.value().copy_from(fr.bias.value());
    }
    backward_projection(dense(x), 13);
    const auto expect = fr.mask().apply(dct::dct(dense.weight.grad()));
    const auto got = fr.weight.grad();
    CHECK(max_abs_diff(got, expect) < 1e-4 * std::max(1.0, max_abs(expect)));
    CHECK(max_abs_diff(fr.bias.grad(), dense.bias.grad()) < 1e-4 * std::max(1.0, max_abs(dense.bias.grad())));
    const auto m = fr.mask().to_tensor<float>();
    std::int64_t leaked = 0;
    for (std::int64_t i = 0; i < m.numel(); ++i) leaked += m.data()[i] == 0.0f && got.data()[i] != 0.0f;
    CHECK(leaked == 0);
  }
}

TEST_CASE("fr: FRLinear paths agree on outputs and coefficient gradients with a partial mask", "[fr]") {
  std::vector<Tensor<float>> outs, grads;
  for (FRPath path : {FRPath::fftw, FRPath::box, FRPath::factored, FRPath::spectral}) {
    std::mt19937 rng(21);  // same init for every path
    dct::FRLinear fr(nn::LinearOptions(40, 24), FROptions().dynamic(false).keep_count(60).path(path), rng);
    CHECK(fr.never_forms_weight() == (path == FRPath::factored || path == FRPath::spectral));
    const Var<float> x(randn<float>({5, 40}, 22));
    const auto y = fr(x);
    backward_projection(y, 23);
    outs.push_back(y.value());
    grads.push_back(fr.weight.grad());
  }
  for (std::size_t i = 1; i < outs.size(); ++i) {
    CHECK(max_abs_diff(outs[i], outs[0]) < 1e-5);
    CHECK(max_abs_diff(grads[i], grads[0]) < 1e-4);
  }
}

TEST_CASE("fr: FRLinear trains without forming W when reconstructing W would cost more", "[fr]") {
  // Full mask, 5 rows: per row the factored and spectral products cost more
  // than the dense weight (24*40), so eval uses W; a training step would also
  // pay the FFTW reconstruction and its adjoint, so it takes a product.
  const FROptions full = FROptions().dynamic(false).min_rate(1.0);
  std::mt19937 rng_a(31), rng_b(31);
  dct::FRLinear automatic(nn::LinearOptions(40, 24), full, rng_a);
  dct::FRLinear fftw(nn::LinearOptions(40, 24), FROptions(full).path(FRPath::fftw), rng_b);
  CHECK(automatic.never_forms_weight(5, true));
  CHECK_FALSE(automatic.never_forms_weight(5, false));
  CHECK_FALSE(automatic.never_forms_weight(1e6, true));  // amortised over many rows, W is cheaper again
  const Var<float> x(randn<float>({5, 40}, 32));
  const auto ya = automatic(x), yf = fftw(x);
  backward_projection(ya, 33);
  backward_projection(yf, 33);
  CHECK(max_abs_diff(ya.value(), yf.value()) < 1e-5);
  CHECK(max_abs_diff(automatic.weight.grad(), fftw.weight.grad()) < 1e-4);
  CHECK(max_abs_diff(automatic.bias.grad(), fftw.bias.grad()) < 1e-5);
}

TEST_CASE("fr: training forwards follow the schedule, eval forwards do not", "[fr]") {
  dct::FRLinear fr(nn::LinearOptions(20, 30), FROptions().min_rate(0.2).drop_rate(0.3).min_count(10));
  const std::int64_t n = 600;
  const Var<float> x(randn<float>({2, 20}, 31));
  CHECK(fr.kept() == n);
  for (std::int64_t t = 0; t < 8; ++t) {
    (void)fr(x);
    CHECK(fr.kept() == fr.schedule().kept_at(n, t));
    CHECK(fr.step() == t + 1);
  }
  fr.eval();
  const std::int64_t k = fr.kept();
  for (int i = 0; i < 3; ++i) (void)fr(x);
  CHECK(fr.kept() == k);
  CHECK(fr.step() == 8);
  // Resuming at step t sets the schedule's mask.
  fr.set_step(100);
  CHECK(fr.kept() == std::max<std::int64_t>(10, std::int64_t(std::floor(0.2 * n + 0.8 * n * std::pow(0.7, 100.0) + 1e-9 * n))));
  // A fixed-count layer, stepped by hand.
  dct::FRConv2d conv(nn::Conv2dOptions(4, 4, 3), FROptions().keep_count(20).drop_rate(0.5).auto_step(false));
  const Var<float> xi(randn<float>({1, 4, 5, 5}, 32));
  (void)conv(xi);
  CHECK(conv.kept() == 144);
  for (int i = 0; i < 40; ++i) conv.advance();
  CHECK(conv.kept() == 20);
}

TEST_CASE("fr: budget plans split by sqrt(N) or by ratio and refuse budgets out of reach", "[fr]") {
  // sqrt split of 776 over LeNet-5's layers: 776 * sqrt(N) / sum sqrt(N), floored,
  // the remainder to the largest (fc1). sum sqrt = 22.36 + 158.11 + 632.46 + 70.71.
  const std::vector<std::int64_t> lenet = {500, 25000, 400000, 5000};
  const auto k = dct::keep_split_sqrt(lenet, 776);
  CHECK(k == std::vector<std::int64_t>{19, 138, 555 + 2, 62});  // 19.6, 138.9, 555.4, 62.1
  CHECK(k[0] + k[1] + k[2] + k[3] == 776);
  // Each layer keeps at least 1 and at most N; the largest absorbs the rest.
  CHECK(dct::keep_split_sqrt({1, 10000}, 50) == std::vector<std::int64_t>{1, 49});
  CHECK(dct::keep_split_sqrt({4, 4}, 8) == std::vector<std::int64_t>{4, 4});
  CHECK_THROWS_WITH(dct::keep_split_sqrt(lenet, 3), Catch::Contains("less than one for each of 4 FR layers"));
  CHECK(dct::keep_per_ratio(lenet, 50) == std::vector<std::int64_t>{10, 500, 8000, 100});
  CHECK(dct::keep_per_ratio({30, 7}, 10) == std::vector<std::int64_t>{3, 1});
  CHECK_THROWS_WITH(dct::keep_per_ratio(lenet, 0.5), Catch::Contains("must be >= 1"));
  // kept + dense = weights / r: 430500 / 250 = 1722 stored, 862 of them dense.
  CHECK(dct::keep_budget_for_stored_ratio(430500, 862, 4, 250) == 860);
  CHECK_THROWS_WITH(dct::keep_budget_for_stored_ratio(430500, 862, 4, 500),
                    Catch::Contains("stored ratio 500 is out of reach") && Catch::Contains("at most 497"));
}

TEST_CASE("fr: drop_rate_for_floor reaches the floor on time and plan_truncation sets every layer", "[fr]") {
  const double d = dct::drop_rate_for_floor(5000);
  CHECK(std::pow(1.0 - d, 5000.0) == Approx(1e-4).epsilon(1e-9));
  CHECK_THROWS_WITH(dct::drop_rate_for_floor(0.5), Catch::Contains("at least one step"));
  nn::Sequential net;
  net.push_back(std::make_shared<dct::FRConv2d>(nn::Conv2dOptions(2, 4, 3)));
  net.push_back(std::make_shared<nn::Flatten>());
  net.push_back(std::make_shared<dct::FRLinear>(nn::LinearOptions(16, 3)));
  CHECK_THROWS_WITH(dct::plan_truncation(net, {10}, d), Catch::Contains("1 kept counts for 2 FR layers"));
  dct::plan_truncation(net, {10, 5}, dct::drop_rate_for_floor(20));
  const auto layers = dct::fr_layers(net);
  const Var<float> x(randn<float>({1, 2, 4, 4}, 33));
  for (int t = 0; t < 20; ++t) (void)net(x);
  // After 20 steps each mask is within 1e-4 N of its floor: exactly the floor.
  CHECK(layers[0].second->kept() == 10);
  CHECK(layers[1].second->kept() == 5);
  CHECK(layers[0].second->schedule().dynamic);
}

TEST_CASE("fr: eval mode reuses the cached weight and notices changed coefficients", "[fr]") {
  std::mt19937 rng(41);
  dct::FRConv2d conv(nn::Conv2dOptions(3, 5, 3), FROptions().dynamic(false).keep_count(40), rng);
  const Var<float> x(randn<float>({2, 3, 6, 6}, 42));
  const auto train_y = conv(x).value();
  conv.eval();
  const auto y1 = conv(x).value();
  const auto y2 = conv(x).value();
  CHECK(bit_equal(y1, y2));
  CHECK(max_abs_diff(y1, train_y) < 1e-6);
  // Change a kept coefficient (as an optimizer would) and a masked one.
  {
    NoGradGuard ng;
    conv.weight.value().data()[0] += 0.5f;                                  // the DC coefficient: kept
    conv.weight.value().data()[conv.weight.value().numel() - 1] += 100.0f;  // the last one: masked
  }
  nn::Conv2d dense(nn::Conv2dOptions(3, 5, 3), rng);
  {
    NoGradGuard ng;
    dense.weight.value().copy_from(conv.reconstructed_weight());
    dense.bias.value().copy_from(conv.bias.value());
  }
  const auto y3 = conv(x).value();
  CHECK(max_abs_diff(y3, y1) > 1e-3);
  CHECK(max_abs_diff(y3, dense(x).value()) < 1e-5);
  // Eval outputs still carry a gradient to C when asked.
  conv.zero_grad();
  backward_projection(conv(Var<float>(x.value())), 43);
  CHECK(max_abs(conv.weight.grad()) > 0);
}

TEST_CASE("fr: initial weights have PyTorch's default-init variance", "[fr]") {
  std::mt19937 rng(51);
  dct::FRLinear lin(nn::LinearOptions(400, 300), FROptions(), rng);
  dct::FRConv2d conv(nn::Conv2dOptions(32, 64, 3), FROptions(), rng);
  for (auto [w, fan_in] : {std::pair{lin.reconstructed_weight(), 400.0}, std::pair{conv.reconstructed_weight(), 288.0}}) {
    double s = 0, s2 = 0;
    const double bound = 1.0 / std::sqrt(fan_in);
    double worst = 0;
    for (float v : w.to_vector()) s += v, s2 += double(v) * v, worst = std::max(worst, double(std::abs(v)));
    const double n = double(w.numel()), var = s2 / n - (s / n) * (s / n);
    CHECK(var == Approx(bound * bound / 3.0).epsilon(0.03));  // U(-b, b): b^2 / 3
    CHECK(worst <= bound * (1 + 1e-5));
  }
}

TEST_CASE("fr: stored_numbers counts kept coefficients plus every dense number", "[fr]") {
  nn::Sequential model;
  auto c1 = model.push_back(std::make_shared<dct::FRConv2d>(nn::Conv2dOptions(3, 8, 3), FROptions().dynamic(false).keep_count(30)));
  model.push_back(std::make_shared<nn::BatchNorm2d>(8));
  auto l1 = model.push_back(std::make_shared<dct::FRLinear>(nn::LinearOptions(16, 12), FROptions().dynamic(false).keep_count(40)));
  model.push_back(std::make_shared<nn::Linear>(12, 5));
  const auto c = count_stored(model);
  CHECK(c.fr_kept == 70);
  CHECK(c.fr_coefficients == 8 * 3 * 9 + 16 * 12);
  // conv bias 8; BN weight, bias, running mean, running var (8 each) + num_batches_tracked 1;
  // FR linear bias 12; dense linear 12*5 + 5.
  CHECK(c.dense == 8 + 4 * 8 + 1 + 12 + 65);
  CHECK(stored_numbers(model) == 70 + 118);
  CHECK(c.dense_total() == 216 + 192 + 118);
  CHECK(c.dense_total() == model.parameter_count() + 8 + 8 + 1);  // + BN running stats and count
  // Folded BatchNorm (inference form): scale and shift, 2 numbers per channel.
  CHECK(count_stored(model, BatchNormStorage::folded).dense == 8 + 2 * 8 + 12 + 65);
  CHECK(stored_numbers(model, BatchNormStorage::folded) == 70 + 101);
  // Parameter names stay torchvision's.
  const auto keys = model.state_dict().keys();
  CHECK(keys[0] == "0.weight");
  CHECK(keys[1] == "0.bias");
  CHECK(dct::fr_layers(model).size() == 2);
  CHECK(dct::fr_layers(model)[1].first == "2");
  (void)c1, (void)l1;
}

namespace {
std::shared_ptr<nn::Sequential> small_fr_model(unsigned seed) {
  std::mt19937 rng(seed);
  auto m = std::make_shared<nn::Sequential>();
  m->push_back(std::make_shared<dct::FRConv2d>(nn::Conv2dOptions(3, 6, 3).padding(1),
                                               FROptions().min_rate(0.3).drop_rate(0.2).min_count(8), rng));
  m->push_back(std::make_shared<nn::BatchNorm2d>(6));
  m->push_back(std::make_shared<nn::Flatten>());
  m->push_back(std::make_shared<dct::FRLinear>(nn::LinearOptions(6 * 4 * 4, 10),
                                               FROptions().min_rate(0.1).drop_rate(0.2).min_count(16), rng));
  return m;
}
}  // namespace

TEST_CASE("fr: compressed save/load rebuilds identical weights (F32 bit-exact, F16 = rounded coefficients)", "[fr]") {
  auto a = small_fr_model(61);
  const Var<float> x(randn<float>({2, 3, 4, 4}, 62));
  for (int step = 0; step < 5; ++step) (void)(*a)(x);  // the schedule shrinks the masks; BN stats move
  a->eval();
  const auto ya = (*a)(x).value();
  const auto layers_a = dct::fr_layers(*a);
  REQUIRE(layers_a.size() == 2);
  REQUIRE(layers_a[0].second->kept() < layers_a[0].second->coefficient_count());

  const auto p32 = temp_file("f32.safetensors"), p16 = temp_file("f16.safetensors");
  save_compressed(*a, p32);
  save_compressed(*a, p16, CompressedPrecision::f16);
  {
    auto b = small_fr_model(99);  // different initial values
    load_compressed(*b, p32);
    b->eval();
    const auto layers_b = dct::fr_layers(*b);
    for (std::size_t i = 0; i < 2; ++i) {
      CHECK(layers_b[i].second->kept() == layers_a[i].second->kept());
      CHECK(layers_b[i].second->step() == layers_a[i].second->step());
      CHECK(bit_equal(layers_b[i].second->reconstructed_weight(), layers_a[i].second->reconstructed_weight()));
    }
    CHECK(bit_equal((*b)(x).value(), ya));
    CHECK(stored_numbers(*b) == stored_numbers(*a));
  }
  {
    auto b = small_fr_model(98);
    load_compressed(*b, p16);
    const auto layers_b = dct::fr_layers(*b);
    for (std::size_t i = 0; i < 2; ++i) {
      const auto* fa = layers_a[i].second;
      // Expected: the kept coefficients rounded to F16 and back.
      Tensor<float> kept = fa->mask().gather_kept(fa->coefficients().value());
      std::vector<f16> h(std::size_t(kept.numel()));
      to_f16(kept.data(), h.data(), h.size());
      to_float(h.data(), kept.data(), h.size());
      CHECK(bit_equal(layers_b[i].second->coefficients().value(), fa->mask().scatter_kept(kept)));
      const auto wa = fa->reconstructed_weight();
      CHECK(max_abs_diff(layers_b[i].second->reconstructed_weight(), wa) < 2e-3 * max_abs(wa) + 1e-6);
    }
  }
  // Honest size: the F16 file holds K coefficients, not N.
  CHECK(std::filesystem::file_size(p16) < std::filesystem::file_size(p32));
  {
    auto other = std::make_shared<nn::Sequential>();
    other->push_back(std::make_shared<dct::FRConv2d>(nn::Conv2dOptions(3, 7, 3)));
    CHECK_THROWS_AS(load_compressed(*other, p32), Error);
  }
  std::filesystem::remove(p32);
  std::filesystem::remove(p16);
}

TEST_CASE("fr: a compressed file with folded BatchNorm holds exactly the counted numbers and evaluates alike", "[fr]") {
  auto a = small_fr_model(63);
  const Var<float> x(randn<float>({3, 3, 4, 4}, 64));
  for (int step = 0; step < 6; ++step) (void)(*a)(x);  // masks shrink, BN statistics move off 0 and 1
  a->eval();
  const auto ya = (*a)(x).value();
  const auto count_numbers = [](const std::filesystem::path& p) {
    const SafetensorsFile f = SafetensorsFile::open(p);
    std::int64_t n = 0;
    for (const auto& name : f.names()) n += numel_of(f.info(name).shape);
    return n;
  };
  const auto full = temp_file("bn_full.safetensors"), folded = temp_file("bn_folded.safetensors");
  save_compressed(*a, full);
  save_compressed(*a, folded, CompressedPrecision::f32, {}, BatchNormStorage::folded);
  CHECK(count_numbers(full) == stored_numbers(*a));
  CHECK(count_numbers(folded) == stored_numbers(*a, BatchNormStorage::folded));
  CHECK(stored_numbers(*a) - stored_numbers(*a, BatchNormStorage::folded) == 2 * 6 + 1);
  CHECK_FALSE(SafetensorsFile::open(folded).contains("1.running_mean"));

  auto b = small_fr_model(97);
  load_compressed(*b, folded);
  b->eval();
  const auto yb = (*b)(x).value();
  // Float rounding of scale/shift only: relative to the output scale.
  CHECK(max_abs_diff(yb, ya) <= 1e-5 * (1 + max_abs(ya)));
  auto* bn = dynamic_cast<nn::BatchNorm2d*>(b->named_children()[1].second.get());
  REQUIRE(bn != nullptr);
  CHECK(bn->running_mean.data()[0] == 0.0f);
  CHECK(bn->running_var.data()[0] == float(1.0 - bn->options().eps()));
  // Saving the loaded model in either form keeps the same eval function.
  CHECK(stored_numbers(*b, BatchNormStorage::folded) == stored_numbers(*a, BatchNormStorage::folded));
  std::filesystem::remove(full);
  std::filesystem::remove(folded);
}

TEST_CASE("fr: post-training compression keeps K coefficients; the error is the dropped energy", "[fr]") {
  std::mt19937 rng(71);
  nn::Sequential dense = small_conv_net(rng);
  nn::Sequential fr = small_conv_net_fr();
  dense.eval();
  fr.eval();
  const Var<float> x(randn<float>({2, 4, 5, 5}, 72));

  compress_dense(fr, dense, PostTrainingOptions{1.0, 0, -1});  // everything kept: the same network
  CHECK(max_abs_diff(fr(x).value(), dense(x).value()) < 1e-5);

  compress_dense(fr, dense, PostTrainingOptions{0.25, 0, -1});
  const auto layers = dct::fr_layers(fr);
  CHECK(layers[0].second->kept() == 72);   // floor(0.25 * 288)
  CHECK(layers[1].second->kept() == 180);  // floor(0.25 * 720)
  // Orthonormal DCT: ||W - W_K||^2 = sum of the dropped coefficients squared.
  const auto w = std::dynamic_pointer_cast<nn::Linear>(dense.named_children()[2].second)->weight.value();
  const auto c = dct::dct(cast<double>(w));
  const auto m = layers[1].second->mask().to_tensor<double>();
  double dropped = 0, err = 0;
  for (std::int64_t i = 0; i < c.numel(); ++i) dropped += (1 - m.data()[i]) * c.data()[i] * c.data()[i];
  const auto wk = layers[1].second->reconstructed_weight();
  for (std::int64_t i = 0; i < w.numel(); ++i) err += std::pow(double(w.data()[i]) - wk.data()[i], 2);
  CHECK(err == Approx(dropped).epsilon(1e-4));
  // Fine-tuning keeps the post-training mask (no schedule).
  fr.train();
  (void)fr(x);
  CHECK(layers[1].second->kept() == 180);
  CHECK(stored_numbers(fr) == 72 + 8 + 180 + 10);
}

TEST_CASE("fr: a warm start loads DCT(W) and leaves the dynamic schedule to truncate", "[fr]") {
  std::mt19937 rng(81);
  nn::Sequential dense = small_conv_net(rng);
  nn::Sequential fr = small_conv_net_fr(FROptions().dynamic(true).keep_count(20).drop_rate(0.5).min_count(0));
  const Var<float> x(randn<float>({2, 4, 5, 5}, 82));
  const auto layers = dct::fr_layers(fr);

  load_dense_into_fr(fr, dense.state_dict());
  for (const auto& [name, l] : layers) {
    CHECK(l->schedule().dynamic);  // the schedule is the caller's, untouched
    CHECK(l->kept() == l->coefficient_count());
  }
  dense.eval();
  fr.eval();
  CHECK(max_abs_diff(fr(x).value(), dense(x).value()) < 1e-5);  // full masks: the dense network
  fr.train();
  (void)fr(x);
  (void)fr(x);
  CHECK(layers[0].second->kept() < layers[0].second->coefficient_count());  // training truncates as usual
  // A dense state dict that does not fit is refused, naming the tensor.
  nn::Sequential other;
  other.push_back(std::make_shared<nn::Conv2d>(nn::Conv2dOptions(4, 8, 5), rng));
  other.push_back(std::make_shared<nn::Flatten>());
  other.push_back(std::make_shared<nn::Linear>(8 * 3 * 3, 10, rng));
  CHECK_THROWS_WITH(load_dense_into_fr(fr, other.state_dict()), Catch::Contains("'0.weight'"));
}

}  // namespace freqcap_test_fr
