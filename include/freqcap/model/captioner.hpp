// The captioner of the seed paper (Figure 1): a CNN backbone turns an image
// into a feature map [N, C, h, w], read as h*w image tokens [N, h*w, C]; a
// transformer encoder re-encodes them; a transformer decoder writes the
// caption token by token. Children are named "backbone", "encoder" and
// "decoder", so the state dict reads backbone.features.0.0.weight, ...,
// decoder.out.weight. The backbone is frozen (eval mode) unless the trainer
// says otherwise; see model/trainer.hpp.
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "freqcap/backbones/factory.hpp"
#include "freqcap/data/preprocess.hpp"
#include "freqcap/model/config.hpp"
#include "freqcap/model/decode.hpp"
#include "freqcap/text/vocabulary.hpp"
#include "freqcap/transformer/decoder.hpp"
#include "freqcap/transformer/encoder.hpp"

namespace freqcap::model {

/// How to turn image tokens into words.
struct GenerateOptions {
  int beam = 1;                   ///< 1 = greedy
  std::int64_t max_len = 0;       ///< tokens to generate at most (0 = the config's seq_len - 1)
  double length_penalty = 1.0;    ///< beam scores are divided by length^length_penalty
  std::int64_t batch = 64;        ///< images decoded together
};

class Captioner : public nn::Module {
 public:
  Captioner(CaptionerConfig config, Vocabulary vocabulary)
      : nn::Module("Captioner"), config_(std::move(config)), vocab_(std::move(vocabulary)) {
    config_.validate("captioner config");
    backbone_ = register_module("backbone", backbones::make_backbone(config_.backbone, config_.backbone_classes));
    backbone_->check_input(Shape{1, 3, config_.image_size, config_.image_size});
    {
      NoGradGuard ng;
      backbone_->eval();
      const Tensor<float> probe(Shape{1, 3, config_.image_size, config_.image_size});
      const Tensor<float> f = backbone_->extract_features(probe);
      feature_channels_ = f.dim(1);
      image_tokens_ = f.dim(2) * f.dim(3);
    }
    encoder_ = register_module(
        "encoder", std::make_shared<transformer::TransformerEncoder>(
                       transformer::EncoderOptions()
                           .input_dim(feature_channels_)
                           .embed_dim(config_.embed_dim)
                           .num_heads(config_.num_heads)
                           .key_dim(config_.key_dim)
                           .num_layers(config_.enc_layers)
                           .image_positions(config_.image_positions ? image_tokens_ : 0)));
    decoder_ = register_module("decoder", std::make_shared<transformer::TransformerDecoder>(
                                              transformer::DecoderOptions()
                                                  .vocab_size(vocab_.size())
                                                  .seq_len(max_tokens())
                                                  .embed_dim(config_.embed_dim)
                                                  .num_heads(config_.num_heads)
                                                  .key_dim(config_.key_dim)
                                                  .ff_dim(config_.ff_dim)
                                                  .num_layers(config_.dec_layers)));
  }

  const CaptionerConfig& config() const { return config_; }
  const Vocabulary& vocabulary() const { return vocab_; }
  backbones::Backbone& backbone() { return *backbone_; }
  transformer::TransformerEncoder& encoder() { return *encoder_; }
  transformer::TransformerDecoder& decoder() { return *decoder_; }
  /// Image tokens per image (h * w of the feature map) and their width C.
  std::int64_t image_token_count() const { return image_tokens_; }
  std::int64_t feature_channels() const { return feature_channels_; }
  /// Decoder positions: seq_len - 1 (inputs drop <end>, targets drop <start>).
  std::int64_t max_tokens() const { return config_.seq_len - 1; }

  /// RGB images in [0, 1], [3, H, W] or [N, 3, H, W] of any size -> the
  /// network's input [N, 3, S, S] (bilinear resize, then the config's normalisation).
  Tensor<float> preprocess(const Tensor<float>& images) const {
    Tensor<float> x = images.ndim() == 3 ? images.reshape({1, images.dim(0), images.dim(1), images.dim(2)}) : images;
    FREQCAP_CHECK(x.ndim() == 4 && x.dim(1) == 3, "captioner: expected RGB images [N, 3, H, W], got ",
                  shape_str(images.shape()));
    if (x.dim(2) != config_.image_size || x.dim(3) != config_.image_size)
      x = resize_bilinear(x, config_.image_size, config_.image_size, true);
    if (config_.normalize == "imagenet") x = imagenet_normalize(x);
    return x;
  }

