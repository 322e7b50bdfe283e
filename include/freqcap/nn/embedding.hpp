// Embedding: a [num_embeddings, embedding_dim] table ("weight", N(0, 1) as
// PyTorch initialises it, the padding_idx row zeroed and given no gradient)
// looked up by int64 indices of any shape.
#pragma once

#include <cstdint>
#include <optional>
#include <random>

#include "freqcap/autograd/ops_misc.hpp"
#include "freqcap/nn/init.hpp"
#include "freqcap/nn/module.hpp"

namespace freqcap::nn {

/// `EmbeddingOptions(V, D).padding_idx(0)`.
struct EmbeddingOptions {
  EmbeddingOptions(std::int64_t num_embeddings, std::int64_t embedding_dim)
      : num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {}
  FREQCAP_OPTION(std::int64_t, num_embeddings);
  FREQCAP_OPTION(std::int64_t, embedding_dim);
  FREQCAP_OPTION(std::optional<std::int64_t>, padding_idx);
};

class Embedding : public Module {
 public:
  explicit Embedding(const EmbeddingOptions& options, std::mt19937& rng = global_generator())
      : Module("Embedding"), options_(options) {
    const std::int64_t V = options.num_embeddings(), D = options.embedding_dim();
    FREQCAP_CHECK(V > 0 && D > 0, "Embedding: sizes must be positive, got (", V, ", ", D, ")");
    if (options.padding_idx()) {
      std::int64_t p = *options.padding_idx();
      FREQCAP_CHECK(p >= -V && p < V, "Embedding: padding_idx ", p, " out of range for ", V, " rows");
      options_.padding_idx(p < 0 ? p + V : p);
    }
    Tensor<float> w(Shape{V, D});
    init::normal_(w, 0.0, 1.0, rng);
    if (options_.padding_idx()) w.select(0, *options_.padding_idx()).fill(0.0f);
    weight = register_parameter("weight", w);
  }
  Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim, std::mt19937& rng = global_generator())
      : Embedding(EmbeddingOptions(num_embeddings, embedding_dim), rng) {}

  /// indices (any shape, values in [0, V)) -> [..., D].
  Var<float> forward(const Tensor<std::int64_t>& indices) { return embedding(indices, weight, options_.padding_idx()); }
  Var<float> operator()(const Tensor<std::int64_t>& indices) { return forward(indices); }

  const EmbeddingOptions& options() const { return options_; }

  Var<float> weight;  ///< [V, D]

 private:
  EmbeddingOptions options_;
};

}  // namespace freqcap::nn
