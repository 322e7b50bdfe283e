// nn/ modules: PyTorch naming of parameters and buffers, state-dict loading
// (all problems reported at once, nothing modified on failure), safetensors
// round trips, initialiser statistics, train/eval behaviour, and forward
// (and parameter-gradient) parity with PyTorch through
// tests/fixtures/nn/modules.safetensors (tools/nn_reference.py).
#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>

#include "freqcap/autograd/ops_loss.hpp"
#include "freqcap/io/state_dict.hpp"
#include "freqcap/nn/nn.hpp"

#ifndef FREQCAP_SOURCE_DIR
#define FREQCAP_SOURCE_DIR "."
#endif

namespace freqcap_test_nn {  // own scope: the unity build joins test files

using namespace freqcap;
using namespace freqcap::nn;
namespace fs = std::filesystem;

namespace {

const SafetensorsFile& fixture() {
  static const SafetensorsFile f =
      SafetensorsFile::open(fs::path(FREQCAP_SOURCE_DIR) / "tests" / "fixtures" / "nn" / "modules.safetensors");
  return f;
}

// The state dict stored under "<c>.state." in the fixture.
StateDict fixture_state(const std::string& c, const std::string& tag = "state") {
  StateDict d;
  const std::string prefix = c + "." + tag + ".";
  for (const auto& n : fixture().names()) {
    if (n.rfind(prefix, 0) != 0) continue;
    if (is_float_dtype(fixture().info(n).dtype)) d.insert(n.substr(prefix.size()), fixture().get<float>(n));
    else d.insert(n.substr(prefix.size()), fixture().get<std::int64_t>(n));
  }
  return d;
}

Tensor<float> fx(const std::string& name) { return fixture().get<float>(name); }

// |a - b| <= tol * (1 + |b|) everywhere; the message names the worst element.
void check_close(const Tensor<float>& a, const Tensor<float>& b, double tol, const std::string& what) {
  INFO(what << ": shapes " << shape_str(a.shape()) << " vs " << shape_str(b.shape()));
  REQUIRE(a.shape() == b.shape());
  const auto va = a.to_vector(), vb = b.to_vector();
  double worst = 0;
  std::size_t at = 0;
  for (std::size_t i = 0; i < va.size(); ++i) {
    const double e = std::abs(double(va[i]) - double(vb[i])) / (1.0 + std::abs(double(vb[i])));
    if (e > worst) worst = e, at = i;
  }
  INFO("worst relative error " << worst << " at element " << at);
  CHECK(worst <= tol);
}

// Fills every parameter and buffer with distinct values from a seed.
void scramble(Module& m, unsigned seed) {
  std::mt19937 rng(seed);
  for (auto& [n, p] : m.named_parameters()) init::uniform_(p.value(), -1, 1, rng);
  for (auto& [n, b] : m.named_buffers())
    if (auto* t = std::get_if<Tensor<float>>(&b)) init::uniform_(*t, 0.5, 1.5, rng);
}

std::shared_ptr<Sequential> conv_bn_relu_linear() {
  auto seq = std::make_shared<Sequential>();
  seq->emplace_back<Conv2d>(Conv2dOptions(3, 4, 3).padding(1));
  seq->emplace_back<BatchNorm2d>(4);
  seq->emplace_back<ReLU>();
  seq->emplace_back<Flatten>();
  seq->emplace_back<Linear>(4 * 4 * 4, 5);
  return seq;
}

}  // namespace

TEST_CASE("nested modules name parameters and buffers as PyTorch does", "[nn]") {
  auto seq = conv_bn_relu_linear();
  std::vector<std::string> params;
  for (auto& [n, p] : seq->named_parameters()) params.push_back(n);
  CHECK(params == std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "4.weight", "4.bias"});
  std::vector<std::string> buffers;
  for (auto& [n, b] : seq->named_buffers()) buffers.push_back(n);
  CHECK(buffers == std::vector<std::string>{"1.running_mean", "1.running_var", "1.num_batches_tracked"});
  // The state dict has PyTorch's keys in PyTorch's order (fixture written by torch).
  CHECK(seq->state_dict().keys() == fixture_state("seq").keys());
  CHECK(is_int64(seq->state_dict().at("1.num_batches_tracked")));
  CHECK(seq->parameter_count() == 4 * 3 * 9 + 4 + 4 + 4 + 64 * 5 + 5);
  CHECK(seq->children().size() == 5);

