// Multi-head attention with Keras semantics (keras.layers.MultiHeadAttention,
// as the seed's Keras "Image Captioning" model uses it): key_dim is the width
// of ONE head and independent of the model width (key_dim 0 = embed / heads,
// the conventional split); value_dim = key_dim; scores are scaled by
// 1/sqrt(key_dim); masked scores are set to -1e9 before the softmax, so a
// fully masked row becomes uniform, not NaN. The math is written once as
// templates on the element type over a name -> parameter view (ParamView), so
// the float module and double gradient checks run the same code. Also holds
// masked_softmax, the one autograd op attention needs beyond the library's.
#pragma once

#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <string>

#include "freqcap/autograd/ops_linalg.hpp"
#include "freqcap/autograd/ops_misc.hpp"
#include "freqcap/autograd/ops_shape.hpp"
#include "freqcap/kernels/softmax.hpp"
#include "freqcap/nn/init.hpp"
#include "freqcap/nn/linear.hpp"
#include "freqcap/nn/module.hpp"

namespace freqcap::transformer {

/// Score given to masked (query, key) pairs before the softmax, as Keras.
inline constexpr double masked_score = -1e9;

/// Which keys a query may see. causal: query i (at absolute position
/// i + query_offset) sees keys j <= i + query_offset. key_padding: [B, Tk],
/// non-zero = a real key, 0 = padding; numel() == 0 means no padding mask.
struct AttentionMask {
  bool causal = false;
  Tensor<std::int64_t> key_padding;
  std::int64_t query_offset = 0;
};

/// softmax(scale * scores) over the last axis with masked entries set to -1e9:
/// scores [B, H, Tq, Tk] -> same shape. Backward: dx = scale * y * (g - sum(g * y))
/// on unmasked entries, 0 on masked ones (they are constants).
template <class T>
Var<T> masked_softmax(const Var<T>& scores, T scale, const AttentionMask& mask = {}) {
  FREQCAP_CHECK(scores.ndim() == 4, "masked_softmax: scores ", shape_str(scores.shape()), " must be [B, H, Tq, Tk]");
  const std::int64_t B = scores.dim(0), H = scores.dim(1), Tq = scores.dim(2), Tk = scores.dim(3);
  const bool pad = mask.key_padding.numel() != 0;
  if (pad)
    FREQCAP_CHECK(mask.key_padding.shape() == (Shape{B, Tk}), "masked_softmax: key_padding ",
                  shape_str(mask.key_padding.shape()), " must be [B, Tk] = [", B, ", ", Tk, "] for scores ",
                  shape_str(scores.shape()));
  const bool any_mask = pad || mask.causal;
  const Tensor<std::int64_t> kp = pad ? mask.key_padding.contiguous() : Tensor<std::int64_t>();
  const Tensor<T> xc = scores.value().contiguous();
  Tensor<T> y = Tensor<T>::empty(scores.shape());
  const T* px = xc.data();
  T* py = y.data();
  const std::int64_t off = mask.query_offset;
  // allowed(b, i, j): key j visible to query row i of batch b.
  auto allowed = [pad, causal = mask.causal, off, pk = pad ? kp.data() : nullptr, Tk](std::int64_t b, std::int64_t i,
                                                                                       std::int64_t j) {
    return (!causal || j <= i + off) && (!pad || pk[b * Tk + j] != 0);
  };
#pragma omp parallel for schedule(static) if (B * H * Tq * Tk >= (std::int64_t{1} << 15))
  for (std::int64_t bh = 0; bh < B * H; ++bh) {
    const std::int64_t b = bh / H;
    for (std::int64_t i = 0; i < Tq; ++i) {
      const T* xr = px + (bh * Tq + i) * Tk;
      T* yr = py + (bh * Tq + i) * Tk;
      for (std::int64_t j = 0; j < Tk; ++j) yr[j] = !any_mask || allowed(b, i, j) ? xr[j] * scale : T(masked_score);
    }
    kernels::softmax(py + bh * Tq * Tk, py + bh * Tq * Tk, std::size_t(Tq), std::size_t(Tk));
  }
  // The backward owns kp and rebuilds `allowed` on its storage (the forward's
  // local may share storage with a tensor the caller frees).
  return Var<T>::make(y, {scores}, "masked_softmax", [scores, y, scale, any_mask, kp, pad, causal = mask.causal, off, B, H, Tq, Tk](const Tensor<T>& g) {
    const std::int64_t* pk = pad ? kp.data() : nullptr;
    auto allowed = [&](std::int64_t b, std::int64_t i, std::int64_t j) {
      return (!causal || j <= i + off) && (!pad || pk[b * Tk + j] != 0);
    };
    const Tensor<T> gc = g.contiguous();
    Tensor<T> dx = Tensor<T>::empty(y.shape());
    const T *pg = gc.data(), *py = y.data();
    T* pd = dx.data();
#pragma omp parallel for schedule(static) if (B * H * Tq * Tk >= (std::int64_t{1} << 15))
    for (std::int64_t bh = 0; bh < B * H; ++bh) {
      const std::int64_t b = bh / H;
      for (std::int64_t i = 0; i < Tq; ++i) {
        const std::int64_t r = (bh * Tq + i) * Tk;
        T s = 0;
        for (std::int64_t j = 0; j < Tk; ++j) s += pg[r + j] * py[r + j];
        for (std::int64_t j = 0; j < Tk; ++j)
          pd[r + j] = !any_mask || allowed(b, i, j) ? scale * py[r + j] * (pg[r + j] - s) : T(0);
      }
    }
    scores.accumulate(dx);
  });
}

/// Parameters looked up by dotted name under a prefix ("attention." + "query.weight").
template <class T>
class ParamView {
 public:
  using Map = std::map<std::string, Var<T>>;
  explicit ParamView(const Map& map, std::string prefix = "") : map_(&map), prefix_(std::move(prefix)) {}
  /// The parameter `name` (throws naming it when absent).
  Var<T> operator()(const std::string& name) const {
    auto it = map_->find(prefix_ + name);
    FREQCAP_CHECK(it != map_->end(), "transformer: no parameter '", prefix_ + name, "'");
    return it->second;
  }
  /// The parameter `name`, or an undefined Var when absent.
  Var<T> optional(const std::string& name) const {
    auto it = map_->find(prefix_ + name);
    return it == map_->end() ? Var<T>() : it->second;
  }
  /// The view of child `name`.
  ParamView sub(const std::string& name) const { return ParamView(*map_, prefix_ + name + "."); }

