// Pretraining of the Fashion Scenes backbone (backbones/scenes_cnn.hpp): no
// ImageNet weights exist here, so ScenesCNN learns to name the class (10) and
// the colour (7) of single Fashion-MNIST items drawn exactly as the scenes
// generator draws them (scenes::scale_item with s uniform in [1.0, 1.5),
// scenes::paste_item with a colour uniform over scenes::colours()) at a random
// position on a small black canvas (64x64 by default; the network is fully
// convolutional, so its features apply to 128x128 scenes). Items come from the
// Fashion-MNIST train split: index < 55,000 for training, >= 55,000 for
// validation (the scenes' train / val pools; never mixed). Each epoch draws
// fresh colours, scales and positions from a portable SplitMix64 stream, so a
// seed gives the same images on every platform; validation items are drawn
// the same way every epoch. Pixels go in as value / 255 in [0, 1] (no mean/std),
// the normalisation the captioner uses. Loss = CE(class) + CE(colour), AdamW
// with linear warmup and a cosine decay over the epochs or the time budget.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <numeric>
#include <vector>

#include "freqcap/backbones/scenes_cnn.hpp"
#include "freqcap/core/random.hpp"
#include "freqcap/data/fashion_mnist.hpp"
#include "freqcap/data/scene_render.hpp"
#include "freqcap/nn/lr_schedule.hpp"
#include "freqcap/nn/optim.hpp"