  // A module with its own parameter and a child: own entries come first.
  struct Block : Module {
    Block() : Module("Block") {
      scale = register_parameter("scale", Tensor<float>(Shape{2}, 1.0f));
      proj = register_module("proj", std::make_shared<Linear>(LinearOptions(2, 3).bias(false)));
      register_buffer("steps", Tensor<std::int64_t>(Shape{}, 0));
    }
    Var<float> scale;
    std::shared_ptr<Linear> proj;
  } block;
  CHECK(block.state_dict().keys() == std::vector<std::string>{"scale", "steps", "proj.weight"});
  Sequential outer;
  outer.push_back(seq);
  std::vector<std::string> mods;
  for (auto& [n, m] : outer.named_modules()) mods.push_back(n + ":" + m->type_name());
  CHECK(mods == std::vector<std::string>{"0:Sequential", "0.0:Conv2d", "0.1:BatchNorm2d", "0.2:ReLU", "0.3:Flatten",
                                         "0.4:Linear"});
  CHECK_THROWS_AS(block.register_parameter("scale", Tensor<float>(Shape{1})), Error);
  CHECK_THROWS_AS(block.register_parameter("a.b", Tensor<float>(Shape{1})), Error);
}

TEST_CASE("load_state_dict reports missing, unexpected and mis-shaped tensors together", "[nn]") {
  auto seq = conv_bn_relu_linear();
  scramble(*seq, 1);
  const StateDict before = [&] {
    StateDict s;
    for (auto& [n, t] : seq->state_dict()) s.insert(n, clone(t));
    return s;
  }();
  StateDict bad;
  for (auto& [n, t] : before) {
    if (n == "1.running_var") continue;                                  // missing
    if (n == "0.weight") bad.insert(n, Tensor<float>(Shape{4, 3, 5, 5}));  // mis-shaped
    else bad.insert(n, Tensor<float>(shape_of(t), 9.0f));               // valid, would change values
  }
  bad.insert("2.weight", Tensor<float>(Shape{3}));  // unexpected
  try {
    seq->load_state_dict(bad);
    FAIL("load_state_dict accepted a bad dict");
  } catch (const Error& e) {
    const std::string msg = e.what();
    INFO(msg);
    CHECK(msg.find("missing") != std::string::npos);
    CHECK(msg.find("'1.running_var'") != std::string::npos);
    CHECK(msg.find("unexpected") != std::string::npos);
    CHECK(msg.find("'2.weight'") != std::string::npos);
    CHECK(msg.find("'0.weight': expected [4, 3, 3, 3], got [4, 3, 5, 5]") != std::string::npos);
  }
  // Nothing was modified.
  for (auto& [n, t] : seq->state_dict()) {
    if (is_int64(t)) CHECK(std::get<Tensor<std::int64_t>>(t).item() == before.get<std::int64_t>(n).item());
    else CHECK(max_abs_diff(std::get<Tensor<float>>(t), before.get<float>(n)) == 0.0);
  }
  // Non-strict loading ignores missing/unexpected keys but still refuses bad shapes.
  CHECK_THROWS_AS(seq->load_state_dict(bad, false), Error);
  StateDict partial;
  partial.insert("4.bias", Tensor<float>(Shape{5}, 3.0f));
  partial.insert("extra", Tensor<float>(Shape{1}));
  seq->load_state_dict(partial, false);
  CHECK(seq->state_dict().get<float>("4.bias").to_vector() == std::vector<float>(5, 3.0f));
}

