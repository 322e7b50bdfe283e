// The captioner's transformer decoder, as the seed's Keras
// TransformerDecoderBlock (post-LN): positional embedding -> N blocks of
// [causal + padding-masked self-attention -> add & LN; cross-attention over
// the encoder output -> add & LN; Dense(ff, relu) -> Dropout(0.3) ->
// Dense(embed) -> add & LN -> Dropout(0.5)] -> Linear to vocabulary logits (no
// softmax: the loss takes logits). Attention-weight dropout 0.1 in training.
// forward() is the teacher-forced training pass; start()/step()/reorder()
// decode incrementally with a key/value cache (kv_cache.hpp): step t projects
// only the new token and attends over the cached keys, O(t) work.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "freqcap/autograd/ops_norm.hpp"
#include "freqcap/nn/layernorm.hpp"
#include "freqcap/transformer/attention.hpp"
#include "freqcap/transformer/kv_cache.hpp"
#include "freqcap/transformer/positional_embedding.hpp"

namespace freqcap::transformer {

/// `DecoderOptions(V, 24, 512, 6).key_dim(512).ff_dim(1024)`.
struct DecoderOptions {
  DecoderOptions(std::int64_t vocab_size = 0, std::int64_t seq_len = 0, std::int64_t embed_dim = 512,
                 std::int64_t num_heads = 6)
      : vocab_size_(vocab_size), seq_len_(seq_len), embed_dim_(embed_dim), num_heads_(num_heads) {}
  FREQCAP_OPTION(std::int64_t, vocab_size);
  FREQCAP_OPTION(std::int64_t, seq_len);  ///< longest input sequence (position table size)
  FREQCAP_OPTION(std::int64_t, embed_dim);
  FREQCAP_OPTION(std::int64_t, num_heads);
  FREQCAP_OPTION(std::int64_t, key_dim) = 0;  ///< per head; 0 = embed_dim / num_heads
  FREQCAP_OPTION(std::int64_t, ff_dim) = 512;
  FREQCAP_OPTION(std::int64_t, num_layers) = 1;
  FREQCAP_OPTION(double, dropout_ff) = 0.3;
  FREQCAP_OPTION(double, dropout_out) = 0.5;
  FREQCAP_OPTION(double, attention_dropout) = 0.1;
  FREQCAP_OPTION(double, layer_norm_eps) = 1e-3;
  std::int64_t head_dim() const { return key_dim_ > 0 ? key_dim_ : embed_dim_ / num_heads_; }
};

/// One decoder block around two attention callables: self_attn(x) and
/// cross_attn(h) map [B, T, E] -> [B, T, E]. p holds norm_1..3, ff_1, ff_2.
template <class T, class SelfAttn, class CrossAttn>
Var<T> decoder_block_with(const ParamView<T>& p, const Var<T>& x, SelfAttn&& self_attn, CrossAttn&& cross_attn,
                          const DecoderOptions& o, bool training, std::mt19937& rng) {
  const T eps = T(o.layer_norm_eps());
  const Var<T> h1 = layer_norm(add(x, self_attn(x)), p("norm_1.weight"), p("norm_1.bias"), eps);
  const Var<T> h2 = layer_norm(add(h1, cross_attn(h1)), p("norm_2.weight"), p("norm_2.bias"), eps);
  Var<T> f = relu(linear(h2, p("ff_1.weight"), p("ff_1.bias")));
  f = linear(dropout(f, o.dropout_ff(), training, rng), p("ff_2.weight"), p("ff_2.bias"));
  return dropout(layer_norm(add(f, h2), p("norm_3.weight"), p("norm_3.bias"), eps), o.dropout_out(), training, rng);
}

/// One decoder block on a whole sequence: x [B, T, E], memory [B, S, E];
/// self_mask applies to the self-attention, the cross-attention is unmasked.
template <class T>
Var<T> decoder_block(const ParamView<T>& p, const Var<T>& x, const Var<T>& memory, const AttentionMask& self_mask,
                     const DecoderOptions& o, bool training, std::mt19937& rng) {
  const std::int64_t H = o.num_heads();
  const double pa = o.attention_dropout();
  auto self_attn = [&](const Var<T>& h) {
    return multi_head_attention(p.sub("self_attention"), h, h, H, self_mask, pa, training, rng);
  };
  auto cross_attn = [&](const Var<T>& h) {
    return multi_head_attention(p.sub("cross_attention"), h, memory, H, AttentionMask{}, pa, training, rng);
  };
  return decoder_block_with(p, x, self_attn, cross_attn, o, training, rng);
}

/// Token ids [B, T] -> key padding mask [B, T] (1 = token, 0 = id 0 = padding).
inline Tensor<std::int64_t> padding_mask(const Tensor<std::int64_t>& tokens) {
  return map(tokens, [](std::int64_t t) { return std::int64_t(t != 0); });
}

/// The whole decoder, teacher-forced: tokens [B, T], memory [B, S, E] -> logits [B, T, V].
template <class T>
Var<T> transformer_decoder(const ParamView<T>& p, const Tensor<std::int64_t>& tokens, const Var<T>& memory,
                           const DecoderOptions& o, bool training, std::mt19937& rng) {
  FREQCAP_CHECK(tokens.ndim() == 2 && memory.ndim() == 3 && memory.dim(0) == tokens.dim(0) &&
                    memory.dim(2) == o.embed_dim(),
                "TransformerDecoder: tokens ", shape_str(tokens.shape()), " and memory ", shape_str(memory.shape()),
                " must be [B, T] and [B, S, ", o.embed_dim(), "]");
  Var<T> x = positional_embedding(p.sub("embedding"), tokens);
  AttentionMask mask;
  mask.causal = true;
  mask.key_padding = padding_mask(tokens);
  for (std::int64_t i = 0; i < o.num_layers(); ++i)
    x = decoder_block(p.sub("layers").sub(std::to_string(i)), x, memory, mask, o, training, rng);
  return linear(x, p("output.weight"), p("output.bias"));
}

class TransformerDecoder : public nn::Module {
 public:
  using State = DecoderState;

