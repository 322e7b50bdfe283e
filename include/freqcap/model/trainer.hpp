// The captioner's training loop (the seed's recipe, after the Keras example):
// each step takes a batch of images with all K of their captions, runs the
// encoder once per image and the decoder on every caption (teacher forcing),
// and minimises the masked token cross-entropy with Adam, a linear warmup
// then a constant or cosine learning rate, and gradient clipping. Validation
// loss and masked accuracy after every epoch (optionally BLEU-4 of greedy
// captions) drive early stopping, which keeps the best weights. Training
// images can be augmented (seed Algorithm 1, data/augment.hpp) on a worker
// thread ahead of the model; without augmentation and with a frozen backbone
// the image tokens are computed once and cached. A checkpoint after every
// epoch lets `resume` continue the run to the same final weights.
#pragma once

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "freqcap/core/random.hpp"
#include "freqcap/data/augment.hpp"
#include "freqcap/data/prefetch.hpp"
#include "freqcap/metrics/evaluate.hpp"
#include "freqcap/model/caption_data.hpp"
#include "freqcap/model/checkpoint.hpp"
#include "freqcap/model/progress.hpp"
#include "freqcap/nn/clip_grad.hpp"
#include "freqcap/nn/lr_schedule.hpp"
#include "freqcap/nn/optim.hpp"

namespace freqcap::model {

struct TrainOptions {
  std::filesystem::path out;          ///< model file; MODEL.ckpt and MODEL.csv sit beside it
  int epochs = 14;
  std::int64_t batch = 16;            ///< images per step, each with all its captions
  std::int64_t captions_per_image = 5;
  double lr = 1e-3;
  std::int64_t warmup = 0;            ///< linear warmup steps
  std::string schedule = "constant";  ///< after warmup: "constant" or "cosine" (to lr / 50 at the end)
  double clip = 5.0;                  ///< global gradient-norm clip (0 = off)
  double weight_decay = 0.0;
  int patience = 3;                   ///< early stopping on val loss (0 = off); best weights are kept
  bool augment = false;
  bool train_backbone = false;
  std::uint64_t seed = 42;
  std::int64_t val_bleu_images = 0;   ///< > 0: BLEU-4 of greedy captions of that many val images per epoch
  int stop_after = 0;                 ///< > 0: stop after that many epochs of this run (as if killed)
  int loader_threads = 1;             ///< augmentation workers
  bool fp16 = false;                  ///< store the final model's weights as fp16

