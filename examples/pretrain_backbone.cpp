// freqcap-pretrain-backbone: pretrains the Fashion Scenes backbone
// ("scenes_cnn", backbones/scenes_cnn.hpp) to name the class and colour of
// single Fashion-MNIST items drawn as the scenes generator draws them
// (model/pretrain_backbone.hpp), printing one line per epoch, and saves the
// weights as a safetensors state dict that backbones::load_backbone_weights
// reads. --bench-batches N then times features() on 128x128 batches of 64.
//
//   OMP_WAIT_POLICY=passive freqcap-pretrain-backbone --out scenes_cnn.safetensors
//       --fashion-mnist /usr/share/datasets/fashion-mnist --minutes 14 --threads 2
//
// On a shared, busy machine set OMP_WAIT_POLICY=passive: with spinning OpenMP
// workers (the default) 2 threads ran 5x slower: 45 vs 230 items/s passive.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <string>

#include "freqcap/core/memory.hpp"
#include "freqcap/core/threads.hpp"
#include "freqcap/backbones/factory.hpp"
#include "freqcap/io/state_dict.hpp"
#include "freqcap/kernels/dispatch.hpp"
#include "freqcap/model/pretrain_backbone.hpp"
#include "freqcap/version.hpp"
#include "run_main.hpp"

using namespace freqcap;

namespace {

// Images per second of features() on random [batch, 3, 128, 128] inputs in [0, 1].
double features_throughput(backbones::ScenesCNN& net, int batches, std::int64_t batch) {
  Tensor<float> x(Shape{batch, 3, 128, 128});
  nn::init::uniform_(x, 0.0, 1.0);
  net.eval();
  (void)net.extract_features(x);  // warm-up
  const auto t = std::chrono::steady_clock::now();
  for (int i = 0; i < batches; ++i) (void)net.extract_features(x);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  return static_cast<double>(batches * batch) / secs;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Pretrain the Fashion Scenes backbone (scenes_cnn) on single items: class and colour"};
  model::PretrainOptions o;
  std::string data_dir = fashion_mnist_default_dir, out, init_path;
  int threads = 0, bench_batches = 0;
  app.add_option("--fashion-mnist", data_dir, "folder with the Fashion-MNIST idx .gz files")->capture_default_str();
  app.add_option("--out", out, "where to save the weights (safetensors)")->required();
  app.add_option("--epochs", o.epochs, "passes over the 55,000 training items (at most, with --minutes)")
      ->capture_default_str();
  app.add_option("--minutes", o.minutes, "wall-time budget; the lr schedule is fitted to it (0 = none)")
      ->capture_default_str();
  app.add_option("--batch", o.batch, "batch size")->capture_default_str();
  app.add_option("--lr", o.lr, "peak AdamW learning rate (warmup, then cosine)")->capture_default_str();
  app.add_option("--weight-decay", o.weight_decay, "AdamW weight decay")->capture_default_str();
  app.add_option("--label-smoothing", o.label_smoothing, "on both heads")->capture_default_str();
  app.add_option("--canvas", o.canvas, "side of the training canvas in pixels")->capture_default_str();
  app.add_option("--seed", o.seed, "seed of initialisation, item draws and shuffling")->capture_default_str();
  app.add_option("--train-items", o.train_items, "use the first N training items (0 = all 55,000)");
  app.add_option("--val-items", o.val_items, "validate on the first N held-out items (0 = all 5,000)");
  app.add_option("--init", init_path, "start from these scenes_cnn weights (a further run) instead of a fresh init");
  app.add_option("--threads", threads, "worker threads (default: FREQCAP_NUM_THREADS, else all cores)");
  app.add_option("--bench-batches", bench_batches, "then time features() on N batches of 64 scenes at 128x128");
  CLI11_PARSE(app, argc, argv);
  o.fashion_mnist_dir = data_dir;

  return freqcap::examples::run_main([&] {
    keep_freed_tensor_memory();
    const int used_threads = init_threads(threads);
    manual_seed(static_cast<unsigned>(o.seed));
    backbones::ScenesCNN net;
    if (!init_path.empty()) backbones::load_backbone_weights(net, init_path);
    std::printf("freqcap %s: scenes_cnn, %lld parameters, canvas %d, batch %d, lr %g, %d threads, kernels %s\n",
                version_string, static_cast<long long>(net.parameter_count()), o.canvas, o.batch, o.lr, used_threads,
                kernels::isa_name(kernels::active_isa()));
    std::fflush(stdout);
    const auto cpu0 = std::clock();
    const model::PretrainResult r = model::pretrain_scenes_backbone(net, o, [](const model::PretrainEpoch& e) {
      std::printf("epoch %d: %lld items  %.0f items/s  loss %.4f  train class %.4f  val class %.4f  val colour %.4f"
                  "  lr %.2g  (%.1f s)\n",
                  e.epoch, static_cast<long long>(e.items), e.items_per_second, e.loss, e.train_class_accuracy,
                  e.val_class_accuracy, e.val_colour_accuracy, e.lr, e.seconds);
      std::fflush(stdout);
    });
    const double cpu = static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC;
    save_state_dict(out, net,
                    {{"model", net.name()},
                     {"val_class_accuracy", std::to_string(r.val_class_accuracy)},
                     {"val_colour_accuracy", std::to_string(r.val_colour_accuracy)},
                     {"input", "RGB value/255 in [0,1], no mean/std"}});
    std::printf("val class accuracy %.4f, val colour accuracy %.4f after %d epochs (%lld steps, %lld items) in "
                "%.1f s (CPU %.1f s, %.2f cores); saved %s\n",
                r.val_class_accuracy, r.val_colour_accuracy, r.epochs, static_cast<long long>(r.steps),
                static_cast<long long>(r.items), r.seconds, cpu, cpu / std::max(r.seconds, 1e-9), out.c_str());
    {
      // Transfer check: the same held-out items drawn on a 128x128 scene canvas.
      const FashionMnist fm = load_fashion_mnist(o.fashion_mnist_dir, "train");
      std::vector<std::int64_t> val(1000);
      for (std::size_t i = 0; i < val.size(); ++i) val[i] = model::kSceneTrainItems + static_cast<std::int64_t>(i);
      const auto [c128, k128] = model::single_item_accuracy(net, fm, val, 128, o.seed);
      std::printf("on a 128x128 canvas (1000 held-out items): class %.4f, colour %.4f\n", c128, k128);
    }
    if (bench_batches > 0)
      std::printf("features() at 128x128, batch 64: %.1f images/s\n", features_throughput(net, bench_batches, 64));
  });
}
