// A small, generic image-classifier training loop for any nn::UnaryModule that
// maps [N, C, S, S] images to logits [N, classes]: 28x28 uint8 digit sets
// (FashionMnist: images [N, 28, 28] + labels [N]) become normalised float
// batches (optionally resized bilinearly to S x S and repeated to C
// channels), trained with Adam (or SGD with momentum) under a linear-warmup
// + cosine learning-rate schedule (optionally distilled from a trained
// teacher), scored on a test set after every epoch. freqcap-compress trains a
// dense model and its FR twin through it with the same recipe; FR layers
// advance their truncation schedule on every training forward by themselves.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <vector>

#include "freqcap/autograd/ops_loss.hpp"
#include "freqcap/core/tensor_ops.hpp"
#include "freqcap/data/augment.hpp"
#include "freqcap/data/fashion_mnist.hpp"
#include "freqcap/data/preprocess.hpp"
#include "freqcap/dct/fr_layer.hpp"
#include "freqcap/nn/average.hpp"
#include "freqcap/nn/clip_grad.hpp"
#include "freqcap/nn/ema.hpp"
#include "freqcap/nn/lr_schedule.hpp"
#include "freqcap/nn/module.hpp"
#include "freqcap/nn/optim.hpp"

namespace freqcap {

/// How a 28x28 uint8 image becomes a model input: (v / 255 - mean) / std,
/// resized to size x size (bilinear, antialiased when shrinking) and repeated
/// to `channels` channels.
struct ClassifierInput {
  std::int64_t size = 28;
  std::int64_t channels = 1;
  float mean = 0.1307f;  ///< MNIST's; Fashion-MNIST's is 0.2860
  float std = 0.3081f;   ///< MNIST's; Fashion-MNIST's is 0.3530
};

/// images[order[begin..end)] -> x [B, channels, size, size]; their labels -> labels_out [B].
inline Tensor<float> make_classifier_batch(const FashionMnist& set, const std::vector<std::int64_t>& order,
                                           std::size_t begin, std::size_t end, const ClassifierInput& in,
                                           Tensor<std::int64_t>& labels_out) {
  const auto b = static_cast<std::int64_t>(end - begin);
  const std::int64_t h = set.images.dim(1), w = set.images.dim(2), hw = h * w;
  Tensor<float> raw({b, 1, h, w});
  labels_out = Tensor<std::int64_t>({b});
  const float inv_std = 1.0f / in.std;
  for (std::int64_t i = 0; i < b; ++i) {
    const std::int64_t src = order[begin + static_cast<std::size_t>(i)];
    const std::uint8_t* p = set.images.data() + src * hw;
    float* q = raw.data() + i * hw;
    for (std::int64_t k = 0; k < hw; ++k) q[k] = (static_cast<float>(p[k]) / 255.0f - in.mean) * inv_std;
    labels_out.data()[i] = set.labels.data()[src];
  }
  Tensor<float> sized = (in.size == h && in.size == w) ? raw : resize_bilinear(raw, in.size, in.size);
  if (in.channels == 1) return sized;
  const std::int64_t plane = in.size * in.size;
  Tensor<float> x({b, in.channels, in.size, in.size});
  for (std::int64_t i = 0; i < b; ++i)
    for (std::int64_t c = 0; c < in.channels; ++c)
      std::copy_n(sized.data() + i * plane, plane, x.data() + (i * in.channels + c) * plane);
  return x;
}

/// Top-1 accuracy of `model` (eval mode, no graph) on the first `limit` items of `set` (0 = all).
/// Leaves the model in eval mode.
inline double classifier_accuracy(nn::UnaryModule& model, const FashionMnist& set, const ClassifierInput& in,
                                  std::int64_t limit = 0, std::int64_t batch = 250) {
  NoGradGuard no_grad;
  model.eval();
  const std::int64_t n = limit > 0 ? std::min(limit, set.images.dim(0)) : set.images.dim(0);
  FREQCAP_CHECK(n > 0, "classifier_accuracy: empty test set");
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::int64_t correct = 0;
  for (std::int64_t at = 0; at < n; at += batch) {
    const auto end = static_cast<std::size_t>(std::min(at + batch, n));
    Tensor<std::int64_t> y;
    const auto logits = model.forward(Var<float>(make_classifier_batch(set, order, static_cast<std::size_t>(at), end, in, y)));
    const auto pred = argmax(logits.value(), 1);
    for (std::int64_t i = 0; i < pred.numel(); ++i) correct += pred.data()[i] == y.data()[i];
  }
  return static_cast<double>(correct) / static_cast<double>(n);
}

/// One epoch's numbers.
struct EpochReport {
  int epoch = 0;
  std::int64_t steps = 0;  ///< optimizer steps so far
  double lr = 0;           ///< learning rate of the epoch's last step
  double train_loss = 0, train_accuracy = 0, test_accuracy = 0;
  double grad_norm_mean = 0, grad_norm_max = 0;  ///< global gradient L2 norm over the epoch's steps, before clipping
  double seconds = 0;                            ///< training + scoring time of the epoch
  int fork = -1;  ///< the fork copy that ran it (-1: before forking, or no forks)
};

/// The optimizer of a classifier recipe.
enum class ClassifierOptimizer { adam, sgd };

/// What a forked run keeps of its copies.
enum class ForkMerge {
  average,            ///< their uniform average (a "model soup")
  lowest_train_loss,  ///< the copy whose final weights have the lowest training loss (restarts)
};

/// The recipe: Adam or SGD with momentum (weight decay optional), batches of
/// `batch` from a shuffle of the first `train_count` items (0 = all), lr
/// warmup over `warmup_steps` (-1: min(200, one epoch)) then cosine decay to
/// lr * final_lr_fraction, gradients optionally clipped to a global L2 norm
/// of `clip`, and an optionally label-smoothed cross-entropy.
struct ClassifierTrainOptions {
  int epochs = 10;
  std::int64_t batch = 64;
  double lr = 1e-3;
  double weight_decay = 0.0;
  ClassifierOptimizer optimizer = ClassifierOptimizer::adam;
  double momentum = 0.9;  ///< SGD only (torch.optim.SGD's momentum, no dampening)
  bool nesterov = false;  ///< SGD only
  std::int64_t warmup_steps = -1;
  double final_lr_fraction = 0.02;
  double clip = 0.0;  ///< max global gradient norm (0 = no clipping), as torch.nn.utils.clip_grad_norm_
  double label_smoothing = 0.0;  ///< of the training loss, as nn.CrossEntropyLoss(label_smoothing=...)
  std::int64_t train_count = 0;
  std::int64_t test_count = 0;  ///< score the first N test items (0 = all)
  unsigned seed = 0;            ///< shuffling order (and the augmentation stream: seed + 1)
  /// Augments every training batch (after resizing and normalising, so give
  /// contrast = 0 and clip = false: geometry only). Scoring never augments.
  std::optional<AugmentOptions> augment;
  /// A trained model to distil from (run in eval mode, no graph, on the same
  /// batches); the loss becomes distillation_loss(.., distill_temperature, distill_weight).
  nn::UnaryModule* teacher = nullptr;
  double distill_temperature = 4.0;
  double distill_weight = 0.9;
  /// 0: off. Otherwise an exponential moving average of the weights with this
  /// decay, updated after every step; the per-epoch scores are the average's,
  /// and the model holds the average when training returns.
  double ema_decay = 0.0;
  /// Forks (forks >= 2; 1 is off). After epoch fork_epoch (0: at the start)
  /// the run forks into `forks` copies that resume from one state (its state
  /// dict, optimizer moments, moving average, FR schedule step, sample order): copy 0
  /// keeps the run's shuffle, so it is the plain run; copy k >= 1 shuffles
  /// (and augments) with seed + 1000 k. Each trains to the last epoch. The
  /// model then ends as fork_merge says, and is scored once more:
  /// - average: the copies' uniform average (nn::average_states, a "model
  ///   soup", Wortsman et al. 2022). Copies must stay in one basin to average
  ///   well: FR twins forked at the start do not (they average to chance).
  /// - lowest_train_loss: the copy whose final weights have the lowest
  ///   classifier_train_loss (random restarts judged on the training set
  ///   only; the test set plays no part in the choice).
  int forks = 1;
  int fork_epoch = 0;
  ForkMerge fork_merge = ForkMerge::average;
  /// Called after every epoch (the model is in eval mode then, holding the
  /// weights just scored: the average with ema_decay; training resumes after).
  std::function<void(const EpochReport&)> on_epoch;
};

struct ClassifierResult {
  double test_accuracy = 0;  ///< after the last epoch (of the merged copies, when forked)
  std::vector<double> fork_accuracy;    ///< each fork copy's test accuracy, before merging
  std::vector<double> fork_train_loss;  ///< each copy's classifier_train_loss (lowest_train_loss only)
  int fork_picked = -1;                 ///< the copy kept (lowest_train_loss only)
  double seconds = 0;        ///< wall time of the whole run
  std::vector<EpochReport> epochs;
};

/// The teacher's logits for x, without a graph (train_classifier puts the teacher in eval mode once).
inline Tensor<float> teacher_logits(nn::UnaryModule& teacher, const Var<float>& x) {
  NoGradGuard no_grad;
  return teacher.forward(x).value();
}

/// The training loss of a recipe on one batch: cross-entropy (label-smoothed
/// as the recipe says), or the distillation loss against the teacher.
inline Var<float> classifier_loss(const Var<float>& logits, const Var<float>& x, const Tensor<std::int64_t>& y,
                                  const ClassifierTrainOptions& opt) {
  if (opt.teacher)
    return distillation_loss(logits, teacher_logits(*opt.teacher, x), y, static_cast<float>(opt.distill_temperature),
                             static_cast<float>(opt.distill_weight), static_cast<float>(opt.label_smoothing));
  return cross_entropy(logits, y, -100, static_cast<float>(opt.label_smoothing));
}

/// The recipe's loss of the model's current weights over its training items
/// (the first train_count, unaugmented), in eval mode: how well a run fits
/// what it was trained on, for choosing among restarts without the test set.
inline double classifier_train_loss(nn::UnaryModule& model, const FashionMnist& train, const ClassifierInput& in,
                                    const ClassifierTrainOptions& opt, std::int64_t batch = 250) {
  NoGradGuard no_grad;
  model.eval();
  if (opt.teacher) opt.teacher->eval();
  const std::int64_t n =
      opt.train_count > 0 ? std::min(opt.train_count, train.images.dim(0)) : train.images.dim(0);
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  double sum = 0;
  for (std::int64_t at = 0; at < n; at += batch) {
    const auto end = static_cast<std::size_t>(std::min(at + batch, n));
    Tensor<std::int64_t> y;
    const Var<float> x(make_classifier_batch(train, order, static_cast<std::size_t>(at), end, in, y));
    sum += classifier_loss(model.forward(x), x, y, opt).item() * static_cast<double>(end - static_cast<std::size_t>(at));
  }
  return sum / static_cast<double>(n);
}

/// Steps per epoch for n training items.
inline std::int64_t classifier_steps_per_epoch(std::int64_t n, std::int64_t batch) { return (n + batch - 1) / batch; }

/// Trains `model` on `train` and scores it on `test` after every epoch. Throws
/// freqcap::Error when the loss stops being finite.
inline ClassifierResult train_classifier(nn::UnaryModule& model, const FashionMnist& train, const FashionMnist& test,
                                         const ClassifierTrainOptions& opt, const ClassifierInput& in) {
  FREQCAP_CHECK(opt.epochs >= 1 && opt.batch >= 1 && opt.lr > 0 && opt.clip >= 0 && opt.label_smoothing >= 0 &&
                    opt.label_smoothing < 1 && opt.ema_decay >= 0 && opt.ema_decay < 1 && opt.momentum >= 0 &&
                    opt.momentum < 1 && opt.forks >= 1 && opt.fork_epoch >= 0 && opt.fork_epoch < opt.epochs,
                "train_classifier: need epochs >= 1, batch >= 1, lr > 0, clip >= 0, 0 <= label_smoothing < 1, "
                "0 <= ema_decay < 1, 0 <= momentum < 1, forks >= 1, 0 <= fork_epoch < epochs (got ",
                opt.epochs, ", ", opt.batch, ", ", opt.lr, ", ", opt.clip, ", ", opt.label_smoothing, ", ",
                opt.ema_decay, ", ", opt.momentum, ", ", opt.forks, ", ", opt.fork_epoch, ")");
  const std::int64_t n_train =
      opt.train_count > 0 ? std::min(opt.train_count, train.images.dim(0)) : train.images.dim(0);
  FREQCAP_CHECK(n_train > 0, "train_classifier: empty training set");
  const std::int64_t steps_per_epoch = classifier_steps_per_epoch(n_train, opt.batch);
  const std::int64_t warmup = opt.warmup_steps >= 0 ? opt.warmup_steps : std::min<std::int64_t>(200, steps_per_epoch);
  const auto params = model.parameters();
  std::unique_ptr<nn::Optimizer> optimizer;
  if (opt.optimizer == ClassifierOptimizer::sgd)
    optimizer = std::make_unique<nn::SGD>(
        params, nn::SGDOptions(opt.lr).momentum(opt.momentum).nesterov(opt.nesterov).weight_decay(opt.weight_decay));
  else optimizer = std::make_unique<nn::Adam>(params, nn::AdamOptions(opt.lr).weight_decay(opt.weight_decay));
  const nn::WarmupCosineLr schedule(opt.lr, std::min(warmup, steps_per_epoch * opt.epochs),
                                    steps_per_epoch * opt.epochs, opt.lr * opt.final_lr_fraction);
  std::vector<std::int64_t> order(static_cast<std::size_t>(n_train));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937 shuffle_rng(opt.seed);
  std::optional<Augmenter> augmenter;
  if (opt.augment) augmenter.emplace(*opt.augment, std::uint64_t(opt.seed) + 1);
  std::optional<nn::ExponentialMovingAverage> ema;
  if (opt.ema_decay > 0) ema.emplace(model, opt.ema_decay);
  ClassifierResult result;
  const auto t0 = std::chrono::steady_clock::now();
  std::int64_t step = 0;
  if (opt.teacher) opt.teacher->eval();
  model.train();
  auto run_epoch = [&](int epoch, int fork) {
    const auto t_epoch = std::chrono::steady_clock::now();
    std::shuffle(order.begin(), order.end(), shuffle_rng);
    double loss_sum = 0, lr = 0, norm_sum = 0, norm_max = 0;
    std::int64_t correct = 0;
    for (std::int64_t s = 0; s < steps_per_epoch; ++s, ++step) {
      const auto begin = static_cast<std::size_t>(s * opt.batch);
      const auto end = static_cast<std::size_t>(std::min((s + 1) * opt.batch, n_train));
      Tensor<std::int64_t> y;
      Tensor<float> batch = make_classifier_batch(train, order, begin, end, in, y);
      if (augmenter) augmenter->apply(batch);
      const Var<float> x(std::move(batch));
      lr = nn::apply_lr(*optimizer, schedule, step);
      optimizer->zero_grad();
      const auto logits = model.forward(x);
      auto loss = classifier_loss(logits, x, y, opt);
      FREQCAP_CHECK(std::isfinite(loss.item()), "training diverged: loss is ", loss.item(), " at step ", step);
      loss.backward();
      const double norm = opt.clip > 0 ? nn::clip_grad_norm_(params, opt.clip) : nn::grad_norm(params);
      norm_sum += norm;
      norm_max = std::max(norm_max, norm);
      optimizer->step();
      if (ema) ema->update();
      const auto pred = argmax(logits.value(), 1);
      for (std::int64_t i = 0; i < pred.numel(); ++i) correct += pred.data()[i] == y.data()[i];
      loss_sum += loss.item() * static_cast<double>(end - begin);
    }
    EpochReport r;
    r.epoch = epoch;
    r.fork = fork;
    r.steps = step;
    r.lr = lr;
    r.train_loss = loss_sum / static_cast<double>(n_train);
    r.train_accuracy = static_cast<double>(correct) / static_cast<double>(n_train);
    r.grad_norm_mean = norm_sum / static_cast<double>(steps_per_epoch);
    r.grad_norm_max = norm_max;
    if (ema) ema->swap();  // score and report the average
    r.test_accuracy = classifier_accuracy(model, test, in, opt.test_count);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_epoch).count();
    if (opt.on_epoch) opt.on_epoch(r);
    if (ema && epoch < opt.epochs) ema->swap();  // train on from the live weights
    model.train();
    result.epochs.push_back(r);
  };
  for (int epoch = 1; epoch <= (opt.forks > 1 ? opt.fork_epoch : opt.epochs); ++epoch) run_epoch(epoch, -1);
  if (opt.forks > 1) {
    // The fork point: everything a copy resumes from.
    nn::StateDict fork_state;  // parameters and buffers, copied (the module's own share storage)
    for (const auto& [name, t] : model.state_dict()) fork_state.insert(name, nn::clone(t));
    const auto ema_state = ema ? ema->state() : decltype(ema->state()){};
    const auto optimizer_state = optimizer->state_dict();
    std::vector<std::int64_t> fr_steps;
    for (const auto& [name, fr] : dct::fr_layers(model)) fr_steps.push_back(fr->step());
    const std::int64_t fork_step = step;
    const auto fork_order = order;  // each epoch shuffles the order it finds
    std::vector<std::vector<Tensor<float>>> finals;  // each copy's parameters and float buffers
    for (int k = 0; k < opt.forks; ++k) {
      if (k > 0) {
        model.load_state_dict(fork_state);
        if (ema) ema->load_state(ema_state);
        optimizer->load_state_dict(optimizer_state);
        std::size_t i = 0;
        for (const auto& [name, fr] : dct::fr_layers(model)) fr->set_step(fr_steps[i++]);
        step = fork_step;
        order = fork_order;
        shuffle_rng = std::mt19937(opt.seed + 1000u * static_cast<unsigned>(k));
        if (opt.augment) augmenter.emplace(*opt.augment, std::uint64_t(opt.seed) + 1 + 1000u * static_cast<unsigned>(k));
        model.train();
      }
      for (int epoch = opt.fork_epoch + 1; epoch <= opt.epochs; ++epoch) run_epoch(epoch, k);
      result.fork_accuracy.push_back(result.epochs.back().test_accuracy);
      finals.emplace_back();  // the average's weights with an EMA
      for (const auto& t : nn::float_state(model)) finals.back().push_back(t.clone());
      if (opt.fork_merge == ForkMerge::lowest_train_loss)
        result.fork_train_loss.push_back(classifier_train_loss(model, train, in, opt));
    }
    if (opt.fork_merge == ForkMerge::average) {
      nn::average_states(nn::float_state(model), finals);
    } else {
      const auto& l = result.fork_train_loss;
      result.fork_picked = static_cast<int>(std::min_element(l.begin(), l.end()) - l.begin());
      const auto& picked = finals[static_cast<std::size_t>(result.fork_picked)];
      auto live = nn::float_state(model);  // shares the module's storage
      for (std::size_t i = 0; i < live.size(); ++i) live[i].copy_from(picked[i]);
    }
  }
  model.eval();
  result.test_accuracy =
      opt.forks > 1 ? classifier_accuracy(model, test, in, opt.test_count) : result.epochs.back().test_accuracy;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

}  // namespace freqcap