 private:
  const Map* map_;
  std::string prefix_;
};

/// A module's parameters by dotted name (what its forward reads through ParamView).
inline std::map<std::string, Var<float>> parameter_map(const nn::Module& m) {
  std::map<std::string, Var<float>> out;
  for (auto& [n, p] : m.named_parameters()) out.emplace(n, p);
  return out;
}

namespace detail {
/// x [B, T, H*D] -> [B, H, T, D] (a view when x is contiguous).
template <class T>
Var<T> split_heads(const Var<T>& x, std::int64_t heads) {
  const std::int64_t B = x.dim(0), L = x.dim(1), D = x.dim(2) / heads;
  return permute(reshape(x, Shape{B, L, heads, D}), {0, 2, 1, 3});
}
/// y [B, H, T, D] -> [B, T, H*D].
template <class T>
Var<T> merge_heads(const Var<T>& y) {
  return reshape(permute(y, {0, 2, 1, 3}), Shape{y.dim(0), y.dim(2), y.dim(1) * y.dim(3)});
}
}  // namespace detail

/// Attention of projected queries q4 [B, H, Tq, Dk] over keys k4 and values
/// v4 [B, H, Tk, Dk] (any strides with a unit-stride last axis), then the
/// output projection: -> [B, Tq, E]. Attention-weight dropout p in training.
template <class T>
Var<T> attend(const ParamView<T>& p, const Var<T>& q4, const Var<T>& k4, const Var<T>& v4, const AttentionMask& mask,
              double dropout_p, bool training, std::mt19937& rng) {
  const T scale = T(1) / std::sqrt(T(q4.dim(3)));
  Var<T> w = masked_softmax(matmul(q4, transpose(k4, 2, 3)), scale, mask);  // [B, H, Tq, Tk]
  w = dropout(w, dropout_p, training, rng);
  return linear(detail::merge_heads(matmul(w, v4)), p("output.weight"), p.optional("output.bias"));
}

/// Keras MultiHeadAttention(num_heads, key_dim)(query, value=kv, key=kv):
/// query [B, Tq, E], kv [B, Tk, E] -> [B, Tq, E]. p holds query/key/value/output
/// .weight ([H*Dk, E] / [E, H*Dk]) and .bias.
template <class T>
Var<T> multi_head_attention(const ParamView<T>& p, const Var<T>& query, const Var<T>& kv, std::int64_t heads,
                            const AttentionMask& mask, double dropout_p, bool training, std::mt19937& rng) {
  FREQCAP_CHECK(query.ndim() == 3 && kv.ndim() == 3 && query.dim(0) == kv.dim(0) && query.dim(2) == kv.dim(2),
                "multi_head_attention: query ", shape_str(query.shape()), " and key/value ", shape_str(kv.shape()),
                " must be [B, Tq, E] and [B, Tk, E]");
  const Var<T> q = linear(query, p("query.weight"), p.optional("query.bias"));
  const Var<T> k = linear(kv, p("key.weight"), p.optional("key.bias"));
  const Var<T> v = linear(kv, p("value.weight"), p.optional("value.bias"));
  return attend(p, detail::split_heads(q, heads), detail::split_heads(k, heads), detail::split_heads(v, heads), mask,
                dropout_p, training, rng);
}

/// `MultiHeadAttentionOptions(512, 6).key_dim(512).dropout(0.1)`.
struct MultiHeadAttentionOptions {
  MultiHeadAttentionOptions(std::int64_t embed_dim, std::int64_t num_heads)
      : embed_dim_(embed_dim), num_heads_(num_heads) {}
  FREQCAP_OPTION(std::int64_t, embed_dim);
  FREQCAP_OPTION(std::int64_t, num_heads);
  FREQCAP_OPTION(std::int64_t, key_dim) = 0;  ///< per head; 0 = embed_dim / num_heads
  FREQCAP_OPTION(double, dropout) = 0.0;      ///< on the attention weights, in training
  /// The per-head width in effect.
  std::int64_t head_dim() const { return key_dim_ > 0 ? key_dim_ : embed_dim_ / num_heads_; }
};

/// Keras-style initialisation of a projection: Glorot-uniform weight, zero bias.
inline std::shared_ptr<nn::Linear> keras_dense(std::int64_t in, std::int64_t out, std::mt19937& rng) {
  auto l = std::make_shared<nn::Linear>(in, out, rng);
  nn::init::xavier_uniform_(l->weight.value(), 1.0, rng);
  l->bias.value().fill(0.0f);
  return l;
}

/// Children query, key, value ([H*Dk, E] + bias) and output ([E, H*Dk] + bias).
class MultiHeadAttention : public nn::Module {
 public:
  explicit MultiHeadAttention(const MultiHeadAttentionOptions& o, std::mt19937& rng = freqcap::global_generator())
      : nn::Module("MultiHeadAttention"), options_(o) {
    FREQCAP_CHECK(o.embed_dim() > 0 && o.num_heads() > 0 && o.key_dim() >= 0, "MultiHeadAttention: embed_dim ",
                  o.embed_dim(), ", num_heads ", o.num_heads(), ", key_dim ", o.key_dim(), " must be positive");
    FREQCAP_CHECK(o.key_dim() > 0 || o.embed_dim() % o.num_heads() == 0, "MultiHeadAttention: embed_dim ",
                  o.embed_dim(), " is not divisible by num_heads ", o.num_heads(), " (set key_dim)");
    const std::int64_t E = o.embed_dim(), HD = o.num_heads() * o.head_dim();
    for (const char* n : {"query", "key", "value"}) register_module(n, keras_dense(E, HD, rng));
    register_module("output", keras_dense(HD, E, rng));
  }

  /// query [B, Tq, E], kv [B, Tk, E] -> [B, Tq, E]; dropout on the weights in training.
  Var<float> forward(const Var<float>& query, const Var<float>& kv, const AttentionMask& mask, std::mt19937& rng) {
    const auto map = parameter_map(*this);
    return multi_head_attention(ParamView<float>(map), query, kv, options_.num_heads(), mask, options_.dropout(),
                                is_training(), rng);
  }

  const MultiHeadAttentionOptions& options() const { return options_; }

 private:
  MultiHeadAttentionOptions options_;
};

}  // namespace freqcap::transformer
