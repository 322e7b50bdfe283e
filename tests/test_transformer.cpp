// Tests for transformer/: masked_softmax and multi-head attention against a
// plain-loop reference (both key_dim semantics, causal and padding masks,
// self and cross), finite-difference gradient checks in double of attention,
// the encoder and the decoder (eval) w.r.t. inputs and every parameter
// (gradcheck's tolerances: atol 1e-6, rtol 1e-4, step 1e-6), masking
// invariances (exact), cached vs uncached decoding (1e-5, identical greedy
// tokens, reorder), and an overfit run of a tiny encoder + decoder.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "freqcap/autograd/autograd.hpp"
#include "freqcap/nn/optim.hpp"
#include "freqcap/transformer/decoder.hpp"
#include "freqcap/transformer/encoder.hpp"
#include "support.hpp"

namespace freqcap_test_transformer {  // own scope: the unity build joins test files

using namespace freqcap;
using namespace freqcap::transformer;
using freqcap::testing::max_abs_diff;
using freqcap::testing::randn;
using VD = Var<double>;
using DMap = std::map<std::string, VD>;

namespace {

// The module's parameters as double leaves (requires_grad), by name.
DMap to_double(const nn::Module& m, double jitter_seed = 0) {
  DMap out;
  std::mt19937 rng(static_cast<unsigned>(jitter_seed + 1));
  std::normal_distribution<double> d(0.0, 0.1);
  for (const auto& [n, p] : m.named_parameters()) {
    Tensor<double> t(p.shape());
    const Tensor<float> v = p.value().contiguous();
    // Jitter so LayerNorm weights/biases and zero biases are not special values.
    for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = double(v.data()[i]) + (jitter_seed ? d(rng) : 0.0);
    out.emplace(n, VD(t, true));
  }
  return out;
}

std::vector<VD> values_of(const DMap& m) {
  std::vector<VD> v;
  for (const auto& [n, p] : m) v.push_back(p);
  return v;
}

void require_gradcheck(const std::function<VD(const std::vector<VD>&)>& f, const std::vector<VD>& in) {
  const GradcheckResult r = gradcheck(f, in);
  INFO(r.message);
  REQUIRE(r.ok);
}

Tensor<std::int64_t> ids(const Shape& s, std::vector<std::int64_t> v) { return Tensor<std::int64_t>::from_vector(s, v); }

// Direct Keras MHA with loops: x [B, Tq, E], kv [B, Tk, E].
Tensor<double> reference_mha(const DMap& p, const std::string& pre, const Tensor<double>& x, const Tensor<double>& kv,
                             std::int64_t H, const AttentionMask& mask) {
  const std::int64_t B = x.dim(0), Tq = x.dim(1), Tk = kv.dim(1), E = x.dim(2);
  auto W = [&](const std::string& n) { return p.at(pre + n).value(); };
  const std::int64_t HD = W("query.weight").dim(0), Dk = HD / H;
  auto proj = [&](const Tensor<double>& in, const std::string& n) {
    const Tensor<double> w = W(n + ".weight"), b = W(n + ".bias");
    Tensor<double> out(Shape{B, in.dim(1), w.dim(0)});
    for (std::int64_t bb = 0; bb < B; ++bb)
      for (std::int64_t t = 0; t < in.dim(1); ++t)
        for (std::int64_t o = 0; o < w.dim(0); ++o) {
          double s = b(o);
          for (std::int64_t i = 0; i < w.dim(1); ++i) s += w(o, i) * in(bb, t, i);
          out(bb, t, o) = s;
        }
    return out;
  };
  const Tensor<double> q = proj(x, "query"), k = proj(kv, "key"), v = proj(kv, "value");
  Tensor<double> heads(Shape{B, Tq, HD});
  for (std::int64_t bb = 0; bb < B; ++bb)
    for (std::int64_t h = 0; h < H; ++h)
      for (std::int64_t i = 0; i < Tq; ++i) {
        std::vector<double> s(static_cast<std::size_t>(Tk));
        double m = -1e300;
        for (std::int64_t j = 0; j < Tk; ++j) {
          bool ok = (!mask.causal || j <= i + mask.query_offset) &&
                    (mask.key_padding.numel() == 0 || mask.key_padding(bb, j) != 0);
          double d = 0;
          for (std::int64_t c = 0; c < Dk; ++c) d += q(bb, i, h * Dk + c) * k(bb, j, h * Dk + c);
          s[j] = ok ? d / std::sqrt(double(Dk)) : -1e9;
          m = std::max(m, s[j]);
        }
        double z = 0;
        for (auto& e : s) z += (e = std::exp(e - m));
        for (std::int64_t c = 0; c < Dk; ++c) {
          double acc = 0;
          for (std::int64_t j = 0; j < Tk; ++j) acc += s[j] / z * v(bb, j, h * Dk + c);
          heads(bb, i, h * Dk + c) = acc;
        }
      }
  Tensor<double> out(Shape{B, Tq, E});
  const Tensor<double> wo = W("output.weight"), bo = W("output.bias");
  for (std::int64_t bb = 0; bb < B; ++bb)
    for (std::int64_t t = 0; t < Tq; ++t)
      for (std::int64_t o = 0; o < E; ++o) {
        double s = bo(o);
        for (std::int64_t i = 0; i < HD; ++i) s += wo(o, i) * heads(bb, t, i);
        out(bb, t, o) = s;
      }
  return out;
}

AttentionMask causal_padded(Tensor<std::int64_t> pad) {
  AttentionMask m;
  m.causal = true;
  m.key_padding = std::move(pad);
  return m;
}

}  // namespace

TEST_CASE("masked_softmax: values, fully masked rows are uniform, gradient", "[transformer]") {
  const Tensor<double> x = randn<double>({2, 2, 3, 4}, 1);
  AttentionMask m = causal_padded(ids({2, 4}, {1, 1, 0, 1, 0, 1, 1, 1}));
  const Tensor<double> y = masked_softmax(VD(x), 0.5, m).value();
  for (std::int64_t b = 0; b < 2; ++b)
    for (std::int64_t h = 0; h < 2; ++h)
      for (std::int64_t i = 0; i < 3; ++i) {
        double z = 0;
        std::vector<bool> ok(4);
        for (std::int64_t j = 0; j < 4; ++j) {
          ok[j] = j <= i && m.key_padding(b, j) != 0;
          if (ok[j]) z += std::exp(0.5 * x(b, h, i, j));
        }
        for (std::int64_t j = 0; j < 4; ++j) {
          // b = 1, i = 0 sees only the padded key 0: every score is -1e9, a uniform row.
          const double want = z == 0 ? 0.25 : ok[j] ? std::exp(0.5 * x(b, h, i, j)) / z : 0.0;
          REQUIRE(y(b, h, i, j) == Approx(want).margin(1e-15));
        }
      }
  m.query_offset = 1;
  require_gradcheck([m](const std::vector<VD>& v) { return masked_softmax(v[0], 0.7, m); }, {VD(x, true)});
  require_gradcheck([](const std::vector<VD>& v) { return masked_softmax(v[0], 1.3); }, {VD(x, true)});
}

TEST_CASE("attention matches a plain-loop Keras reference (both key_dim semantics, masks, cross)", "[transformer]") {
  std::mt19937 rng(3);
  for (std::int64_t key_dim : {0, 5}) {  // 0: E / H = 3 per head; 5: Keras-style independent width
    MultiHeadAttention mha(MultiHeadAttentionOptions(6, 2).key_dim(key_dim), rng);
    REQUIRE(mha.named_parameters()[0].first == "query.weight");
    REQUIRE(mha.named_parameters()[0].second.shape() == (Shape{2 * (key_dim ? 5 : 3), 6}));
    REQUIRE(mha.named_parameters()[7].first == "output.bias");
    const DMap p = to_double(mha, 11);
    const Tensor<double> x = randn<double>({2, 4, 6}, 4), mem = randn<double>({2, 3, 6}, 5);
    const AttentionMask self_mask = causal_padded(ids({2, 4}, {1, 1, 1, 0, 1, 1, 0, 0}));
    const ParamView<double> pv(p);
    const Tensor<double> got = multi_head_attention(pv, VD(x), VD(x), 2, self_mask, 0.0, false, rng).value();
    REQUIRE(max_abs_diff(got, reference_mha(p, "", x, x, 2, self_mask)) < 1e-12);
    const Tensor<double> cross = multi_head_attention(pv, VD(x), VD(mem), 2, AttentionMask{}, 0.0, false, rng).value();
    REQUIRE(cross.shape() == (Shape{2, 4, 6}));
    REQUIRE(max_abs_diff(cross, reference_mha(p, "", x, mem, 2, AttentionMask{})) < 1e-12);
    // The float module runs the same math.
    const Tensor<float> gf =
        mha.forward(Var<float>(cast<float>(x)), Var<float>(cast<float>(mem)), AttentionMask{}, rng).value();
    const DMap p0 = to_double(mha);
    REQUIRE(max_abs_diff(gf, reference_mha(p0, "", x, mem, 2, AttentionMask{})) < 1e-4);
  }
}

TEST_CASE("attention gradients: self (causal + padding) and cross, inputs and parameters", "[transformer]") {
  std::mt19937 rng(7);
  for (std::int64_t key_dim : {0, 3}) {
    MultiHeadAttention mha(MultiHeadAttentionOptions(4, 2).key_dim(key_dim), rng);
    DMap p = to_double(mha, 5);
    const VD x(randn<double>({2, 3, 4}, 8), true), mem(randn<double>({2, 5, 4}, 9), true);
    const AttentionMask m = causal_padded(ids({2, 3}, {1, 1, 0, 1, 1, 1}));
    std::vector<VD> in = values_of(p);
    in.push_back(x);
    in.push_back(mem);
    require_gradcheck(
        [&](const std::vector<VD>&) {
          const ParamView<double> pv(p);
          return multi_head_attention(pv, x, x, 2, m, 0.0, false, rng) +
                 multi_head_attention(pv, x, mem, 2, AttentionMask{}, 0.0, false, rng);
        },
        in);
  }
}

TEST_CASE("masking: padded keys and future tokens do not reach masked outputs (exactly)", "[transformer]") {
  std::mt19937 rng(9);
  MultiHeadAttention mha(MultiHeadAttentionOptions(8, 2).key_dim(5), rng);
  const Tensor<float> x = randn<float>({2, 5, 8}, 10);
  const AttentionMask m = causal_padded(ids({2, 5}, {1, 1, 0, 1, 1, 1, 1, 1, 1, 0}));
  const Tensor<float> y0 = mha.forward(Var<float>(x), Var<float>(x), m, rng).value();
  Tensor<float> x2 = x.clone();
  for (std::int64_t c = 0; c < 8; ++c) {
    x2(0, 2, c) += 3.0f;  // a padded key of row 0
    x2(1, 4, c) -= 2.0f;  // padded and the last (future for all others) of row 1
  }
  const Tensor<float> y1 = mha.forward(Var<float>(x2), Var<float>(x2), m, rng).value();
  for (std::int64_t c = 0; c < 8; ++c) {
    for (std::int64_t t : {0, 1, 3, 4}) REQUIRE(y1(0, t, c) == y0(0, t, c));
    for (std::int64_t t : {0, 1, 2, 3}) REQUIRE(y1(1, t, c) == y0(1, t, c));
  }
  // A future (unpadded) token changes only its own and later positions of the decoder.
  TransformerDecoder dec(DecoderOptions(9, 6, 8, 2).key_dim(3).ff_dim(12).num_layers(2), rng);
  dec.eval();
  const Var<float> mem(randn<float>({1, 3, 8}, 11));
  const Tensor<float> l0 = dec.forward(ids({1, 5}, {1, 4, 5, 6, 2}), mem, rng).value();
  const Tensor<float> l1 = dec.forward(ids({1, 5}, {1, 4, 5, 8, 3}), mem, rng).value();
  for (std::int64_t t = 0; t < 3; ++t)
    for (std::int64_t v = 0; v < 9; ++v) REQUIRE(l1(0, t, v) == l0(0, t, v));
  REQUIRE(l1(0, 3, 0) != l0(0, 3, 0));
}

TEST_CASE("encoder: shapes, names, gradients w.r.t. tokens and every parameter", "[transformer]") {
  std::mt19937 rng(12);
  TransformerEncoder enc(EncoderOptions(4, 2).key_dim(3).input_dim(5).num_layers(2).image_positions(3), rng);
  const auto names = enc.named_parameters();
  REQUIRE(names[0].first == "image_position");
  REQUIRE(names[1].first == "layers.0.norm_1.weight");
  REQUIRE(names[1].second.shape() == Shape{5});
  REQUIRE(enc.forward(Var<float>(randn<float>({2, 3, 5}, 1)), rng).shape() == (Shape{2, 3, 4}));
  REQUIRE_THROWS_AS(enc.forward(Var<float>(randn<float>({2, 4, 5}, 1)), rng), Error);
  DMap p = to_double(enc, 13);
  const VD x(randn<double>({2, 3, 5}, 14), true);
  std::vector<VD> in = values_of(p);
  in.push_back(x);
  const EncoderOptions o = enc.options();
  require_gradcheck(
      [&](const std::vector<VD>&) { return transformer_encoder(ParamView<double>(p), x, o, rng); }, in);
}

TEST_CASE("decoder (eval): gradients w.r.t. memory and every parameter", "[transformer]") {
  std::mt19937 rng(15);
  const DecoderOptions o = DecoderOptions(7, 5, 4, 2).key_dim(3).ff_dim(5);
  TransformerDecoder dec(o, rng);
  REQUIRE(dec.named_parameters()[0].first == "embedding.token.weight");
  DMap p = to_double(dec, 16);
  const VD mem(randn<double>({2, 3, 4}, 17), true);
  const Tensor<std::int64_t> tok = ids({2, 4}, {1, 3, 4, 0, 1, 6, 0, 0});
  std::vector<VD> in = values_of(p);
  in.push_back(mem);
  require_gradcheck(
      [&](const std::vector<VD>&) { return transformer_decoder(ParamView<double>(p), tok, mem, o, false, rng); }, in);
}

TEST_CASE("decoder: cached step() equals forward() on the prefix; greedy tokens; reorder", "[transformer]") {
  std::mt19937 rng(18);
  const std::int64_t V = 11, L = 7, B = 3;
  const std::int64_t key_dim = GENERATE(5, 0);  // independent per-head width, and E / H
  TransformerDecoder dec(DecoderOptions(V, L, 16, 2).key_dim(key_dim).ff_dim(24).num_layers(2), rng);
  dec.eval();
  const Tensor<float> mem = randn<float>({B, 4, 16}, 19);
  auto st = dec.start(mem);
  std::vector<std::vector<std::int64_t>> seq(B, std::vector<std::int64_t>{1});
  auto prefix = [&](const std::vector<std::vector<std::int64_t>>& s) {
    std::vector<std::int64_t> flat;
    for (const auto& r : s) flat.insert(flat.end(), r.begin(), r.end());
    return ids({static_cast<std::int64_t>(s.size()), static_cast<std::int64_t>(s[0].size())}, flat);
  };
  for (std::int64_t t = 0; t < L; ++t) {
    Tensor<std::int64_t> last(Shape{B});
    for (std::int64_t b = 0; b < B; ++b) last(b) = seq[b].back();
    const Tensor<float> cached = dec.step(st, last);
    const Tensor<float> full = dec.forward(prefix(seq), Var<float>(mem), rng).value();
    REQUIRE(st.length == t + 1);
    REQUIRE(max_abs_diff(cached, full.select(1, t).contiguous()) < 1e-5);
    for (std::int64_t b = 0; b < B; ++b) {
      std::int64_t ac = 0, af = 0;
      for (std::int64_t v = 1; v < V; ++v) {
        if (cached(b, v) > cached(b, ac)) ac = v;
        if (full(b, t, v) > full(b, t, af)) af = v;
      }
      REQUIRE(ac == af);
      if (t + 1 < L) seq[b].push_back(ac == 0 ? 2 : ac);  // keep the prefix unpadded
    }
  }
  REQUIRE_THROWS_AS(dec.step(st, Tensor<std::int64_t>(Shape{B}, 1)), Error);
  // Reorder after 3 steps (rows may repeat), then step: equals the reordered rows from scratch.
  auto st2 = dec.start(mem);
  for (std::int64_t t = 0; t < 3; ++t) {
    Tensor<std::int64_t> tk(Shape{B});
    for (std::int64_t b = 0; b < B; ++b) tk(b) = seq[b][t];
    dec.step(st2, tk);
  }
  const std::vector<std::int64_t> rows{2, 0, 0, 1};
  dec.reorder(st2, rows);
  REQUIRE(st2.rows == 4);
  const Tensor<float> got = dec.step(st2, ids({4}, {5, 6, 7, 8}));
  std::vector<std::vector<std::int64_t>> re;
  Tensor<float> mem_re(Shape{4, 4, 16});
  for (std::size_t i = 0; i < rows.size(); ++i) {
    re.push_back({seq[rows[i]][0], seq[rows[i]][1], seq[rows[i]][2], std::int64_t(5 + i)});
    mem_re.select(0, std::int64_t(i)).copy_from(mem.select(0, rows[i]));
  }
  const Tensor<float> want = dec.forward(prefix(re), Var<float>(mem_re), rng).value().select(1, 3).contiguous();
  REQUIRE(max_abs_diff(got, want) < 1e-5);
  REQUIRE_THROWS_AS(dec.reorder(st2, {0, 4}), Error);
  REQUIRE_THROWS_AS(dec.step(st2, ids({3}, {1, 2, 3})), Error);
}

TEST_CASE("encoder + decoder overfit a fixed batch (masked cross-entropy -> ~0)", "[transformer]") {
  std::mt19937 rng(21);
  TransformerEncoder enc(EncoderOptions(16, 2).input_dim(6).image_positions(4), rng);
  TransformerDecoder dec(
      DecoderOptions(10, 6, 16, 2).ff_dim(32).dropout_ff(0.0).dropout_out(0.0).attention_dropout(0.0), rng);
  std::vector<Var<float>> params = enc.parameters();
  for (auto& q : dec.parameters()) params.push_back(q);
  nn::Adam opt(params, nn::AdamOptions(1e-2));
  const Var<float> img(randn<float>({4, 4, 6}, 22));
  const Tensor<std::int64_t> seq = ids({4, 7}, {1, 4, 5, 6, 2, 0, 0,  //
                                               1, 4, 7, 8, 9, 2, 0,  //
                                               1, 9, 3, 2, 0, 0, 0,  //
                                               1, 5, 5, 6, 7, 8, 2});
  const Tensor<std::int64_t> in = seq.slice(1, 0, 6).contiguous(), tgt = seq.slice(1, 1, 7).contiguous();
  const Tensor<std::int64_t> mask = padding_mask(tgt);
  double first = 0, last = 0;
  for (int it = 0; it < 200; ++it) {
    opt.zero_grad();
    Var<float> loss = masked_cross_entropy(dec.forward(in, enc.forward(img, rng), rng), tgt, mask);
    loss.backward();
    opt.step();
    (it == 0 ? first : last) = loss.item();
    if (it > 0 && last < 0.02) break;
  }
  INFO("first loss " << first << ", last " << last);
  REQUIRE(first > 1.0);
  REQUIRE(last < 0.05);
}

}  // namespace freqcap_test_transformer