  explicit TransformerDecoder(const DecoderOptions& o, std::mt19937& rng = freqcap::global_generator())
      : nn::Module("TransformerDecoder"), options_(o) {
    FREQCAP_CHECK(o.vocab_size() > 0 && o.seq_len() > 0 && o.embed_dim() > 0 && o.num_heads() > 0 &&
                      o.ff_dim() > 0 && o.num_layers() >= 1,
                  "TransformerDecoder: bad options (vocab ", o.vocab_size(), ", seq_len ", o.seq_len(), ", embed ",
                  o.embed_dim(), ", heads ", o.num_heads(), ", ff ", o.ff_dim(), ", layers ", o.num_layers(), ")");
    const std::int64_t E = o.embed_dim();
    register_module("embedding", std::make_shared<PositionalEmbedding>(o.vocab_size(), o.seq_len(), E, rng));
    auto layers = register_module("layers", std::make_shared<nn::Module>("ModuleList"));
    auto ln = [&] { return std::make_shared<nn::LayerNorm>(nn::LayerNormOptions(Shape{E}).eps(o.layer_norm_eps())); };
    const auto mha = MultiHeadAttentionOptions(E, o.num_heads()).key_dim(o.key_dim()).dropout(o.attention_dropout());
    for (std::int64_t i = 0; i < o.num_layers(); ++i) {
      auto b = layers->register_module(std::to_string(i), std::make_shared<nn::Module>("TransformerDecoderBlock"));
      b->register_module("self_attention", std::make_shared<MultiHeadAttention>(mha, rng));
      b->register_module("norm_1", ln());
      b->register_module("cross_attention", std::make_shared<MultiHeadAttention>(mha, rng));
      b->register_module("norm_2", ln());
      b->register_module("ff_1", keras_dense(E, o.ff_dim(), rng));
      b->register_module("ff_2", keras_dense(o.ff_dim(), E, rng));
      b->register_module("norm_3", ln());
    }
    register_module("output", keras_dense(E, o.vocab_size(), rng));
  }

  /// Teacher-forced logits [B, T, V] for token ids [B, T] (int64, 0 = pad)
  /// attending to memory [B, S, E]. Training mode (is_training()) enables dropout.
  Var<float> forward(const Tensor<std::int64_t>& tokens, const Var<float>& memory, std::mt19937& rng) {
    const auto map = parameter_map(*this);
    return transformer_decoder(ParamView<float>(map), tokens, memory, options_, is_training(), rng);
  }