TEST_CASE("state dicts round-trip through safetensors bit for bit, int64 buffers as I64", "[nn]") {
  auto a = conv_bn_relu_linear();
  scramble(*a, 2);
  a->at<BatchNorm2d>(1)->num_batches_tracked.data()[0] = 12345678901LL;
  const fs::path path = fs::temp_directory_path() / "freqcap_test_nn_state.safetensors";
  save_state_dict(path, *a, {{"arch", "test"}});
  {
    const auto file = SafetensorsFile::open(path);
    CHECK(file.info("1.num_batches_tracked").dtype == SafetensorsDtype::I64);
    CHECK(file.info("0.weight").dtype == SafetensorsDtype::F32);
    CHECK(file.metadata().at("arch") == "test");
  }
  auto b = conv_bn_relu_linear();
  scramble(*b, 3);
  load_state_dict(*b, path);
  const StateDict sa = a->state_dict(), sb = b->state_dict();
  REQUIRE(sa.keys() == sb.keys());
  for (auto& [n, t] : sa) {
    if (is_int64(t)) {
      CHECK(sb.get<std::int64_t>(n).item() == 12345678901LL);
    } else {
      const auto va = std::get<Tensor<float>>(t).to_vector(), vb = sb.get<float>(n).to_vector();
      CHECK(std::memcmp(va.data(), vb.data(), va.size() * sizeof(float)) == 0);
    }
  }
  // The handles a module keeps see loaded values (storage is written in place).
  CHECK(b->at<Linear>(4)->weight.value().to_vector() == sa.get<float>("4.weight").to_vector());
  // A file for another architecture fails naming the file and the tensors.
  Linear other(3, 2);
  try {
    load_state_dict(other, path);
    FAIL("loaded a Sequential's file into a Linear");
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find(path.string()) != std::string::npos);
    CHECK(msg.find("'weight'") != std::string::npos);
    CHECK(msg.find("'0.weight'") != std::string::npos);
  }
  fs::remove(path);
}

TEST_CASE("default initialisers follow PyTorch's bounds and statistics", "[nn]") {
  manual_seed(42);
  Linear lin(400, 300);
  const double bound = 1.0 / std::sqrt(400.0);
  auto stats = [](const Tensor<float>& t) {
    double s = 0, s2 = 0, mx = 0;
    for (float v : t.to_vector()) s += v, s2 += double(v) * v, mx = std::max(mx, std::abs(double(v)));
    const double n = double(t.numel());
    return std::array<double, 3>{s / n, s2 / n - (s / n) * (s / n), mx};
  };
  auto w = stats(lin.weight.value());
  CHECK(w[2] <= bound);
  CHECK(w[2] > 0.99 * bound);
  CHECK(std::abs(w[0]) < 0.01 * bound);
  CHECK(w[1] == Approx(bound * bound / 3).epsilon(0.02));  // U(-b, b) has variance b^2 / 3
  auto b = stats(lin.bias.value());
  CHECK(b[2] <= bound);

  Conv2d conv(Conv2dOptions(64, 128, 3).groups(4));
  const double cb = 1.0 / std::sqrt(16.0 * 9.0);  // fan_in = in/groups * kh * kw
  auto c = stats(conv.weight.value());
  CHECK(conv.weight.shape() == Shape{128, 16, 3, 3});
  CHECK(c[2] <= cb);
  CHECK(c[2] > 0.99 * cb);
  CHECK(c[1] == Approx(cb * cb / 3).epsilon(0.03));
  CHECK(stats(conv.bias.value())[2] <= cb);

  Tensor<float> k(Shape{256, 128, 3, 3});
  std::mt19937 rng(5);
  init::kaiming_normal_(k, 0.0, init::FanMode::fan_out, init::Nonlinearity::relu, rng);
  auto kn = stats(k);
  CHECK(std::abs(kn[0]) < 0.002);
  CHECK(kn[1] == Approx(2.0 / (256 * 9)).epsilon(0.02));
  Tensor<float> x(Shape{300, 500});
  init::xavier_uniform_(x, 1.0, rng);
  auto xs = stats(x);
  const double xb = std::sqrt(6.0 / 800.0);
  CHECK(xs[2] <= xb);
  CHECK(xs[1] == Approx(xb * xb / 3).epsilon(0.02));

  BatchNorm2d bn(8);
  CHECK(bn.weight.value().to_vector() == std::vector<float>(8, 1.0f));
  CHECK(bn.bias.value().to_vector() == std::vector<float>(8, 0.0f));
  CHECK(bn.running_mean.to_vector() == std::vector<float>(8, 0.0f));
  CHECK(bn.running_var.to_vector() == std::vector<float>(8, 1.0f));
  LayerNorm ln(6);
  CHECK(ln.weight.value().to_vector() == std::vector<float>(6, 1.0f));

  Embedding emb(EmbeddingOptions(1000, 64).padding_idx(-1));
  CHECK(*emb.options().padding_idx() == 999);
  auto e = stats(emb.weight.value().slice(0, 0, 999));
  CHECK(std::abs(e[0]) < 0.02);
  CHECK(e[1] == Approx(1.0).epsilon(0.03));
  CHECK(emb.weight.value().select(0, 999).to_vector() == std::vector<float>(64, 0.0f));

  // The global generator is reproducible.
  manual_seed(7);
  Linear l1(5, 4);
  manual_seed(7);
  Linear l2(5, 4);
  CHECK(l1.weight.value().to_vector() == l2.weight.value().to_vector());
}