namespace freqcap::model {

/// Fashion-MNIST train indices below this feed training, the rest validation (SCENES.md).
inline constexpr std::int64_t kSceneTrainItems = 55000;

struct PretrainOptions {
  std::filesystem::path fashion_mnist_dir = fashion_mnist_default_dir;
  int epochs = 8;                 ///< passes over the training items (upper bound when `minutes` > 0)
  double minutes = 0.0;           ///< wall-time budget incl. validation; the schedule shrinks to fit (0 = none)
  int batch = 64;
  double lr = 3e-3;               ///< peak AdamW learning rate
  double weight_decay = 1e-4;     ///< AdamW's decoupled weight decay
  double label_smoothing = 0.05;  ///< on both heads
  std::int64_t warmup_steps = 150;
  std::uint64_t seed = 0;         ///< item draws and shuffling (initialisation: freqcap::manual_seed)
  int canvas = 64;                ///< side of the black canvas, >= 42 (the largest item)
  std::int64_t train_items = 0;   ///< use the first N items of the train pool (0 = all 55,000)
  std::int64_t val_items = 0;     ///< validate on the first N held-out items (0 = all 5,000)
};

/// One finished epoch (a partial last one when the time budget ends it).
struct PretrainEpoch {
  int epoch = 0;
  std::int64_t items = 0;  ///< training items seen in this epoch
  double loss = 0.0;       ///< mean training loss (class + colour)
  double train_class_accuracy = 0.0;
  double items_per_second = 0.0;  ///< training throughput (excludes validation)
  double val_class_accuracy = 0.0, val_colour_accuracy = 0.0;
  double lr = 0.0;       ///< learning rate at the epoch's last step
  double seconds = 0.0;  ///< since the start of pretraining
};

struct PretrainResult {
  int epochs = 0;          ///< epochs run (the last may be partial)
  std::int64_t steps = 0;  ///< optimizer steps
  std::int64_t items = 0;  ///< training items seen
  double val_class_accuracy = 0.0, val_colour_accuracy = 0.0;
  double seconds = 0.0;
};

namespace detail {

/// SplitMix64 (Steele, Lea, Flood 2014): the portable generator of item draws.
struct SplitMix64 {
  std::uint64_t state;
  std::uint64_t next() { return splitmix64(state); }
  /// Uniform in [0, 1): the top 53 bits times 2^-53.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  /// Uniform integer in [0, n), n >= 1 (multiply-shift; bias below 2^-50 for small n).
  std::int64_t below(std::int64_t n) {
    return static_cast<std::int64_t>((static_cast<unsigned __int128>(next()) * static_cast<std::uint64_t>(n)) >> 64);
  }
};

/// The generator of one item draw: a hash of (seed, stream, epoch, index).
inline SplitMix64 item_rng(std::uint64_t seed, std::uint64_t stream, std::uint64_t epoch, std::uint64_t index) {
  SplitMix64 g{seed};
  g.state = g.next() ^ (stream * 0xD1B54A32D192ED03ull);
  g.state = g.next() ^ (epoch * 0x8CB92BA72F3D8DD7ull);
  g.state = g.next() ^ index;
  g.next();
  return g;
}

}  // namespace detail

/// Draws Fashion-MNIST item `source_index` of `images` [N, 28, 28] as the
/// scenes generator does (scale s in [1, 1.5), colour, position all from
/// `rng`) on a black canvas x [3, canvas, canvas] at batch slot `slot` of
/// x [B, 3, canvas, canvas] (value / 255); returns the colour index.
inline int draw_single_item(const Tensor<std::uint8_t>& images, std::int64_t source_index, int canvas,
                            detail::SplitMix64& rng, Tensor<float>& x, std::int64_t slot) {
  const double s = 1.0 + 0.5 * rng.uniform();
  const int colour = static_cast<int>(rng.below(static_cast<std::int64_t>(scenes::colours().size())));
  const Tensor<std::uint8_t> item = scenes::scale_item(images.data() + source_index * 784, s);
  const int size = static_cast<int>(item.dim(0));
  FREQCAP_CHECK(size <= canvas, "pretrain: a ", size, "-pixel item does not fit on a ", canvas, "-pixel canvas");
  const int px = static_cast<int>(rng.below(canvas - size + 1)), py = static_cast<int>(rng.below(canvas - size + 1));
  Tensor<std::uint8_t> c(Shape{3, canvas, canvas});
  scenes::paste_item(c, item, scenes::colours()[static_cast<std::size_t>(colour)], px, py);
  float* dst = x.data() + slot * 3 * canvas * canvas;
  for (std::int64_t i = 0; i < c.numel(); ++i) dst[i] = static_cast<float>(c.data()[i]) / 255.0f;
  return colour;
}

/// Class and colour accuracy of `net` (eval mode) on items `indices` of
/// `data`, drawn from the generator stream `stream` of `seed` (epoch 0).
inline std::pair<double, double> single_item_accuracy(backbones::ScenesCNN& net, const FashionMnist& data,
                                                      const std::vector<std::int64_t>& indices, int canvas,
                                                      std::uint64_t seed, std::uint64_t stream = 1,
                                                      std::int64_t batch = 200) {
  FREQCAP_CHECK(!indices.empty(), "single_item_accuracy: no items");
  NoGradGuard ng;
  const bool was_training = net.is_training();
  net.eval();
  std::int64_t right_class = 0, right_colour = 0;
  const auto n = static_cast<std::int64_t>(indices.size());
  for (std::int64_t at = 0; at < n; at += batch) {
    const std::int64_t b = std::min(batch, n - at);
    Tensor<float> x(Shape{b, 3, canvas, canvas});
    std::vector<int> colour(static_cast<std::size_t>(b));
    for (std::int64_t i = 0; i < b; ++i) {
      auto rng = detail::item_rng(seed, stream, 0, static_cast<std::uint64_t>(at + i));
      colour[static_cast<std::size_t>(i)] = draw_single_item(data.images, indices[static_cast<std::size_t>(at + i)],
                                                             canvas, rng, x, i);
    }
    const Var<float> logits = net.forward(Var<float>(x));
    const auto pc = argmax(backbones::item_class_logits(logits).value(), 1);
    const auto pk = argmax(backbones::item_colour_logits(logits).value(), 1);
    for (std::int64_t i = 0; i < b; ++i) {
      right_class += pc.data()[i] == data.labels.data()[indices[static_cast<std::size_t>(at + i)]];
      right_colour += pk.data()[i] == colour[static_cast<std::size_t>(i)];
    }
  }
  net.train(was_training);
  return {static_cast<double>(right_class) / static_cast<double>(n),
          static_cast<double>(right_colour) / static_cast<double>(n)};
}

/// Pretrains `net` in place on single items (see the file comment) and
/// returns the final validation accuracies; `on_epoch` (optional) hears about
/// every epoch. `net` is left in eval mode. Throws freqcap::Error on a missing
/// data set, bad options or a non-finite loss.
inline PretrainResult pretrain_scenes_backbone(backbones::ScenesCNN& net, const PretrainOptions& o,
                                               const std::function<void(const PretrainEpoch&)>& on_epoch = {}) {
  using clock = std::chrono::steady_clock;
  FREQCAP_CHECK(o.epochs >= 1 && o.batch >= 2 && o.lr > 0 && o.minutes >= 0, "pretrain: need epochs >= 1 (got ",
                o.epochs, "), batch >= 2 (got ", o.batch, "), lr > 0 (got ", o.lr, "), minutes >= 0 (got ", o.minutes,
                ")");
  FREQCAP_CHECK(o.canvas >= scenes::scaled_size(1.5) && o.canvas >= net.min_input_size(), "pretrain: canvas ",
                o.canvas, " is smaller than the largest item (", scenes::scaled_size(1.5), " pixels)");
  const auto t0 = clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(clock::now() - t0).count(); };
  const FashionMnist data = load_fashion_mnist(o.fashion_mnist_dir, "train");
  FREQCAP_CHECK(data.images.dim(0) > kSceneTrainItems, o.fashion_mnist_dir.string(), ": the train split holds ",
                data.images.dim(0), " items, need more than ", kSceneTrainItems);
  const std::int64_t n_train = o.train_items > 0 ? std::min(o.train_items, kSceneTrainItems) : kSceneTrainItems;
  const std::int64_t n_val_pool = data.images.dim(0) - kSceneTrainItems;
  const std::int64_t n_val = o.val_items > 0 ? std::min(o.val_items, n_val_pool) : n_val_pool;
  std::vector<std::int64_t> order(static_cast<std::size_t>(n_train)), val(static_cast<std::size_t>(n_val));
  std::iota(order.begin(), order.end(), 0);
  std::iota(val.begin(), val.end(), kSceneTrainItems);

