// The captioner's transformer encoder over image tokens, as the seed's Keras
// TransformerEncoderBlock: LayerNorm -> Dense(embed, relu) -> multi-head
// self-attention (no mask, no dropout) -> LayerNorm(dense + attention).
// LayerNorm epsilon is Keras's 1e-3. Blocks stack (default 1); the first
// block's Dense maps the feature map's channels (input_dim) to embed_dim, the
// others embed -> embed. Optionally a learned position embedding of the image
// tokens ("image_position" [tokens, embed], 0.02-scale normal start) is added
// to the first block's Dense output, before its attention and residual.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>

#include "freqcap/autograd/ops_norm.hpp"
#include "freqcap/nn/layernorm.hpp"
#include "freqcap/transformer/attention.hpp"

namespace freqcap::transformer {

/// `EncoderOptions(512, 6).key_dim(512).input_dim(1280).image_positions(100)`.
struct EncoderOptions {
  EncoderOptions(std::int64_t embed_dim = 512, std::int64_t num_heads = 6) : embed_dim_(embed_dim), num_heads_(num_heads) {}
  FREQCAP_OPTION(std::int64_t, embed_dim);
  FREQCAP_OPTION(std::int64_t, num_heads);
  FREQCAP_OPTION(std::int64_t, key_dim) = 0;          ///< per head; 0 = embed_dim / num_heads
  FREQCAP_OPTION(std::int64_t, num_layers) = 1;
  FREQCAP_OPTION(std::int64_t, image_positions) = 0;  ///< number of image tokens; 0 = no position embedding
  FREQCAP_OPTION(std::int64_t, input_dim) = 0;        ///< channels C of the tokens; 0 = embed_dim
  FREQCAP_OPTION(double, layer_norm_eps) = 1e-3;
  std::int64_t input_width() const { return input_dim_ > 0 ? input_dim_ : embed_dim_; }
};

/// One encoder block: x [B, S, in] -> [B, S, E]. p holds norm_1, dense,
/// attention.{query,key,value,output}, norm_2; position [S, E] or undefined.
template <class T>
Var<T> encoder_block(const ParamView<T>& p, const Var<T>& x, std::int64_t heads, T eps, const Var<T>& position,
                     std::mt19937& rng) {
  Var<T> h = layer_norm(x, p("norm_1.weight"), p("norm_1.bias"), eps);
  h = relu(linear(h, p("dense.weight"), p("dense.bias")));
  if (position.defined()) {
    FREQCAP_CHECK(position.dim(0) == h.dim(1), "TransformerEncoder: ", h.dim(1),
                  " image tokens, but the position embedding was made for ", position.dim(0),
                  " (EncoderOptions::image_positions)");
    h = add(h, reshape(position, Shape{1, position.dim(0), position.dim(1)}));
  }
  const Var<T> a = multi_head_attention(p.sub("attention"), h, h, heads, AttentionMask{}, 0.0, false, rng);
  return layer_norm(add(h, a), p("norm_2.weight"), p("norm_2.bias"), eps);
}

/// The whole encoder: tokens [B, S, input_dim] -> [B, S, E]; p holds
/// layers.<i>.* and image_position when enabled.
template <class T>
Var<T> transformer_encoder(const ParamView<T>& p, const Var<T>& tokens, const EncoderOptions& o, std::mt19937& rng) {
  FREQCAP_CHECK(tokens.ndim() == 3 && tokens.dim(2) == o.input_width(), "TransformerEncoder: tokens ",
                shape_str(tokens.shape()), " must be [B, S, ", o.input_width(), "]");
  Var<T> x = tokens;
  for (std::int64_t i = 0; i < o.num_layers(); ++i)
    x = encoder_block(p.sub("layers").sub(std::to_string(i)), x, o.num_heads(), T(o.layer_norm_eps()),
                      i == 0 ? p.optional("image_position") : Var<T>(), rng);
  return x;
}

class TransformerEncoder : public nn::Module {
 public:
  explicit TransformerEncoder(const EncoderOptions& o, std::mt19937& rng = freqcap::global_generator())
      : nn::Module("TransformerEncoder"), options_(o) {
    FREQCAP_CHECK(o.num_layers() >= 1 && o.embed_dim() > 0 && o.num_heads() > 0 && o.image_positions() >= 0,
                  "TransformerEncoder: bad options (embed_dim ", o.embed_dim(), ", num_heads ", o.num_heads(),
                  ", num_layers ", o.num_layers(), ", image_positions ", o.image_positions(), ")");
    const std::int64_t E = o.embed_dim();
    if (o.image_positions() > 0) {
      Tensor<float> pos(Shape{o.image_positions(), E});
      nn::init::normal_(pos, 0.0, 0.02, rng);
      register_parameter("image_position", pos);
    }
    auto layers = register_module("layers", std::make_shared<nn::Module>("ModuleList"));
    for (std::int64_t i = 0; i < o.num_layers(); ++i) {
      auto block = layers->register_module(std::to_string(i), std::make_shared<nn::Module>("TransformerEncoderBlock"));
      const std::int64_t in = i == 0 ? o.input_width() : E;
      block->register_module("norm_1", std::make_shared<nn::LayerNorm>(
                                           nn::LayerNormOptions(Shape{in}).eps(o.layer_norm_eps())));
      block->register_module("dense", keras_dense(in, E, rng));
      block->register_module("attention", std::make_shared<MultiHeadAttention>(
                                              MultiHeadAttentionOptions(E, o.num_heads()).key_dim(o.key_dim()), rng));
      block->register_module("norm_2", std::make_shared<nn::LayerNorm>(
                                           nn::LayerNormOptions(Shape{E}).eps(o.layer_norm_eps())));
    }
  }

  /// tokens [B, S, input_dim] -> [B, S, E]. (No dropout: rng is unused today.)
  Var<float> forward(const Var<float>& tokens, std::mt19937& rng) {
    const auto map = parameter_map(*this);
    return transformer_encoder(ParamView<float>(map), tokens, options_, rng);
  }

  const EncoderOptions& options() const { return options_; }

 private:
  EncoderOptions options_;
};

}  // namespace freqcap::transformer
