// freqcap-fashion-mnist-classifier: trains a small CNN on Debian's
// Fashion-MNIST with freqcap's autograd, nn modules and Adam, printing
// the loss and accuracies after every epoch (model/classifier_training.hpp
// holds the loop; freqcap-compress trains through it too).
//
//   conv 3x3 1->C1, BN, ReLU, max-pool 2 -> conv 3x3 C1->C2, BN, ReLU, max-pool 2
//   -> flatten -> linear C2*7*7 -> 128, ReLU, dropout -> linear 128 -> 10
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <random>

#include "freqcap/freqcap.hpp"
#include "freqcap/model/classifier_training.hpp"
#include "run_main.hpp"

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

  return freqcap::examples::run_main([&] {
    keep_freed_tensor_memory();
    const int used_threads = init_threads(threads);
    manual_seed(seed);
    const auto train = load_fashion_mnist(data_dir, "train");
    const auto test = load_fashion_mnist(data_dir, "test");
    const std::int64_t n_train = train_limit > 0 ? std::min(train_limit, train.images.dim(0)) : train.images.dim(0);
    const std::int64_t n_test = test_limit > 0 ? std::min(test_limit, test.images.dim(0)) : test.images.dim(0);

    FashionCnn model(c1, c2, drop);
    std::printf("freqcap %s: %lld train / %lld test images, %lld parameters, %d threads, kernels %s\n",
                version_string, static_cast<long long>(n_train), static_cast<long long>(n_test),
                static_cast<long long>(model.parameter_count()), used_threads, kernels::isa_name(kernels::active_isa()));
    ClassifierTrainOptions recipe;  // Adam, warmup over min(200 steps, one epoch), cosine to 2% of lr
    recipe.epochs = epochs;
    recipe.batch = batch;
    recipe.lr = lr;
    recipe.train_count = n_train;
    recipe.test_count = n_test;
    recipe.seed = seed;
    recipe.on_epoch = [](const EpochReport& r) {
      std::printf("epoch %d: train loss %.4f  train acc %.4f  test acc %.4f  (%.1f s)\n", r.epoch, r.train_loss,
                  r.train_accuracy, r.test_accuracy, r.seconds);
      std::fflush(stdout);
    };
    ClassifierInput in;
    in.mean = 0.2860f;  // Fashion-MNIST's training-set statistics
    in.std = 0.3530f;
    const ClassifierResult r = train_classifier(model, train, test, recipe, in);
    std::printf("test accuracy %.4f on %lld images after %d epochs in %.1f s\n", r.test_accuracy,
                static_cast<long long>(n_test), epochs, r.seconds);
    if (!out.empty()) {
      save_state_dict(out, model, {{"model", "fashion_mnist_cnn"}});
      std::printf("saved %s\n", out.c_str());
    }
  });
}
