// Optimizers, learning-rate schedules and gradient clipping: SGD / Adam /
// AdamW trajectories against torch.optim (tests/fixtures/nn/optim.safetensors
// from tools/nn_reference.py, 1e-6 relative), optimizer state save/restore,
// closed-form schedules, clip_grad_norm_ against its formula, and the
// exponential moving average of weights against its recurrence.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <functional>
#include <memory>
#include <numbers>
#include <string>

#include "freqcap/dct/fr_linear.hpp"
#include "freqcap/io/state_dict.hpp"
#include "freqcap/nn/nn.hpp"

#ifndef FREQCAP_SOURCE_DIR
#define FREQCAP_SOURCE_DIR "."
#endif

namespace freqcap_test_optim {  // own scope: the unity build joins test files

using namespace freqcap;
using namespace freqcap::nn;
namespace fs = std::filesystem;

namespace {

const SafetensorsFile& optim_fixture() {
  static const SafetensorsFile f =
      SafetensorsFile::open(fs::path(FREQCAP_SOURCE_DIR) / "tests" / "fixtures" / "nn" / "optim.safetensors");
  return f;
}

using MakeOpt = std::function<std::unique_ptr<Optimizer>(std::vector<Var<float>>)>;

const std::vector<std::pair<std::string, MakeOpt>>& optimizers() {
  static const std::vector<std::pair<std::string, MakeOpt>> v = {
      {"sgd", [](auto ps) { return std::make_unique<SGD>(ps, SGDOptions(0.1)); }},
      {"sgd_momentum",
       [](auto ps) {
         return std::make_unique<SGD>(ps, SGDOptions(0.05).momentum(0.9).dampening(0.1).weight_decay(0.01));
       }},
      {"sgd_nesterov",
       [](auto ps) {
         return std::make_unique<SGD>(ps, SGDOptions(0.05).momentum(0.8).weight_decay(0.02).nesterov(true));
       }},
      {"adam", [](auto ps) { return std::make_unique<Adam>(ps, AdamOptions(0.01)); }},
      {"adam_l2",
       [](auto ps) {
         return std::make_unique<Adam>(ps, AdamOptions(0.02).betas(0.8, 0.95).eps(1e-6).weight_decay(0.1));
       }},
      {"adamw",
       [](auto ps) {
         return std::make_unique<AdamW>(ps, AdamOptions(0.02).betas(0.9, 0.98).eps(1e-8).weight_decay(0.1));
       }},
  };
  return v;
}

std::vector<Var<float>> fresh_params() {
  return {Var<float>(optim_fixture().get<float>("p0"), true), Var<float>(optim_fixture().get<float>("p1"), true)};
}

void set_step_grads(std::vector<Var<float>>& ps, int t) {
  for (std::size_t i = 0; i < ps.size(); ++i)
    ps[i].set_grad(optim_fixture().get<float>("grad." + std::to_string(t) + ".p" + std::to_string(i)));
}

// Largest |a - b| / max(|b|, 0.01): relative, with a floor for entries that
// cancel to near zero (there float rounding of the ~0.1-sized operands, in
// torch's FMA-vectorised kernels and ours, is all that differs).
double rel_err(const Tensor<float>& a, const Tensor<float>& b) {
  REQUIRE(a.shape() == b.shape());
  const auto va = a.to_vector(), vb = b.to_vector();
  double worst = 0;
  for (std::size_t i = 0; i < va.size(); ++i)
    worst = std::max(worst, std::abs(double(va[i]) - vb[i]) / std::max(std::abs(double(vb[i])), 1e-2));
  return worst;
}

}  // namespace

TEST_CASE("SGD, Adam and AdamW follow torch.optim's trajectories", "[optim]") {
  for (const auto& [name, make] : optimizers()) {
    SECTION(name) {
      auto ps = fresh_params();
      auto opt = make(ps);
      for (int t = 1; t <= 5; ++t) {
        set_step_grads(ps, t);
        opt->step();
        for (int i = 0; i < 2; ++i) {
          const std::string key = name + "." + std::to_string(t) + ".p" + std::to_string(i);
          INFO(key);
          CHECK(rel_err(ps[i].value(), optim_fixture().get<float>(key)) <= 1e-6);
        }
      }
    }
  }
}

TEST_CASE("optimizer state saved mid-run resumes the same trajectory", "[optim]") {
  const fs::path path = fs::temp_directory_path() / "freqcap_test_optim_state.safetensors";
  for (const auto& [name, make] : optimizers()) {
    SECTION(name) {
      auto ps = fresh_params();
      auto opt = make(ps);
      for (int t = 1; t <= 3; ++t) {
        set_step_grads(ps, t);
        opt->step();
      }
      save_state_dict(path, opt->state_dict());
      // A new optimizer on copies of the current parameters, restored from disk.
      std::vector<Var<float>> qs = {Var<float>(ps[0].value().clone(), true), Var<float>(ps[1].value().clone(), true)};
      auto resumed = make(qs);
      resumed->load_state_dict(read_state_dict(path));
      for (int t = 4; t <= 5; ++t) {
        set_step_grads(ps, t);
        set_step_grads(qs, t);
        opt->step();
        resumed->step();
      }
      for (int i = 0; i < 2; ++i) {
        CHECK(qs[i].value().to_vector() == ps[i].value().to_vector());
        const std::string key = name + ".5.p" + std::to_string(i);
        CHECK(rel_err(qs[i].value(), optim_fixture().get<float>(key)) <= 1e-6);
      }
    }
  }
  fs::remove(path);
}

TEST_CASE("optimizer state dicts name their fields and reject bad input", "[optim]") {
  auto ps = fresh_params();
  Adam adam(ps);
  CHECK(adam.state_dict().empty());  // no state before the first step
  set_step_grads(ps, 1);
  adam.step();
  const TensorDict s = adam.state_dict();
  CHECK(s.keys() == std::vector<std::string>{"0.step", "0.exp_avg", "0.exp_avg_sq", "1.step", "1.exp_avg",
                                             "1.exp_avg_sq"});
  CHECK(s.get<std::int64_t>("1.step").item() == 1);

  TensorDict bad;
  bad.insert("0.step", Tensor<std::int64_t>::scalar(3));
  bad.insert("0.exp_avg", Tensor<float>(Shape{4, 3}));  // wrong shape; exp_avg_sq missing
  bad.insert("7.exp_avg", Tensor<float>(Shape{5}));     // no parameter 7
  Adam other(fresh_params());
  try {
    other.load_state_dict(bad);
    FAIL("accepted a bad optimizer state");
  } catch (const Error& e) {
    const std::string msg = e.what();
    INFO(msg);
    CHECK(msg.find("'0.exp_avg': expected [3, 4], got [4, 3]") != std::string::npos);
    CHECK(msg.find("missing '0.exp_avg_sq'") != std::string::npos);
    CHECK(msg.find("unexpected '7.exp_avg'") != std::string::npos);
  }
  CHECK(other.state_dict().empty());

  // Parameters without a gradient are left alone; zero_grad drops gradients.
  auto qs = fresh_params();
  SGD sgd(qs, SGDOptions(0.1));
  qs[0].set_grad(Tensor<float>(qs[0].shape(), 1.0f));
  const auto p1 = qs[1].value().to_vector();
  sgd.step();
  CHECK(qs[1].value().to_vector() == p1);
  sgd.zero_grad();
  CHECK(!qs[0].has_grad());
  CHECK_THROWS_AS(SGD(qs, SGDOptions(0.1).nesterov(true)), Error);
}

TEST_CASE("learning-rate schedules follow their closed forms", "[optim]") {
  ConstantLr c(0.3);
  CHECK(c(0) == 0.3);
  CHECK(c(100000) == 0.3);

  WarmupConstantLr w(1e-3, 10);
  CHECK(w(0) == Approx(1e-4));
  CHECK(w(4) == Approx(5e-4));
  CHECK(w(9) == Approx(1e-3));
  CHECK(w(500) == Approx(1e-3));

  const double base = 2e-3, floor = 1e-5;
  WarmupCosineLr cos(base, 100, 1100, floor);
  CHECK(cos(0) == Approx(base / 100));
  CHECK(cos(49) == Approx(base * 0.5));
  CHECK(cos(100) == Approx(base));
  CHECK(cos(600) == Approx(floor + (base - floor) * 0.5));  // halfway: cos(pi / 2) = 0
  CHECK(cos(350) == Approx(floor + (base - floor) * 0.5 * (1 + std::cos(std::numbers::pi * 0.25))));
  CHECK(cos(1100) == Approx(floor));
  CHECK(cos(5000) == Approx(floor));
  for (std::int64_t s = 100; s < 1100; ++s) CHECK(cos(s + 1) <= cos(s));

  auto ps = fresh_params();
  SGD sgd(ps, SGDOptions(1.0));
  const double set = apply_lr(sgd, cos, 600);
  CHECK(set == cos(600));
  CHECK(sgd.lr() == set);
  CHECK_THROWS_AS(WarmupCosineLr(1.0, 10, 5), Error);
}

TEST_CASE("clip_grad_norm_ scales gradients to the global L2 norm", "[optim]") {
  auto ps = fresh_params();
  set_step_grads(ps, 2);
  double sq = 0;
  for (auto& p : ps)
    for (float g : p.grad().to_vector()) sq += double(g) * g;
  const double total = std::sqrt(sq);
  const auto g0 = ps[0].grad().to_vector();
  const Tensor<float> shared = ps[1].grad();  // a gradient tensor someone else holds

  // A large max_norm changes nothing.
  CHECK(clip_grad_norm_(ps, 1e9) == Approx(total).epsilon(1e-12));
  CHECK(ps[0].grad().to_vector() == g0);

  const double max_norm = 0.5;
  CHECK(clip_grad_norm_(ps, max_norm) == Approx(total).epsilon(1e-12));
  const double coef = max_norm / (total + 1e-6);
  const auto c0 = ps[0].grad().to_vector();
  for (std::size_t i = 0; i < c0.size(); ++i) CHECK(c0[i] == Approx(g0[i] * coef).epsilon(1e-6));
  CHECK(grad_norm(ps) == Approx(max_norm).epsilon(1e-5));
  // Gradients are replaced, never written in place.
  CHECK(shared.to_vector() == optim_fixture().get<float>("grad.2.p1").to_vector());
  // Parameters without gradients count as zero.
  std::vector<Var<float>> none = {Var<float>(Tensor<float>(Shape{3}), true)};
  CHECK(clip_grad_norm_(none, 1.0) == 0.0);
}

namespace {
// A parameter, a float buffer and an int64 buffer.
struct EmaProbe : Module {
  EmaProbe() : Module("EmaProbe") {
    w = register_parameter("w", Tensor<float>::from_vector(Shape{3}, {1.0f, -2.0f, 3.0f}));
    stat = register_buffer("stat", Tensor<float>::from_vector(Shape{2}, {0.5f, 4.0f}));
    count = register_buffer("count", Tensor<std::int64_t>(Shape{1}, 7));
  }
  Var<float> w;
  Tensor<float> stat;
  Tensor<std::int64_t> count;
};
}  // namespace

TEST_CASE("ExponentialMovingAverage follows its recurrence and swaps in place", "[optim]") {
  EmaProbe m;
  const double decay = 0.9;
  ExponentialMovingAverage ema(m, decay);
  CHECK_THROWS_AS(ema.swap(), Error);  // nothing averaged yet
  CHECK_THROWS_AS(ExponentialMovingAverage(m, 1.0), Error);
  CHECK_THROWS_AS(ExponentialMovingAverage(m, -0.1), Error);

  // The reference: the same recurrence in double, starting from a copy.
  std::vector<double> ref_w = {1, -2, 3}, ref_s = {0.5, 4};
  ema.update();
  for (int t = 1; t <= 6; ++t) {
    float* w = m.w.value().data();
    for (int i = 0; i < 3; ++i) w[i] += 0.25f * float(t) * float(i + 1);
    m.stat.data()[0] *= 1.5f;
    m.stat.data()[1] -= 1.0f;
    ++m.count.data()[0];
    ema.update();
    for (int i = 0; i < 3; ++i) ref_w[std::size_t(i)] += (1 - decay) * (w[i] - ref_w[std::size_t(i)]);
    for (int i = 0; i < 2; ++i) ref_s[std::size_t(i)] += (1 - decay) * (m.stat.data()[i] - ref_s[std::size_t(i)]);
  }
  CHECK(ema.updates() == 7);
  const auto live_w = m.w.value().to_vector(), live_s = m.stat.to_vector();

  ema.swap();
  for (int i = 0; i < 3; ++i) CHECK(m.w.value().data()[i] == Approx(ref_w[std::size_t(i)]).epsilon(1e-6));
  for (int i = 0; i < 2; ++i) CHECK(m.stat.data()[i] == Approx(ref_s[std::size_t(i)]).epsilon(1e-6));
  CHECK(m.count.data()[0] == 13);  // int64 buffers are not averaged
  ema.swap();  // and back, bit for bit
  CHECK(m.w.value().to_vector() == live_w);
  CHECK(m.stat.to_vector() == live_s);
}

TEST_CASE("an FR layer scores the averaged coefficients after a swap", "[optim]") {
  std::mt19937 rng_a(3), rng_b(3);
  const auto fr = dct::FROptions().dynamic(false).keep_count(20);
  dct::FRLinear a(12, 6, fr, rng_a), b(12, 6, fr, rng_b);
  a.eval();
  b.eval();
  const Var<float> x(Tensor<float>::from_vector(Shape{2, 12}, std::vector<float>(24, 0.5f)));
  ExponentialMovingAverage ema(a, 0.5);
  ema.update();
  const Tensor<float> before = a.forward(x).value().clone();  // fills a's eval cache
  Tensor<float> c = a.coefficients().value();
  for (std::int64_t i = 0; i < c.numel(); ++i) c.data()[i] += 1.0f;
  ema.update();  // average: the first coefficients + 0.5
  Tensor<float> cb = b.coefficients().value();
  for (std::int64_t i = 0; i < cb.numel(); ++i) cb.data()[i] += 0.5f;
  ema.swap();
  const Tensor<float> averaged = a.forward(x).value();
  CHECK(averaged.to_vector() != before.to_vector());
  const auto want = b.forward(x).value().to_vector(), got = averaged.to_vector();
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(want[i]).margin(1e-6));
}