TEST_CASE("train and eval switch BatchNorm statistics and Dropout recursively", "[nn]") {
  auto seq = std::make_shared<Sequential>();
  auto bn = seq->emplace_back<BatchNorm2d>(2);
  auto drop = seq->emplace_back<Dropout>(0.5);
  CHECK(bn->is_training());
  std::mt19937 rng(3);
  Tensor<float> xt(Shape{4, 2, 3, 3});
  init::normal_(xt, 2.0, 3.0, rng);
  const Var<float> x(xt);

  seq->eval();
  CHECK(!bn->is_training());
  CHECK(!drop->is_training());
  // Eval: running stats (0, 1) and identity dropout: y = x / sqrt(1 + eps).
  const Tensor<float> y_eval = seq->forward(x).value();
  check_close(y_eval, xt * float(1.0 / std::sqrt(1.0 + 1e-5)), 1e-6, "eval output");
  CHECK(bn->num_batches_tracked.item() == 0);
  CHECK(bn->running_mean.to_vector() == std::vector<float>(2, 0.0f));

  seq->train();
  CHECK(drop->is_training());
  const Tensor<float> y_train = seq->forward(x).value();
  CHECK(bn->num_batches_tracked.item() == 1);
  CHECK(bn->running_mean.to_vector() != std::vector<float>(2, 0.0f));
  // Dropout zeroes about half and scales the rest by 2; the BatchNorm output has per-channel zero mean.
  std::int64_t zeros = 0;
  for (float v : y_train.to_vector()) zeros += v == 0.0f;
  CHECK(zeros > 10);
  CHECK(zeros < 62);

  // Dropout alone: p = 0.25 keeps ~75% scaled by 4/3.
  Dropout d(0.25);
  std::mt19937 drng(11);
  d.set_generator(drng);
  const Var<float> ones(Tensor<float>(Shape{10000}, 1.0f));
  std::int64_t kept = 0;
  for (float v : d.forward(ones).value().to_vector()) {
    if (v != 0.0f) {
      ++kept;
      CHECK(v == Approx(4.0f / 3.0f));
    }
  }
  CHECK(kept == Approx(7500).margin(200));
  d.eval();
  CHECK(d.forward(ones).value().to_vector() == ones.value().to_vector());
}

TEST_CASE("Linear, Conv2d, LayerNorm and Embedding match PyTorch outputs and gradients", "[nn]") {
  const double tol = 1e-5;
  auto run = [&](UnaryModule& m, const std::string& c, bool grads) {
    m.load_state_dict(fixture_state(c));
    Var<float> y = m.forward(Var<float>(fx(c + ".x")));
    check_close(y.value(), fx(c + ".y"), tol, c + " forward");
    if (!grads) return;
    m.zero_grad();
    sum(y * Var<float>(fx(c + ".r"))).backward();
    for (auto& [n, p] : m.named_parameters()) check_close(p.grad(), fx(c + ".grad." + n), tol, c + " grad " + n);
  };
  Linear lin(5, 3);
  run(lin, "linear", true);
  Conv2d conv(Conv2dOptions(4, 6, 3).stride(2).padding(1).groups(2));
  run(conv, "conv", true);
  Conv2d dil(Conv2dOptions(3, 4, {3, 2}).stride({1, 2}).padding({2, 0}).dilation({2, 1}).bias(false));
  run(dil, "conv_dil", false);
  LayerNorm ln(8);
  run(ln, "ln", true);
  LayerNorm ln2(LayerNormOptions({4, 5}).eps(1e-6));
  run(ln2, "ln2", false);

  Embedding emb(EmbeddingOptions(10, 4).padding_idx(2));
  emb.load_state_dict(fixture_state("emb"));
  Var<float> y = emb(fixture().get<std::int64_t>("emb.idx"));
  check_close(y.value(), fx("emb.y"), tol, "embedding forward");
  sum(y * Var<float>(fx("emb.r"))).backward();
  check_close(emb.weight.grad(), fx("emb.grad.weight"), tol, "embedding grad");
}

