// freqcap-train: trains a captioner on DIR/train.json (validating on
// DIR/val.json when present) and writes one model file (weights, config and
// vocabulary), a checkpoint MODEL.ckpt after every epoch and the per-epoch log
// MODEL.csv. `--resume MODEL.ckpt` continues an interrupted run.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "freqcap/freqcap.hpp"
#include "freqcap/model/pretrain_backbone.hpp"
#include "freqcap/model/trainer.hpp"
#include "run_main.hpp"

using namespace freqcap;

int main(int argc, char** argv) {
  CLI::App app{"Train an image captioner (CNN backbone + transformer encoder-decoder)"};
  std::string data, backbone = "scenes_cnn", out, resume, backbone_weights, preset;
  model::TrainOptions opt;
  model::CaptionerConfig cfg;
  int threads = 0, pretrain_epochs = 0;
  double pretrain_minutes = 0;
  bool augment = false, no_augment = false;
  // Model-shape flags: 0 / empty = the preset's value.
  std::int64_t image_size = 0, embed = 0, heads = 0, key_dim = -1, ff = 0, enc = -1, dec = 0, seq = 0, vocab = 0;
  std::string image_positions;
  app.add_option("--data", data, "folder with train.json (and val.json)")->required();
  app.add_option("--backbone", backbone, "scenes_cnn, alexnet, efficientnet_b0, efficientnet_b1, resnet50, mobilenet_v2, alexnet_fr, efficientnet_b0_fr")->capture_default_str();
  app.add_option("--out", out, "model file to write (safetensors)")->required();
  app.add_option("--preset", preset, "seed (the paper's sizes) or scenes (CPU preset); default: scenes for scenes_cnn, else seed");
  app.add_option("--epochs", opt.epochs, "epochs")->capture_default_str();
  app.add_option("--batch", opt.batch, "images per step (each with all its captions)")->capture_default_str();
  app.add_option("--image-size", image_size, "input size S (images are resized to S x S)");
  app.add_option("--embed-dim", embed, "transformer width");
  app.add_option("--heads", heads, "attention heads");
  app.add_option("--key-dim", key_dim, "key size per head (Keras semantics); 0 = embed-dim / heads");
  app.add_option("--ff-dim", ff, "decoder feed-forward width");
  app.add_option("--enc-layers", enc, "encoder blocks");
  app.add_option("--dec-layers", dec, "decoder blocks");
  app.add_option("--seq-len", seq, "caption length in tokens incl. <start> and <end>");
  app.add_option("--vocab-size", vocab, "largest vocabulary");
  app.add_option("--image-positions", image_positions, "on/off: learned position embedding on image tokens");
  app.add_option("--lr", opt.lr, "peak Adam learning rate")->capture_default_str();
  app.add_option("--warmup", opt.warmup, "linear warmup steps")->capture_default_str();
  app.add_option("--schedule", opt.schedule, "after warmup: constant or cosine")->capture_default_str();
  app.add_option("--clip", opt.clip, "gradient-norm clip (0 = off)")->capture_default_str();
  app.add_option("--patience", opt.patience, "early-stopping patience in epochs (0 = off)")->capture_default_str();
  app.add_flag("--augment", augment, "augment training images (seed Algorithm 1)");
  app.add_flag("--no-augment", no_augment, "no augmentation: image tokens are computed once (default)");
  app.add_flag("--train-backbone", opt.train_backbone, "train the backbone jointly instead of freezing it");
  app.add_option("--backbone-weights", backbone_weights, "initial backbone weights (safetensors, torchvision names)");
  app.add_option("--pretrain-epochs", pretrain_epochs, "scenes_cnn only: first pretrain the backbone on single Fashion-MNIST items for N epochs");
  app.add_option("--pretrain-minutes", pretrain_minutes, "time budget of that pretraining (0 = none)");
  app.add_option("--val-bleu", opt.val_bleu_images, "BLEU-4 of greedy captions of N val images per epoch")->capture_default_str();
  app.add_option("--captions-per-image", opt.captions_per_image, "captions per image per step")->capture_default_str();
  app.add_option("--seed", opt.seed, "seed for initialisation, shuffling, dropout and augmentation")->capture_default_str();
  app.add_option("--threads", threads, "worker threads (default: FREQCAP_NUM_THREADS, else all cores)");
  app.add_option("--loader-threads", opt.loader_threads, "image loading / augmentation threads")->capture_default_str();
  app.add_flag("--fp16", opt.fp16, "store the final model's weights as fp16 (loading restores fp32)");
  app.add_option("--resume", resume, "continue from MODEL.ckpt (or MODEL, whose .ckpt is used)");
  app.add_option("--stop-after", opt.stop_after, "stop after N epochs of this run (resume later)");
  CLI11_PARSE(app, argc, argv);

  return freqcap::examples::run_main([&] {
    keep_freed_tensor_memory();
    const int used = init_threads(threads);
    opt.out = out;
    opt.augment = augment && !no_augment;
    const auto t0 = std::chrono::steady_clock::now();
    const std::filesystem::path dir(data);
    const model::CaptionDataset train = model::read_caption_dataset(dir / "train.json");
    std::optional<model::CaptionDataset> val;
    if (std::filesystem::exists(dir / "val.json")) val = model::read_caption_dataset(dir / "val.json");

    std::unique_ptr<model::Captioner> net;
    std::optional<model::CheckpointExtras> extras;
    if (!resume.empty()) {
      std::filesystem::path ckpt = resume;
      if (ckpt.extension() != ".ckpt" && std::filesystem::exists(model::checkpoint_path(ckpt))) ckpt = model::checkpoint_path(ckpt);
      net = model::load_captioner(ckpt, "model.");
      extras = model::read_checkpoint_extras(ckpt);
      std::printf("resuming %s after epoch %d\n", ckpt.string().c_str(), extras->state.epoch);
    } else {
      if (preset.empty()) preset = backbone == "scenes_cnn" ? "scenes" : "seed";
      FREQCAP_CHECK(preset == "seed" || preset == "scenes", "--preset must be seed or scenes, got '", preset, "'");
      cfg = preset == "scenes" ? model::scenes_config() : model::seed_config();
      cfg.backbone = backbone;
      if (backbone != "scenes_cnn" && preset == "scenes") cfg.backbone_classes = 1000, cfg.normalize = "imagenet";
      if (backbone == "scenes_cnn") cfg.backbone_classes = 17, cfg.normalize = "unit";
      if (image_size > 0) cfg.image_size = image_size;
      if (embed > 0) cfg.embed_dim = embed;
      if (heads > 0) cfg.num_heads = heads;
      if (key_dim >= 0) cfg.key_dim = key_dim;
      if (ff > 0) cfg.ff_dim = ff;
      if (enc >= 0) cfg.enc_layers = enc;
      if (dec > 0) cfg.dec_layers = dec;
      if (seq > 0) cfg.seq_len = seq;
      if (vocab > 0) cfg.vocab_size = vocab;
      if (!image_positions.empty()) {
        FREQCAP_CHECK(image_positions == "on" || image_positions == "off", "--image-positions must be on or off");
        cfg.image_positions = image_positions == "on";
      }
      manual_seed(opt.seed);
      net = std::make_unique<model::Captioner>(cfg, Vocabulary::build(model::all_captions(train), cfg.vocab_size));
      if (pretrain_epochs > 0) {
        auto* cnn = dynamic_cast<backbones::ScenesCNN*>(&net->backbone());
        FREQCAP_CHECK(cnn != nullptr, "--pretrain-epochs works with --backbone scenes_cnn only");
        model::PretrainOptions po;
        po.epochs = pretrain_epochs;
        po.minutes = pretrain_minutes;
        po.seed = opt.seed;
        const auto r = model::pretrain_scenes_backbone(*cnn, po, [](const model::PretrainEpoch& e) {
          std::printf("pretrain epoch %d: %.0f items/s, loss %.4f, held-out class acc %.4f, colour acc %.4f, %.0f s\n",
                      e.epoch, e.items_per_second, e.loss, e.val_class_accuracy, e.val_colour_accuracy, e.seconds);
          std::fflush(stdout);
        });
        std::printf("backbone pretrained: class accuracy %.4f, colour accuracy %.4f on held-out items\n",
                    r.val_class_accuracy, r.val_colour_accuracy);
        save_state_dict(out + ".backbone.safetensors", *cnn);
      }
      if (!backbone_weights.empty()) backbones::load_backbone_weights(net->backbone(), backbone_weights);
    }
    const auto& c = net->config();
    std::printf("freqcap %s: %lld train / %lld val images, backbone %s at %lldx%lld (%lld tokens of %lld), "
                "vocabulary %lld, %lld parameters, %d threads\n",
                version_string, static_cast<long long>(train.size()), static_cast<long long>(val ? val->size() : 0),
                c.backbone.c_str(), static_cast<long long>(c.image_size), static_cast<long long>(c.image_size),
                static_cast<long long>(net->image_token_count()), static_cast<long long>(net->feature_channels()),
                static_cast<long long>(net->vocabulary().size()), static_cast<long long>(net->parameter_count()), used);
    const auto r = model::train_captioner(*net, train, val ? &*val : nullptr, opt, std::cout, extras ? &*extras : nullptr);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("best epoch %d (val loss %.4f); wrote %s in %.0f s\n", r.best_epoch, r.best_val_loss, out.c_str(), secs);
  });
}