  nlohmann::json to_json() const {
    return {{"epochs", epochs}, {"batch", batch}, {"captions_per_image", captions_per_image}, {"lr", lr},
            {"warmup", warmup}, {"schedule", schedule}, {"clip", clip}, {"weight_decay", weight_decay},
            {"patience", patience}, {"augment", augment}, {"train_backbone", train_backbone}, {"seed", seed},
            {"val_bleu_images", val_bleu_images}};
  }
};

inline std::filesystem::path checkpoint_path(const std::filesystem::path& model) { return model.string() + ".ckpt"; }
inline std::filesystem::path log_path(const std::filesystem::path& model) { return model.string() + ".csv"; }

struct TrainResult {
  std::vector<EpochRecord> epochs;  ///< the epochs run by this call
  int best_epoch = 0;
  double best_val_loss = 0;
  bool stopped_early = false;
};

/// A batch's teacher-forced masked cross-entropy (with its graph) and token accuracy.
struct BatchLoss {
  Var<float> loss;
  double accuracy = 0;
};
/// The BatchLoss of the captions of images `idx` of `enc`, given those images' tokens.
inline BatchLoss teacher_forced_loss(Captioner& model, const Var<float>& tokens, const EncodedCaptions& enc,
                                     const std::vector<std::int64_t>& idx, std::mt19937& rng) {
  const Var<float> memory = model.encode(tokens, rng);
  const Tensor<std::int64_t> targets = gather_captions(enc.targets, idx);
  const Tensor<float> mask = gather_captions(enc.mask, idx);
  const Var<float> logits = model.caption_logits(memory, gather_captions(enc.inputs, idx), rng);
  return {masked_cross_entropy(logits, targets, mask), masked_accuracy(logits, targets, mask)};
}

/// Validation: mean teacher-forced loss and accuracy over every image of a set
/// (no graph; call in eval mode, where dropout is off).
inline std::pair<double, double> validation_loss(Captioner& model, const Tensor<float>& tokens,
                                                 const EncodedCaptions& enc) {
  NoGradGuard ng;
  std::mt19937 unused(0);
  const std::int64_t n = tokens.dim(0);
  double loss = 0, acc = 0;
  for (std::int64_t at = 0; at < n; at += 64) {
    std::vector<std::int64_t> idx;
    for (std::int64_t i = at; i < std::min(n, at + 64); ++i) idx.push_back(i);
    const BatchLoss b = teacher_forced_loss(model, Var<float>(gather_rows(tokens, idx)), enc, idx, unused);
    loss += b.loss.item() * double(idx.size());
    acc += b.accuracy * double(idx.size());
  }
  return {loss / double(n), acc / double(n)};
}

/// Trains `model` on `train` (validating on `val` when it has images) and
/// writes the model and checkpoint files. `resume` continues a checkpoint
/// (read_checkpoint_extras) whose weights `model` already holds.
inline TrainResult train_captioner(Captioner& model, const CaptionDataset& train, const CaptionDataset* val,
                                   const TrainOptions& opt, std::ostream& log,
                                   const CheckpointExtras* resume = nullptr) {
  FREQCAP_CHECK(opt.batch >= 1 && opt.epochs >= 1 && opt.captions_per_image >= 1, "train: batch, epochs and captions per image must be positive");
  FREQCAP_CHECK(opt.schedule == "constant" || opt.schedule == "cosine", "train: schedule must be constant or cosine, got '",
                opt.schedule, "'");
  const std::int64_t T = model.max_tokens(), K = opt.captions_per_image;
  const EncodedCaptions tr = encode_captions(train, model.vocabulary(), T, K);
  if (tr.truncated > 0)
    log << "warning: " << tr.truncated << " training captions are longer than seq_len " << model.config().seq_len
        << " tokens with <start> and <end>; they were truncated\n";
  std::optional<EncodedCaptions> va;
  if (val && val->size() > 0) va = encode_captions(*val, model.vocabulary(), T, K);

  // Frozen backbone: no gradients, eval mode (BatchNorm keeps its statistics).
  for (auto& [name, p] : model.backbone().named_parameters()) p.set_requires_grad(opt.train_backbone);
  std::vector<Var<float>> params;
  for (auto& [name, p] : model.named_parameters())
    if (p.requires_grad()) params.push_back(p);
  nn::Adam adam(params, nn::AdamOptions(opt.lr).weight_decay(opt.weight_decay));

  const std::int64_t n = train.size(), steps_per_epoch = (n + opt.batch - 1) / opt.batch;
  const std::int64_t total_steps = steps_per_epoch * opt.epochs;
  std::unique_ptr<nn::LrSchedule> schedule;
  if (opt.schedule == "cosine")
    schedule = std::make_unique<nn::WarmupCosineLr>(opt.lr, opt.warmup, total_steps, opt.lr / 50);
  else
    schedule = std::make_unique<nn::WarmupConstantLr>(opt.lr, opt.warmup);

  TrainerState state;
  state.options = opt.to_json();
  std::mt19937 rng(static_cast<std::uint32_t>(opt.seed));
  nn::TensorDict best;
  if (resume) {
    state = resume->state;
    FREQCAP_CHECK(state.options == opt.to_json(), "resume: the checkpoint was written with training options ",
                  state.options.dump(), ", not ", opt.to_json().dump(), " (pass the same flags to resume)");
    adam.load_state_dict(resume->optim);
    best = resume->best;
    rng = rng_from_string(state.rng, "resume");
  }

  // Cached image tokens when nothing changes them between epochs.
  const bool cache = !opt.augment && !opt.train_backbone;
  auto token_progress = [&](const char* what) {
    return [&log, what](std::int64_t done, std::int64_t total) {
      if (done == total) log << what << ": image tokens of " << total << " images computed\n";
    };
  };
  Tensor<float> train_tokens, val_tokens;
  if (cache) train_tokens = compute_image_tokens(model, train, 64, token_progress("train"));

  auto set_modes = [&](bool training) {
    if (training) model.train();
    else model.eval();
    if (!opt.train_backbone) model.backbone().eval();
  };

  TrainResult result;
  const int first_epoch = state.epoch + 1;
  for (int epoch = first_epoch; epoch <= opt.epochs; ++epoch) {
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    Rng shuffle_rng(derive_seed(opt.seed, {0x5u, static_cast<std::uint64_t>(epoch)}));
    shuffle(order, shuffle_rng);
    auto batch_of = [&](std::int64_t s) {
      const std::int64_t b0 = s * opt.batch, b1 = std::min(n, b0 + opt.batch);
      return std::vector<std::int64_t>(order.begin() + b0, order.begin() + b1);
    };
    // Augmented images for step s, made on worker threads ahead of the model.
    std::unique_ptr<Prefetcher<Tensor<float>>> images;
    if (!cache)
      images = std::make_unique<Prefetcher<Tensor<float>>>(
          [&, epoch](std::int64_t s) {
            Tensor<float> x = load_image_batch(train, batch_of(s));
            if (opt.augment)
              Augmenter(AugmentOptions{}, derive_seed(opt.seed, {0xa5u, static_cast<std::uint64_t>(epoch),
                                                                 static_cast<std::uint64_t>(s)}))
                  .apply(x);
            return model.preprocess(x);
          },
          steps_per_epoch, std::max(1, opt.loader_threads), 2);

    set_modes(true);
    ProgressBar bar("epoch " + std::to_string(epoch) + "/" + std::to_string(opt.epochs), n);
    double loss_sum = 0, acc_sum = 0;
    std::int64_t seen = 0;
    for (std::int64_t s = 0; s < steps_per_epoch; ++s, ++state.step) {
      const std::vector<std::int64_t> idx = batch_of(s);
      nn::apply_lr(adam, *schedule, state.step);
      adam.zero_grad();
      const Var<float> tokens = cache ? Var<float>(gather_rows(train_tokens, idx)) : model.image_tokens(Var<float>(images->next()));
      BatchLoss b = teacher_forced_loss(model, tokens, tr, idx, rng);
      Var<float>& loss = b.loss;
      FREQCAP_CHECK(std::isfinite(loss.item()), "training diverged: loss is ", loss.item(), " at epoch ", epoch,
                    " step ", s, " (lower --lr or raise --warmup)");
      loss.backward();
      if (opt.clip > 0) nn::clip_grad_norm_(params, opt.clip);
      adam.step();
      const auto w = static_cast<double>(idx.size());
      loss_sum += loss.item() * w;
      acc_sum += b.accuracy * w;
      seen += static_cast<std::int64_t>(idx.size());
      bar.update(seen, loss_sum / static_cast<double>(seen), acc_sum / static_cast<double>(seen));
    }
    images.reset();

    EpochRecord rec;
    rec.epoch = epoch;
    rec.train_loss = loss_sum / static_cast<double>(seen);
    rec.train_acc = acc_sum / static_cast<double>(seen);
    rec.lr = adam.lr();
    set_modes(false);
    std::string suffix;
    if (va) {
      if (val_tokens.numel() == 0 || !cache) val_tokens = compute_image_tokens(model, *val, 64);
      std::tie(rec.val_loss, rec.val_acc) = validation_loss(model, val_tokens, *va);
      char buf[96];
      std::snprintf(buf, sizeof buf, "  val loss %.4f  val acc %.4f", rec.val_loss, rec.val_acc);
      suffix = buf;
      if (opt.val_bleu_images > 0) {
        const std::int64_t m = std::min(opt.val_bleu_images, val->size());
        const auto caps = model.generate(val_tokens.slice(0, 0, m).contiguous());
        std::vector<std::vector<std::string>> refs(val->captions.begin(), val->captions.begin() + m);
        rec.val_bleu4 = metrics::evaluate_captions(refs, caps).score("BLEU-4");
        std::snprintf(buf, sizeof buf, "  val BLEU-4 %.4f", rec.val_bleu4);
        suffix += buf;
      }
    }
    rec.seconds = bar.seconds();
    bar.finish(suffix);

    // Early stopping bookkeeping: the best weights by validation loss (the
    // last epoch's when there is no validation set).
    const double score = va ? rec.val_loss : -static_cast<double>(epoch);
    if (score < state.best_val_loss) {
      state.best_val_loss = score;
      state.best_epoch = epoch;
      state.bad_epochs = 0;
      best = nn::TensorDict();
      for (const auto& [name, t] : model.state_dict()) best.insert(name, nn::clone(t));
    } else {
      ++state.bad_epochs;
    }
    state.epoch = epoch;
    state.rng = rng_to_string(rng);
    save_checkpoint(checkpoint_path(opt.out), model, best, adam, state);
    save_safetensors(opt.out, tensor_refs(best, opt.fp16), captioner_metadata(model));  // best so far
    append_epoch_csv(log_path(opt.out), rec, epoch == 1);
    result.epochs.push_back(rec);
    const bool early = opt.patience > 0 && va && state.bad_epochs >= opt.patience;
    if (early) {
      log << "early stopping: validation loss has not improved for " << opt.patience << " epochs\n";
      result.stopped_early = true;
    }
    if (early || epoch == opt.epochs || (opt.stop_after > 0 && epoch - first_epoch + 1 >= opt.stop_after)) {
      if (early || epoch == opt.epochs) break;
      log << "stopping after " << opt.stop_after << " epoch(s) as asked; --resume " << checkpoint_path(opt.out).string()
          << " continues\n";
      break;
    }
  }

  // The model file already holds the best weights; so does the model unless
  // the run was stopped early on purpose (it then keeps its current weights).
  const bool interrupted = opt.stop_after > 0 && state.epoch < opt.epochs && !result.stopped_early;
  if (!interrupted && !best.empty()) model.load_state_dict(best, true);
  result.best_epoch = state.best_epoch;
  result.best_val_loss = state.best_val_loss;
  set_modes(false);
  return result;
}

}  // namespace freqcap::model