TEST_CASE("average_weights sets a model to its members' mean, itself included", "[optim]") {
  EmaProbe a, b, c;
  for (int i = 0; i < 3; ++i) {
    b.w.value().data()[i] = 10.0f * float(i + 1);
    c.w.value().data()[i] = -0.5f * float(i);
  }
  b.stat.data()[1] = -8.0f;
  c.stat.data()[0] = 2.0f;
  b.count.data()[0] = 100;
  const std::vector<float> wa = a.w.value().to_vector(), wb = b.w.value().to_vector(), wc = c.w.value().to_vector();
  const std::vector<float> sa = a.stat.to_vector(), sb = b.stat.to_vector(), sc = c.stat.to_vector();
  average_weights(a, {&a, &b, &c});  // `into` is a member: read before written
  for (std::size_t i = 0; i < 3; ++i)
    CHECK(a.w.value().data()[i] == Approx((double(wa[i]) + wb[i] + wc[i]) / 3).epsilon(1e-6));
  for (std::size_t i = 0; i < 2; ++i)
    CHECK(a.stat.data()[i] == Approx((double(sa[i]) + sb[i] + sc[i]) / 3).epsilon(1e-6));
  CHECK(a.count.data()[0] == 7);  // int64 buffers are left alone
  CHECK(b.w.value().to_vector() == wb);  // members are read only

  average_weights(c, {&b});  // one member: a copy
  CHECK(c.w.value().to_vector() == wb);
  CHECK_THROWS_AS(average_weights(a, {}), Error);
  Linear other(3, 2);
  CHECK_THROWS_WITH(average_weights(a, {&a, &other}), Catch::Contains("member 1"));
}

