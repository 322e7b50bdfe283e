// freqcap-fashion-mnist-classifier: trains a small CNN on Debian's
// Fashion-MNIST with freqcap's autograd, nn modules and Adam, printing
// progress and the test accuracy after every epoch.
//
//   conv 3x3 1->C1, BN, ReLU, max-pool 2 -> conv 3x3 C1->C2, BN, ReLU, max-pool 2
//   -> flatten -> linear C2*7*7 -> 128, ReLU, dropout -> linear 128 -> 10
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <numeric>
#include <random>

#include "freqcap/freqcap.hpp"

using namespace freqcap;

namespace {

class FashionCnn : public nn::UnaryModule {
 public:
  FashionCnn(std::int64_t c1, std::int64_t c2, float dropout) : nn::UnaryModule("FashionCnn"), dropout_(dropout) {
    conv1 = register_module("conv1", std::make_shared<nn::Conv2d>(nn::Conv2dOptions(1, c1, 3).padding(1)));
    bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(c1));
    conv2 = register_module("conv2", std::make_shared<nn::Conv2d>(nn::Conv2dOptions(c1, c2, 3).padding(1)));
    bn2 = register_module("bn2", std::make_shared<nn::BatchNorm2d>(c2));
    fc1 = register_module("fc1", std::make_shared<nn::Linear>(c2 * 7 * 7, 128));
    fc2 = register_module("fc2", std::make_shared<nn::Linear>(128, 10));
  }

  /// x: [N, 1, 28, 28] -> logits [N, 10]
  Var<float> forward(const Var<float>& x) override {
    auto h = max_pool2d(relu(bn1->forward(conv1->forward(x))), 2);
    h = max_pool2d(relu(bn2->forward(conv2->forward(h))), 2);
    h = reshape(h, {h.dim(0), -1});
    h = dropout(relu(fc1->forward(h)), dropout_, is_training(), rng_);
    return fc2->forward(h);
  }

 private:
  std::shared_ptr<nn::Conv2d> conv1, conv2;
  std::shared_ptr<nn::BatchNorm2d> bn1, bn2;
  std::shared_ptr<nn::Linear> fc1, fc2;
  float dropout_;
  std::mt19937 rng_{1234};
};

// Images [N, 28, 28] uint8 at `order[begin..end)` -> normalised [B, 1, 28, 28].
Tensor<float> make_batch(const Tensor<std::uint8_t>& images, const std::vector<std::int64_t>& order,
                         std::size_t begin, std::size_t end, Tensor<std::int64_t>& labels_out,
                         const Tensor<std::int64_t>& labels) {
  constexpr float mean = 0.2860f, inv_std = 1.0f / 0.3530f;
  const auto b = static_cast<std::int64_t>(end - begin);
  Tensor<float> x({b, 1, 28, 28});
  labels_out = Tensor<std::int64_t>({b});
  for (std::int64_t i = 0; i < b; ++i) {
    const std::int64_t src = order[begin + static_cast<std::size_t>(i)];
    const std::uint8_t* p = images.data() + src * 784;
    float* q = x.data() + i * 784;
    for (int k = 0; k < 784; ++k) q[k] = (static_cast<float>(p[k]) / 255.0f - mean) * inv_std;
    labels_out.data()[i] = labels.data()[src];
  }
  return x;
}

