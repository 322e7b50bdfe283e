// The decoder's input embedding, as the seed's Keras PositionalEmbedding:
// token embedding scaled by sqrt(embed_dim) plus a learned embedding of the
// position (0 .. seq_len-1). Both tables start Keras-style, uniform in
// [-0.05, 0.05]. Token id 0 (padding) is an ordinary row here; padding is
// handled by the attention and loss masks.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>

#include "freqcap/nn/embedding.hpp"
#include "freqcap/transformer/attention.hpp"

namespace freqcap::transformer {

/// tokens [B, T] (int64, in [0, V)) at positions start .. start+T-1 ->
/// [B, T, E] = token[tokens] * sqrt(E) + position[start + t]. p holds
/// token.weight [V, E] and position.weight [L, E].
template <class T>
Var<T> positional_embedding(const ParamView<T>& p, const Tensor<std::int64_t>& tokens, std::int64_t start = 0) {
  FREQCAP_CHECK(tokens.ndim() == 2, "positional_embedding: tokens ", shape_str(tokens.shape()), " must be [B, T]");
  const Var<T> tok = p("token.weight"), pos = p("position.weight");
  const std::int64_t L = tokens.dim(1), E = tok.dim(1);
  FREQCAP_CHECK(start >= 0 && start + L <= pos.dim(0), "positional_embedding: positions ", start, "..",
                start + L - 1, " exceed the sequence length ", pos.dim(0));
  const Var<T> x = embedding(tokens, tok) * T(std::sqrt(double(E)));
  return add(x, reshape(slice(pos, 0, start, start + L), Shape{1, L, E}));
}

class PositionalEmbedding : public nn::Module {
 public:
  PositionalEmbedding(std::int64_t vocab_size, std::int64_t seq_len, std::int64_t embed_dim,
                      std::mt19937& rng = freqcap::global_generator())
      : nn::Module("PositionalEmbedding") {
    FREQCAP_CHECK(vocab_size > 0 && seq_len > 0 && embed_dim > 0, "PositionalEmbedding: sizes (", vocab_size, ", ",
                  seq_len, ", ", embed_dim, ") must be positive");
    token = register_module("token", std::make_shared<nn::Embedding>(vocab_size, embed_dim, rng));
    position = register_module("position", std::make_shared<nn::Embedding>(seq_len, embed_dim, rng));
    nn::init::uniform_(token->weight.value(), -0.05, 0.05, rng);
    nn::init::uniform_(position->weight.value(), -0.05, 0.05, rng);
  }

  /// tokens [B, T] at positions start.. -> [B, T, E].
  Var<float> forward(const Tensor<std::int64_t>& tokens, std::int64_t start = 0) {
    const auto map = parameter_map(*this);
    return positional_embedding(ParamView<float>(map), tokens, start);
  }

  std::shared_ptr<nn::Embedding> token;     ///< [V, E]
  std::shared_ptr<nn::Embedding> position;  ///< [seq_len, E]
};

}  // namespace freqcap::transformer