  /// A decoding state for memory [B, S, E]: empty self-attention caches of
  /// capacity seq_len, cross-attention keys/values computed once.
  State start(const Tensor<float>& memory) {
    FREQCAP_CHECK(memory.ndim() == 3 && memory.dim(2) == options_.embed_dim(), "TransformerDecoder::start: memory ",
                  shape_str(memory.shape()), " must be [B, S, ", options_.embed_dim(), "]");
    NoGradGuard ng;
    const auto map = parameter_map(*this);
    const ParamView<float> p(map);
    const std::int64_t B = memory.dim(0), H = options_.num_heads(), Dk = options_.head_dim();
    const Var<float> mem(memory);
    State st;
    st.rows = B;
    for (std::int64_t i = 0; i < options_.num_layers(); ++i) {
      const ParamView<float> cp = p.sub("layers").sub(std::to_string(i)).sub("cross_attention");
      LayerKV kv;
      kv.self_k = Tensor<float>(Shape{B, H, Dk, options_.seq_len()});
      kv.self_v = Tensor<float>(Shape{B, H, options_.seq_len(), Dk});
      kv.cross_k = detail::split_heads(linear(mem, cp("key.weight"), cp.optional("key.bias")), H)
                       .value()
                       .transpose(2, 3)
                       .contiguous();
      kv.cross_v =
          detail::split_heads(linear(mem, cp("value.weight"), cp.optional("value.bias")), H).value().contiguous();
      st.layers.push_back(std::move(kv));
    }
    return st;
  }

  /// Logits [rows, V] for the next token after feeding tokens [rows] at
  /// position state.length; appends to the caches. No graph, eval semantics.
  Tensor<float> step(State& st, const Tensor<std::int64_t>& tokens) {
    FREQCAP_CHECK(tokens.ndim() == 1 && tokens.dim(0) == st.rows, "TransformerDecoder::step: tokens ",
                  shape_str(tokens.shape()), " must be [", st.rows, "] (one per row of the state)");
    FREQCAP_CHECK(st.length < options_.seq_len(), "TransformerDecoder::step: position ", st.length,
                  " is past the sequence length ", options_.seq_len());
    FREQCAP_CHECK(static_cast<std::int64_t>(st.layers.size()) == options_.num_layers(),
                  "TransformerDecoder::step: state has ", st.layers.size(), " layers, the decoder ",
                  options_.num_layers(), " (use start())");
    NoGradGuard ng;
    const auto map = parameter_map(*this);
    const ParamView<float> p(map);
    const std::int64_t R = st.rows, H = options_.num_heads(), Dk = options_.head_dim(), t = st.length;
    std::mt19937 unused;  // eval: no dropout draws
    Var<float> x = positional_embedding(p.sub("embedding"), tokens.reshape(Shape{R, 1}), t);
    for (std::int64_t i = 0; i < options_.num_layers(); ++i) {
      const ParamView<float> lp = p.sub("layers").sub(std::to_string(i));
      LayerKV& kv = st.layers[static_cast<std::size_t>(i)];
      auto self_attn = [&](const Var<float>& h) {
        const ParamView<float> sp = lp.sub("self_attention");
        const Var<float> q = linear(h, sp("query.weight"), sp.optional("query.bias"));
        const Var<float> k = linear(h, sp("key.weight"), sp.optional("key.bias"));
        const Var<float> v = linear(h, sp("value.weight"), sp.optional("value.bias"));
        kv.self_k.select(3, t).copy_from(k.value().reshape(Shape{R, H, Dk}));
        kv.self_v.select(2, t).copy_from(v.value().reshape(Shape{R, H, Dk}));
        const Tensor<float> o = detail::attend_cached(q.value().reshape(Shape{R, H * Dk}), kv.self_k, kv.self_v, t + 1);
        return linear(Var<float>(o.reshape(Shape{R, 1, H * Dk})), sp("output.weight"), sp.optional("output.bias"));
      };
      auto cross_attn = [&](const Var<float>& h) {
        const ParamView<float> cp = lp.sub("cross_attention");
        const Var<float> q = linear(h, cp("query.weight"), cp.optional("query.bias"));
        const Tensor<float> o =
            detail::attend_cached(q.value().reshape(Shape{R, H * Dk}), kv.cross_k, kv.cross_v, kv.cross_v.dim(2));
        return linear(Var<float>(o.reshape(Shape{R, 1, H * Dk})), cp("output.weight"), cp.optional("output.bias"));
      };
      x = decoder_block_with(lp, x, self_attn, cross_attn, options_, false, unused);
    }
    ++st.length;
    return linear(x, p("output.weight"), p("output.bias")).value().reshape(Shape{R, options_.vocab_size()});
  }

  /// Beam search: new row i = old row rows[i] (rows may repeat), in every cache.
  void reorder(State& st, const std::vector<std::int64_t>& rows) { transformer::reorder(st, rows); }

  const DecoderOptions& options() const { return options_; }

 private:
  DecoderOptions options_;
};

}  // namespace freqcap::transformer