double accuracy(FashionCnn& model, const FashionMnist& set, std::int64_t limit) {
  NoGradGuard no_grad;
  model.eval();
  const std::int64_t n = std::min(limit, set.images.dim(0));
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::int64_t correct = 0;
  for (std::int64_t at = 0; at < n; at += 500) {
    const auto end = static_cast<std::size_t>(std::min<std::int64_t>(at + 500, n));
    Tensor<std::int64_t> y;
    const auto logits = model.forward(Var<float>(make_batch(set.images, order, static_cast<std::size_t>(at), end, y, set.labels)));
    const auto pred = argmax(logits.value(), 1);
    for (std::int64_t i = 0; i < pred.numel(); ++i) correct += pred.data()[i] == y.data()[i];
  }
  model.train();
  return static_cast<double>(correct) / static_cast<double>(n);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Train a small CNN on Fashion-MNIST with freqcap"};
  std::string data_dir = fashion_mnist_default_dir, out;
  int epochs = 4, batch = 64, threads = 0;
  double lr = 2e-3;
  std::int64_t train_limit = 0, test_limit = 0, c1 = 16, c2 = 32;
  unsigned seed = 0;
  float drop = 0.25f;
  app.add_option("--data", data_dir, "folder with the Fashion-MNIST idx .gz files")->capture_default_str();
  app.add_option("--epochs", epochs, "passes over the training set")->capture_default_str();
  app.add_option("--batch", batch, "batch size")->capture_default_str();
  app.add_option("--lr", lr, "peak Adam learning rate (cosine decay after one epoch)")->capture_default_str();
  app.add_option("--train-limit", train_limit, "use the first N training images (0 = all 60,000)");
  app.add_option("--test-limit", test_limit, "score the first N test images (0 = all 10,000)");
  app.add_option("--channels", c1, "channels of the first conv; the second has twice as many")->capture_default_str();
  app.add_option("--dropout", drop, "dropout before the last layer")->capture_default_str();
  app.add_option("--threads", threads, "worker threads (default: FREQCAP_NUM_THREADS, else all cores)");
  app.add_option("--seed", seed, "seed for initialisation and shuffling")->capture_default_str();
  app.add_option("--out", out, "save the trained weights (safetensors)");
  CLI11_PARSE(app, argc, argv);
  c2 = 2 * c1;

  try {
    keep_freed_tensor_memory();
    const int used_threads = init_threads(threads);
    manual_seed(seed);
    const auto train = load_fashion_mnist(data_dir, "train");
    const auto test = load_fashion_mnist(data_dir, "test");
    const std::int64_t n_train = train_limit > 0 ? std::min(train_limit, train.images.dim(0)) : train.images.dim(0);
    const std::int64_t n_test = test_limit > 0 ? test_limit : test.images.dim(0);

    FashionCnn model(c1, c2, drop);
    model.train();
    nn::Adam opt(model.parameters(), nn::AdamOptions(lr));
    const std::int64_t steps_per_epoch = (n_train + batch - 1) / batch;
    nn::WarmupCosineLr schedule(lr, std::min<std::int64_t>(200, steps_per_epoch), steps_per_epoch * epochs, lr * 0.02);
    std::printf("freqcap %s: %lld train / %lld test images, %lld parameters, %d threads, kernels %s\n",
                version_string, static_cast<long long>(n_train), static_cast<long long>(n_test),
                static_cast<long long>(model.parameter_count()), used_threads, kernels::isa_name(kernels::active_isa()));

    std::vector<std::int64_t> order(static_cast<std::size_t>(n_train));
    std::iota(order.begin(), order.end(), 0);
    std::mt19937 shuffle_rng(seed);
    const auto t_start = std::chrono::steady_clock::now();
    std::int64_t step = 0;
    for (int epoch = 1; epoch <= epochs; ++epoch) {
      std::shuffle(order.begin(), order.end(), shuffle_rng);
      const auto t_epoch = std::chrono::steady_clock::now();
      double loss_sum = 0;
      std::int64_t seen = 0, correct = 0;
      for (std::int64_t s = 0; s < steps_per_epoch; ++s, ++step) {
        const auto begin = static_cast<std::size_t>(s * batch);
        const auto end = static_cast<std::size_t>(std::min<std::int64_t>((s + 1) * batch, n_train));
        Tensor<std::int64_t> y;
        const Var<float> x(make_batch(train.images, order, begin, end, y, train.labels));
        nn::apply_lr(opt, schedule, step);
        opt.zero_grad();
        auto logits = model.forward(x);
        auto loss = cross_entropy(logits, y);
        FREQCAP_CHECK(std::isfinite(loss.item()), "training diverged: loss is ", loss.item(), " at step ", step);
        loss.backward();
        opt.step();
        const auto pred = argmax(logits.value(), 1);
        for (std::int64_t i = 0; i < pred.numel(); ++i) correct += pred.data()[i] == y.data()[i];
        loss_sum += loss.item() * static_cast<double>(end - begin);
        seen += static_cast<std::int64_t>(end - begin);
        if ((s + 1) % std::max<std::int64_t>(1, steps_per_epoch / 10) == 0 || s + 1 == steps_per_epoch) {
          const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_epoch).count();
          const double ips = static_cast<double>(seen) / std::max(secs, 1e-9);
          std::printf("  epoch %d  %3lld%%  loss %.4f  acc %.4f  %.0f img/s  ETA %.0fs\n", epoch,
                      static_cast<long long>(100 * (s + 1) / steps_per_epoch), loss_sum / static_cast<double>(seen),
                      static_cast<double>(correct) / static_cast<double>(seen), ips,
                      static_cast<double>(n_train - seen) / std::max(ips, 1e-9));
          std::fflush(stdout);
        }
      }
      const double test_acc = accuracy(model, test, n_test);
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_epoch).count();
      std::printf("epoch %d: train loss %.4f  train acc %.4f  test acc %.4f  (%.1f s)\n", epoch,
                  loss_sum / static_cast<double>(seen), static_cast<double>(correct) / static_cast<double>(seen),
                  test_acc, secs);
      std::fflush(stdout);
    }
    const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    const double final_acc = accuracy(model, test, n_test);
    std::printf("test accuracy %.4f on %lld images after %d epochs in %.1f s\n", final_acc,
                static_cast<long long>(std::min(n_test, test.images.dim(0))), epochs, total);
    if (!out.empty()) {
      save_state_dict(out, model, {{"model", "fashion_mnist_cnn"}});
      std::printf("saved %s\n", out.c_str());
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