TEST_CASE("an averaged FR layer computes with the mean of its members' coefficients", "[optim]") {
  std::mt19937 rng_a(3), rng_b(4), rng_c(3);
  const auto fr = dct::FROptions().dynamic(false).keep_count(20);
  dct::FRLinear a(12, 6, fr, rng_a), b(12, 6, fr, rng_b), want(12, 6, fr, rng_c);
  for (auto* m : {&a, &b, &want}) m->eval();
  const Var<float> x(Tensor<float>::from_vector(Shape{2, 12}, std::vector<float>(24, 0.5f)));
  const Tensor<float> before = a.forward(x).value().clone();  // fills a's eval cache
  const auto ca = a.coefficients().value().to_vector(), cb = b.coefficients().value().to_vector();
  const auto ba = a.bias.value().to_vector(), bb = b.bias.value().to_vector();
  Tensor<float> cw = want.coefficients().value(), bw = want.bias.value();  // share storage
  for (std::size_t i = 0; i < ca.size(); ++i) cw.data()[i] = 0.5f * (ca[i] + cb[i]);
  for (std::size_t i = 0; i < ba.size(); ++i) bw.data()[i] = 0.5f * (ba[i] + bb[i]);
  average_weights(a, {&a, &b});
  const auto got = a.forward(x).value().to_vector(), expect = want.forward(x).value().to_vector();
  CHECK(got != before.to_vector());
  REQUIRE(got.size() == expect.size());
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(expect[i]).margin(1e-6));
}

}  // namespace freqcap_test_optim