  const std::int64_t steps_per_epoch = (n_train + o.batch - 1) / o.batch;
  const std::int64_t total_steps = steps_per_epoch * o.epochs;
  const std::int64_t warmup = std::min(o.warmup_steps, total_steps / 4);
  const nn::WarmupCosineLr schedule(o.lr, warmup, total_steps, o.lr * 0.01);
  nn::AdamW opt(net.parameters(), nn::AdamOptions(o.lr).weight_decay(o.weight_decay));
  const float ls = static_cast<float>(o.label_smoothing);
  // With a time budget the cosine runs on whichever is further along: the
  // steps or the budget's wall time (less a final validation), so the decay
  // ends on time however the machine's load changes during the run.
  const double budget = o.minutes * 60.0;
  double val_reserve = 0.0;  // seconds of one validation pass (estimated, then measured)
  auto schedule_step = [&](std::int64_t step) {
    if (budget <= 0 || step < warmup) return step;
    const double p = std::clamp(elapsed() / std::max(budget - val_reserve, 1e-9), 0.0, 1.0);
    return std::max(step, warmup + static_cast<std::int64_t>(p * static_cast<double>(total_steps - warmup)));
  };
  auto out_of_time = [&] { return budget > 0 && elapsed() + val_reserve >= budget; };

  PretrainResult result;
  std::int64_t step = 0;
  net.train();
  bool stop = false;
  for (int epoch = 1; epoch <= o.epochs && !stop; ++epoch) {
    // Fisher-Yates shuffle from the portable generator.
    auto shuffle = detail::item_rng(o.seed, 2, static_cast<std::uint64_t>(epoch), 0);
    for (std::int64_t i = n_train - 1; i > 0; --i)
      std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(shuffle.below(i + 1))]);
    PretrainEpoch rep;
    rep.epoch = epoch;
    double loss_sum = 0.0;
    std::int64_t right = 0;
    const auto t_epoch = clock::now();
    for (std::int64_t s = 0; s < steps_per_epoch && !stop; ++s, ++step) {
      const std::int64_t begin = s * o.batch, b = std::min<std::int64_t>(o.batch, n_train - begin);
      Tensor<float> x(Shape{b, 3, o.canvas, o.canvas});
      Tensor<std::int64_t> y_class(Shape{b}), y_colour(Shape{b});
      for (std::int64_t i = 0; i < b; ++i) {
        const std::int64_t src = order[static_cast<std::size_t>(begin + i)];
        auto rng = detail::item_rng(o.seed, 0, static_cast<std::uint64_t>(epoch), static_cast<std::uint64_t>(src));
        y_colour.data()[i] = draw_single_item(data.images, src, o.canvas, rng, x, i);
        y_class.data()[i] = data.labels.data()[src];
      }
      rep.lr = nn::apply_lr(opt, schedule, schedule_step(step));
      opt.zero_grad();
      const Var<float> logits = net.forward(Var<float>(x));
      const Var<float> class_logits = backbones::item_class_logits(logits);
      Var<float> loss = cross_entropy(class_logits, y_class, -100, ls) +
                        cross_entropy(backbones::item_colour_logits(logits), y_colour, -100, ls);
      const double l = loss.item();
      FREQCAP_CHECK(std::isfinite(l), "pretrain: loss is ", l, " at step ", step, " (lower --lr?)");
      loss.backward();
      opt.step();
      const auto pred = argmax(class_logits.value(), 1);
      for (std::int64_t i = 0; i < b; ++i) right += pred.data()[i] == y_class.data()[i];
      loss_sum += l * static_cast<double>(b);
      rep.items += b;
      result.items += b;
      if (budget > 0 && val_reserve == 0.0 && step + 1 == 20)  // until measured: a forward ~ 1/3 of a step
        val_reserve = elapsed() / 20 * static_cast<double>(n_val) / (3.0 * o.batch);
      stop = out_of_time();
    }
    const double epoch_train = std::chrono::duration<double>(clock::now() - t_epoch).count();
    const auto t_val = clock::now();
    const auto [vc, vk] = single_item_accuracy(net, data, val, o.canvas, o.seed);
    val_reserve = std::chrono::duration<double>(clock::now() - t_val).count();
    rep.loss = loss_sum / static_cast<double>(std::max<std::int64_t>(rep.items, 1));
    rep.train_class_accuracy = static_cast<double>(right) / static_cast<double>(std::max<std::int64_t>(rep.items, 1));
    rep.items_per_second = static_cast<double>(rep.items) / std::max(epoch_train, 1e-9);
    rep.val_class_accuracy = vc;
    rep.val_colour_accuracy = vk;
    rep.seconds = elapsed();
    result.epochs = epoch;
    result.val_class_accuracy = vc;
    result.val_colour_accuracy = vk;
    if (on_epoch) on_epoch(rep);
  }
  result.steps = step;
  result.seconds = elapsed();
  net.eval();
  return result;
}

}  // namespace freqcap::model