// Fixture case c: the state before, one training step on "<c>.x" (output and
// the buffers after it), then eval on "<c>.x2".
void check_batch_norm_case(nn::detail::BatchNormBase& bn, const std::string& c) {
  bn.load_state_dict(fixture_state(c));
  bn.train();
  check_close(bn.forward(Var<float>(fx(c + ".x"))).value(), fx(c + ".y_train"), 1e-5, "train output");
  const StateDict after = fixture_state(c, "after");
  check_close(bn.running_mean, after.get<float>("running_mean"), 1e-6, "running_mean");
  check_close(bn.running_var, after.get<float>("running_var"), 1e-6, "running_var");
  CHECK(bn.num_batches_tracked.item() == after.get<std::int64_t>("num_batches_tracked").item());
  bn.eval();
  check_close(bn.forward(Var<float>(fx(c + ".x2"))).value(), fx(c + ".y_eval"), 1e-5, "eval output");
}

TEST_CASE("BatchNorm2d matches PyTorch in a training step and then in eval", "[nn]") {
  BatchNorm2d bn(3);
  check_batch_norm_case(bn, "bn");
}

TEST_CASE("BatchNorm1d matches PyTorch in a training step and then in eval, and takes only [N, C]", "[nn]") {
  BatchNorm1d bn(BatchNorm1dOptions(5).momentum(0.3));
  check_batch_norm_case(bn, "bn1d");
  CHECK_THROWS_WITH(bn.forward(Var<float>(Tensor<float>(Shape{2, 5, 1, 1}))),
                    Catch::Contains("BatchNorm1d: expected input [N, 5], got [2, 5, 1, 1]"));
  CHECK_THROWS_WITH(BatchNorm2d(5).forward(Var<float>(Tensor<float>(Shape{2, 5}))),
                    Catch::Contains("BatchNorm2d: expected input [N, 5, H, W], got [2, 5]"));
}

TEST_CASE("a PyTorch Sequential's state dict loads by name and runs the same", "[nn]") {
  auto seq = conv_bn_relu_linear();
  seq->load_state_dict(fixture_state("seq"));
  CHECK(seq->at<BatchNorm2d>(1)->num_batches_tracked.item() == 7);
  seq->eval();
  NoGradGuard ng;
  check_close(seq->forward(Var<float>(fx("seq.x"))).value(), fx("seq.y"), 1e-5, "sequential eval");
}

TEST_CASE("pooling modules and Flatten keep PyTorch's shapes", "[nn]") {
  Tensor<float> t(Shape{1, 1, 4, 4});
  for (int i = 0; i < 16; ++i) t.data()[i] = float(i);
  const Var<float> x(t);
  MaxPool2d mp(Pool2dOptions(2));
  CHECK(mp.forward(x).value().to_vector() == std::vector<float>{5, 7, 13, 15});
  AvgPool2d ap(Pool2dOptions(3).stride(1).padding(1).count_include_pad(false));
  const auto a = ap.forward(x).value();
  CHECK(a.shape() == Shape{1, 1, 4, 4});
  CHECK(a(0, 0, 0, 0) == Approx((0 + 1 + 4 + 5) / 4.0));
  AdaptiveAvgPool2d gap(1);
  CHECK(gap.forward(x).value().item() == Approx(7.5));
  Flatten fl;
  CHECK(fl.forward(Var<float>(Tensor<float>(Shape{2, 3, 4, 5}))).shape() == Shape{2, 60});
  Flatten fl2(1, 2);
  CHECK(fl2.forward(Var<float>(Tensor<float>(Shape{2, 3, 4, 5}))).shape() == Shape{2, 12, 5});
}

TEST_CASE("a two-layer MLP learns XOR with Adam", "[nn]") {
  manual_seed(1);
  Sequential mlp;
  mlp.emplace_back<Linear>(2, 16);
  mlp.emplace_back<Tanh>();
  mlp.emplace_back<Linear>(16, 2);
  Adam opt(mlp.parameters(), AdamOptions(0.05));
  const Var<float> x(Tensor<float>::from({4, 2}, {0, 0, 0, 1, 1, 0, 1, 1}));
  const auto labels = Tensor<std::int64_t>::from({4}, {0, 1, 1, 0});
  double loss = 0;
  for (int it = 0; it < 300; ++it) {
    opt.zero_grad();
    Var<float> l = cross_entropy(mlp.forward(x), labels);
    loss = l.item();
    l.backward();
    opt.step();
  }
  CHECK(loss < 0.05);
  const auto pred = argmax(mlp.forward(x).value(), 1);
  CHECK(pred.to_vector() == labels.to_vector());
}

}  // namespace freqcap_test_nn
