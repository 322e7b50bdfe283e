// Caption decoding over an abstract step model: greedy and beam search, both
// batched over many images. A step model M with state type State provides
//   State start(std::int64_t batch)              fresh state (images already bound)
//   Tensor<float> step(State&, const Tensor<std::int64_t>& tokens)   tokens [rows] ->
//                                                logits [rows, V] of the next token;
//                                                appends the tokens to the state
//   void reorder(State&, const std::vector<std::int64_t>& rows)
//                                                keeps/duplicates rows; `rows` index
//                                                the current rows
// The decoders call start() never: the caller passes the state for `batch`
// rows. They drop finished rows with reorder() so later steps run only on
// captions still being written, and beam search first expands each image to
// `beam` rows with reorder(). Scores are log_softmax of the logits; ties go to
// the lower token id. Results hold the generated ids without <start> and <end>.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "freqcap/core/error.hpp"
#include "freqcap/core/tensor.hpp"
#include "freqcap/kernels/softmax.hpp"

namespace freqcap {

struct DecodeOptions {
  std::int64_t start_id = 2;
  std::int64_t end_id = 3;
  std::int64_t max_len = 20;  ///< at most this many steps (tokens, <end> included)
  int beam = 1;               ///< beam width K (beam_search only)
  /// alpha: a finished hypothesis ranks by (sum of log-probs) / n^alpha, n =
  /// tokens it scored (<end> included). 0 = total log-probability, 1 = mean.
  double length_penalty = 1.0;
};

namespace detail {

/// log_softmax of step logits [rows, V], checked for shape and NaN.
inline std::vector<float> decode_log_probs(const Tensor<float>& logits, std::int64_t rows,
                                           std::int64_t& vocab) {
  FREQCAP_CHECK(logits.ndim() == 2 && logits.dim(0) == rows && logits.dim(1) > 0, "decode: step returned logits ",
                shape_str(logits.shape()), ", expected [", rows, ", V]");
  vocab = logits.dim(1);
  std::vector<float> lp = logits.contiguous().to_vector();
  for (std::size_t i = 0; i < lp.size(); ++i)
    FREQCAP_CHECK(!std::isnan(lp[i]), "decode: logits row ", static_cast<std::int64_t>(i) / vocab, " holds NaN");
  for (std::int64_t r = 0; r < rows; ++r) {
    const float m = *std::max_element(lp.begin() + r * vocab, lp.begin() + (r + 1) * vocab);
    FREQCAP_CHECK(std::isfinite(m), "decode: logits row ", r, " has no finite maximum (", m, ")");
  }
  kernels::log_softmax(lp.data(), lp.data(), static_cast<std::size_t>(rows), static_cast<std::size_t>(vocab));
  return lp;
}

inline Tensor<std::int64_t> decode_tokens(const std::vector<std::int64_t>& t) {
  return Tensor<std::int64_t>::from_vector(Shape{static_cast<std::int64_t>(t.size())}, t);
}

inline void check_decode_options(const DecodeOptions& o, std::int64_t batch) {
  FREQCAP_CHECK(batch >= 0, "decode: batch ", batch, " is negative");
  FREQCAP_CHECK(o.max_len >= 0, "decode: max_len ", o.max_len, " is negative");
  FREQCAP_CHECK(o.beam >= 1, "decode: beam ", o.beam, " must be >= 1");
}

struct Hypothesis {
  std::vector<std::int64_t> tokens;  // without <start>/<end>
  double score = 0;                  // sum of log-probs
  std::int64_t terms = 0;            // tokens scored (<end> included)
  bool alive = true;                 // false: a filler row
};

struct BeamCandidate {
  double score;
  std::int64_t slot, token;
};

}  // namespace detail

/// Greedy decoding of `batch` captions: each step takes the most probable
/// token. Returns batch sequences of at most max_len ids.
template <class M, class State>
std::vector<std::vector<std::int64_t>> greedy_decode(M& model, State st, std::int64_t batch,
                                                     const DecodeOptions& o) {
  detail::check_decode_options(o, batch);
  std::vector<std::vector<std::int64_t>> out(static_cast<std::size_t>(batch));
  std::vector<std::int64_t> active(out.size()), tokens(out.size(), o.start_id);
  for (std::int64_t i = 0; i < batch; ++i) active[i] = i;
  for (std::int64_t t = 0; t < o.max_len && !active.empty(); ++t) {
    const auto rows = static_cast<std::int64_t>(active.size());
    std::int64_t V = 0;
    const auto lp = detail::decode_log_probs(model.step(st, detail::decode_tokens(tokens)), rows, V);
    std::vector<std::int64_t> keep, next_active, next_tokens;
    for (std::int64_t r = 0; r < rows; ++r) {
      const float* row = lp.data() + r * V;
      const std::int64_t tok = std::max_element(row, row + V) - row;  // first maximum
      if (tok == o.end_id) continue;
      out[active[r]].push_back(tok);
      keep.push_back(r);
      next_active.push_back(active[r]);
      next_tokens.push_back(tok);
    }
    if (t + 1 < o.max_len && !keep.empty() && static_cast<std::int64_t>(keep.size()) < rows)
      model.reorder(st, keep);
    active = std::move(next_active);
    tokens = std::move(next_tokens);
  }
  return out;
}

/// Beam search with K = o.beam hypotheses per image, all images stepped
/// together (rows = active images x K). Per step and image, the 2K best
/// extensions (by total log-prob) are ranked; an <end> ranked in the top K
/// finishes a hypothesis, the best K others stay alive. An image stops when
/// it has K finished hypotheses, when no alive one can beat its best finished
/// one any more (checked for length_penalty >= 0), when nothing is alive, or at
/// max_len (alive hypotheses then count as finished). The result per image is the finished
/// hypothesis with the best score / n^length_penalty (first found wins ties).
/// K = 1 gives exactly greedy_decode's tokens.
template <class M, class State>
std::vector<std::vector<std::int64_t>> beam_search(M& model, State st, std::int64_t batch, const DecodeOptions& o) {
  using detail::Hypothesis;
  detail::check_decode_options(o, batch);
  const std::int64_t K = o.beam;
  std::vector<std::vector<std::int64_t>> out(static_cast<std::size_t>(batch));
  if (batch == 0 || o.max_len == 0) return out;
  std::vector<std::vector<Hypothesis>> finished(out.size());
  std::vector<std::vector<Hypothesis>> alive(out.size());  // K slots per active image
  std::vector<std::int64_t> active, rows_index;
  for (std::int64_t i = 0; i < batch; ++i) {
    active.push_back(i);
    alive[i].assign(static_cast<std::size_t>(K), Hypothesis{{}, 0.0, 0, false});
    alive[i][0].alive = true;  // the K copies start identical: expand only one
    for (std::int64_t k = 0; k < K; ++k) rows_index.push_back(i);
  }
  if (K > 1) model.reorder(st, rows_index);
  const auto normalized = [&](const Hypothesis& h) {
    return h.score / std::pow(static_cast<double>(h.terms), o.length_penalty);
  };
  const auto better = [](const detail::BeamCandidate& a, const detail::BeamCandidate& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.slot != b.slot ? a.slot < b.slot : a.token < b.token;
  };
  for (std::int64_t t = 0; t < o.max_len && !active.empty(); ++t) {
    const bool last = t + 1 == o.max_len;
    std::vector<std::int64_t> tokens;
    for (auto i : active)
      for (const auto& h : alive[i]) tokens.push_back(h.tokens.empty() ? o.start_id : h.tokens.back());
    const auto rows = static_cast<std::int64_t>(tokens.size());
    std::int64_t V = 0;
    const auto lp = detail::decode_log_probs(model.step(st, detail::decode_tokens(tokens)), rows, V);
    std::vector<std::int64_t> next_active, reorder_rows;
    for (std::size_t a = 0; a < active.size(); ++a) {
      const auto i = active[a];
      auto& slots = alive[i];
      std::vector<detail::BeamCandidate> cands;
      for (std::int64_t k = 0; k < K; ++k) {
        if (!slots[k].alive) continue;
        const float* row = lp.data() + (static_cast<std::int64_t>(a) * K + k) * V;
        for (std::int64_t v = 0; v < V; ++v) cands.push_back({slots[k].score + row[v], k, v});
      }
      const auto n = std::min<std::size_t>(cands.size(), static_cast<std::size_t>(2 * K));
      std::partial_sort(cands.begin(), cands.begin() + static_cast<std::ptrdiff_t>(n), cands.end(), better);
      std::vector<Hypothesis> next;
      std::vector<std::int64_t> parent;
      for (std::size_t r = 0; r < n && static_cast<std::int64_t>(next.size()) < K; ++r) {
        const auto& c = cands[r];
        const auto& h = slots[c.slot];
        if (c.token == o.end_id) {
          if (static_cast<std::int64_t>(r) < K) finished[i].push_back({h.tokens, c.score, h.terms + 1, true});
          continue;
        }
        next.push_back({h.tokens, c.score, h.terms + 1, true});
        next.back().tokens.push_back(c.token);
        parent.push_back(c.slot);
      }
      bool done = last || next.empty() || static_cast<std::int64_t>(finished[i].size()) >= K;
      if (!done && o.length_penalty >= 0 && !finished[i].empty()) {
        // An alive score s <= 0 only falls, and n <= max_len, so s / max_len^alpha
        // bounds what it can still reach.
        double best_finished = -std::numeric_limits<double>::infinity();
        for (const auto& f : finished[i]) best_finished = std::max(best_finished, normalized(f));
        done = next.front().score / std::pow(static_cast<double>(o.max_len), o.length_penalty) <= best_finished;
      }
      if (done) {
        if (last)
          for (auto& h : next) finished[i].push_back(std::move(h));
        continue;
      }
      while (static_cast<std::int64_t>(next.size()) < K) {  // filler rows keep K rows per image
        next.push_back(Hypothesis{next.front().tokens, 0.0, 0, false});
        parent.push_back(parent.front());
      }
      for (auto p : parent) reorder_rows.push_back(static_cast<std::int64_t>(a) * K + p);
      slots = std::move(next);
      next_active.push_back(i);
    }
    if (!next_active.empty()) {
      bool identity = static_cast<std::int64_t>(reorder_rows.size()) == rows;
      for (std::size_t r = 0; identity && r < reorder_rows.size(); ++r)
        identity = reorder_rows[r] == static_cast<std::int64_t>(r);
      if (!identity) model.reorder(st, reorder_rows);
    }
    active = std::move(next_active);
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    double best = -std::numeric_limits<double>::infinity();
    const Hypothesis* pick = nullptr;
    for (const auto& h : finished[i]) {
      const double s = normalized(h);
      if (pick == nullptr || s > best) {
        best = s;
        pick = &h;
      }
    }
    if (pick) out[i] = pick->tokens;
  }
  return out;
}

}  // namespace freqcap
