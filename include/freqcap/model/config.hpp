// The captioner's configuration: which backbone and image size, the
// transformer's widths and depths, the caption length and vocabulary size.
// It travels as JSON in the model file's `__metadata__` ("freqcap.config"),
// with a format version so a file from an older or newer layout is refused
// with a message that says what differs. Two presets: `seed_config()` is the
// seed paper's (Keras example) setting, `scenes_config()` the small one that
// trains on the built-in Fashion Scenes set on a CPU inside the hour.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "freqcap/core/error.hpp"

namespace freqcap::model {

/// Bumped whenever the meaning of a config field or a weight name changes.
inline constexpr int kCaptionerFormat = 1;

struct CaptionerConfig {
  std::string backbone = "efficientnet_b0";  ///< backbones::make_backbone name
  std::int64_t backbone_classes = 1000;      ///< size of the backbone's own classifier (kept in the file)
  std::string normalize = "imagenet";        ///< "imagenet" (mean/std) or "unit" (pixels / 255 only)
  std::int64_t image_size = 299;             ///< images are resized to image_size x image_size
  std::int64_t embed_dim = 512;
  std::int64_t num_heads = 6;
  std::int64_t key_dim = 512;                ///< per head (Keras); 0 = embed_dim / num_heads
  std::int64_t ff_dim = 1024;
  std::int64_t enc_layers = 1;
  std::int64_t dec_layers = 1;
  std::int64_t seq_len = 25;                 ///< tokens per caption including <start> / <end>
  std::int64_t vocab_size = 10000;           ///< the upper bound asked for; the vocabulary may be smaller
  bool image_positions = false;              ///< learned position embedding on the image tokens

  nlohmann::json to_json() const {
    return {{"format", kCaptionerFormat}, {"backbone", backbone},   {"backbone_classes", backbone_classes},
            {"normalize", normalize},     {"image_size", image_size}, {"embed_dim", embed_dim},
            {"num_heads", num_heads},     {"key_dim", key_dim},     {"ff_dim", ff_dim},
            {"enc_layers", enc_layers},   {"dec_layers", dec_layers}, {"seq_len", seq_len},
            {"vocab_size", vocab_size},   {"image_positions", image_positions}};
  }

  /// Parses to_json()'s output; `what` (a file name) prefixes every error.
  static CaptionerConfig from_json(const std::string& text, const std::string& what) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      ::freqcap::detail::fail(what, ": captioner config is not valid JSON (", e.what(), ")");
    }
    FREQCAP_CHECK(j.is_object(), what, ": captioner config must be a JSON object");
    FREQCAP_CHECK(j.contains("format") && j["format"].is_number_integer(), what,
                  ": captioner config has no format version (a file from before format 1?)");
    const int format = j["format"].get<int>();
    FREQCAP_CHECK(format == kCaptionerFormat, what, ": captioner format ", format,
                  " is not supported (this build reads format ", kCaptionerFormat,
                  "); retrain or convert the model");
    CaptionerConfig c;
    try {
      c.backbone = j.at("backbone").get<std::string>();
      c.backbone_classes = j.at("backbone_classes").get<std::int64_t>();
      c.normalize = j.at("normalize").get<std::string>();
      c.image_size = j.at("image_size").get<std::int64_t>();
      c.embed_dim = j.at("embed_dim").get<std::int64_t>();
      c.num_heads = j.at("num_heads").get<std::int64_t>();
      c.key_dim = j.at("key_dim").get<std::int64_t>();
      c.ff_dim = j.at("ff_dim").get<std::int64_t>();
      c.enc_layers = j.at("enc_layers").get<std::int64_t>();
      c.dec_layers = j.at("dec_layers").get<std::int64_t>();
      c.seq_len = j.at("seq_len").get<std::int64_t>();
      c.vocab_size = j.at("vocab_size").get<std::int64_t>();
      c.image_positions = j.at("image_positions").get<bool>();
    } catch (const nlohmann::json::exception& e) {
      ::freqcap::detail::fail(what, ": captioner config is missing a field or has a wrong type (", e.what(), ")");
    }
    c.validate(what);
    return c;
  }

  /// Throws freqcap::Error (prefixed by `what`) unless every size is usable.
  void validate(const std::string& what) const {
    FREQCAP_CHECK(normalize == "imagenet" || normalize == "unit", what, ": normalize must be 'imagenet' or 'unit', got '",
                  normalize, "'");
    FREQCAP_CHECK(image_size >= 16, what, ": image_size ", image_size, " is too small");
    FREQCAP_CHECK(embed_dim > 0 && num_heads > 0 && ff_dim > 0 && key_dim >= 0, what,
                  ": embed_dim, num_heads and ff_dim must be positive and key_dim >= 0");
    FREQCAP_CHECK(key_dim > 0 || embed_dim % num_heads == 0, what, ": key_dim 0 splits embed_dim ", embed_dim,
                  " over ", num_heads, " heads, which does not divide");
    FREQCAP_CHECK(enc_layers >= 0 && dec_layers >= 1, what, ": need enc_layers >= 0 and dec_layers >= 1");
    FREQCAP_CHECK(seq_len >= 3, what, ": seq_len ", seq_len, " leaves no room for a word between <start> and <end>");
    FREQCAP_CHECK(vocab_size >= 5, what, ": vocab_size ", vocab_size, " is too small");
    FREQCAP_CHECK(backbone_classes >= 1, what, ": backbone_classes must be positive");
  }
};

/// The seed paper's configuration (Keras "Image Captioning" example):
/// EfficientNetB0 at 299, EMBED_DIM 512, six heads of key_dim 512, FF 1024.
inline CaptionerConfig seed_config() { return CaptionerConfig{}; }

/// The CPU preset for Fashion Scenes: the library's own scenes_cnn backbone
/// at the scenes' native 128x128 (8x8 = 64 image tokens), a 192-wide
/// transformer with four heads of 48, and learned image-token positions.
inline CaptionerConfig scenes_config() {
  CaptionerConfig c;
  c.backbone = "scenes_cnn";
  c.backbone_classes = 17;
  c.normalize = "unit";
  c.image_size = 128;
  c.embed_dim = 192;
  c.num_heads = 4;
  c.key_dim = 48;
  c.ff_dim = 384;
  c.seq_len = 25;
  c.vocab_size = 200;
  c.image_positions = true;
  return c;
}

}  // namespace freqcap::model