  /// Network input [N, 3, S, S] -> image tokens [N, h*w, C] (graph through
  /// the backbone when it requires gradients).
  Var<float> image_tokens(const Var<float>& x) {
    Var<float> f = backbone_->features(x);  // [N, C, h, w]
    const std::int64_t n = f.dim(0), c = f.dim(1);
    return reshape(permute(f, {0, 2, 3, 1}), {n, f.dim(2) * f.dim(3), c});
  }
  /// Inference twin: [N, 3, S, S] -> [N, h*w, C], no graph, backbone as it is (eval for a frozen one).
  Tensor<float> image_tokens(const Tensor<float>& x) {
    NoGradGuard ng;
    return image_tokens(Var<float>(x)).value().contiguous();
  }

  /// Image tokens [N, h*w, C] -> encoder output ("memory") [N, h*w, E].
  Var<float> encode(const Var<float>& tokens, std::mt19937& rng) { return encoder_->forward(tokens, rng); }

  /// Teacher-forced logits [K*N, T, V] for K captions per image: `inputs`
  /// [K*N, T] are caption-major (caption k of image i at row k*N + i), and the
  /// memory [N, S, E] is repeated K times to match.
  Var<float> caption_logits(const Var<float>& memory, const Tensor<std::int64_t>& inputs, std::mt19937& rng) {
    const std::int64_t n = memory.dim(0);
    FREQCAP_CHECK(inputs.ndim() == 2 && n > 0 && inputs.dim(0) % n == 0, "captioner: ", inputs.dim(0),
                  " caption rows for ", n, " images");
    const std::int64_t k = inputs.dim(0) / n;
    Var<float> mem = memory;
    if (k > 1) mem = concat(std::vector<Var<float>>(static_cast<std::size_t>(k), memory), 0);
    return decoder_->forward(inputs, mem, rng);
  }

  /// Captions for image tokens [N, h*w, C] (eval semantics, no graph).
  std::vector<std::string> generate(const Tensor<float>& tokens, const GenerateOptions& opt = {}) {
    NoGradGuard ng;
    const bool was_training = is_training();
    eval();
    std::vector<std::string> out;
    const std::int64_t n = tokens.dim(0), step = std::max<std::int64_t>(1, opt.batch);
    std::mt19937 unused(0);
    for (std::int64_t at = 0; at < n; at += step) {
      const std::int64_t b = std::min(step, n - at);
      const Tensor<float> part = tokens.slice(0, at, at + b).contiguous();
      const Tensor<float> memory = encode(Var<float>(part), unused).value().contiguous();
      DecoderStepper stepper{*decoder_, memory};
      DecodeOptions d;
      d.start_id = vocab_.start_id();
      d.end_id = vocab_.end_id();
      d.max_len = opt.max_len > 0 ? std::min(opt.max_len, max_tokens()) : max_tokens();
      d.beam = opt.beam;
      d.length_penalty = opt.length_penalty;
      const auto ids = opt.beam <= 1 ? greedy_decode(stepper, stepper.start(b), b, d)
                                     : beam_search(stepper, stepper.start(b), b, d);
      for (const auto& seq : ids) out.push_back(vocab_.decode(seq));
    }
    if (was_training) train();
    return out;
  }

  /// Captions for RGB images in [0, 1] ([N, 3, H, W]; any size).
  std::vector<std::string> caption_images(const Tensor<float>& images, const GenerateOptions& opt = {}) {
    const bool was_training = is_training();
    eval();
    const Tensor<float> tokens = image_tokens(preprocess(images));
    if (was_training) train();
    return generate(tokens, opt);
  }

 private:
  /// decode.hpp's step-model interface over the transformer decoder and one memory.
  struct DecoderStepper {
    using State = transformer::TransformerDecoder::State;
    transformer::TransformerDecoder& decoder;
    const Tensor<float>& memory;
    State start(std::int64_t /*batch*/) { return decoder.start(memory); }
    Tensor<float> step(State& st, const Tensor<std::int64_t>& tokens) { return decoder.step(st, tokens); }
    void reorder(State& st, const std::vector<std::int64_t>& rows) { decoder.reorder(st, rows); }
  };

  CaptionerConfig config_;
  Vocabulary vocab_;
  std::int64_t feature_channels_ = 0, image_tokens_ = 0;
  std::shared_ptr<backbones::Backbone> backbone_;
  std::shared_ptr<transformer::TransformerEncoder> encoder_;
  std::shared_ptr<transformer::TransformerDecoder> decoder_;
};

}  // namespace freqcap::model
