// Tests for model/decode.hpp over a real small language model: an order-2
// Markov table of next-token logits per image, position and the two previous
// tokens (the older one read from the state, so a wrong reorder() shows).
// Greedy is checked against a per-step argmax, beam search against brute-force
// enumeration of every sequence, K = 1 against greedy, a batch against images
// decoded alone, and max_len and bad logits.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <random>

#include "freqcap/model/decode.hpp"

namespace freqcap_test_decode {  // own scope: the unity build joins test files

using namespace freqcap;

namespace {

constexpr std::int64_t kStart = 2, kEnd = 3;

/// logits(image, pos, prev2, prev1, next); prev2 = start at pos 0.
struct MarkovModel {
  std::int64_t images, positions, V;
  std::vector<float> table;
  std::int64_t steps = 0, rows_stepped = 0, reorders = 0;

  struct State {
    std::vector<std::int64_t> image;
    std::vector<std::vector<std::int64_t>> history;  // tokens fed so far (start first)
  };

  MarkovModel(std::int64_t images_, std::int64_t positions_, std::int64_t V_, unsigned seed, double scale = 2.0)
      : images(images_), positions(positions_), V(V_), table(static_cast<std::size_t>(images * positions * V * V * V)) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.f, static_cast<float>(scale));
    for (auto& x : table) x = d(rng);
  }
  float& at(std::int64_t img, std::int64_t pos, std::int64_t p2, std::int64_t p1, std::int64_t next) {
    return table[static_cast<std::size_t>((((img * positions + pos) * V + p2) * V + p1) * V + next)];
  }
  /// Sets row (img, pos, p2, p1) to log(probs) (0 probability -> -30).
  void set_probs(std::int64_t img, std::int64_t pos, std::int64_t p2, std::int64_t p1, const std::vector<double>& probs) {
    for (std::int64_t v = 0; v < V; ++v) at(img, pos, p2, p1, v) = probs[v] > 0 ? static_cast<float>(std::log(probs[v])) : -30.f;
  }
  /// Log-probabilities of the next token, in double (the reference).
  std::vector<double> log_probs(std::int64_t img, std::int64_t pos, std::int64_t p2, std::int64_t p1) {
    std::vector<double> lp(static_cast<std::size_t>(V));
    double m = -1e300, s = 0;
    for (std::int64_t v = 0; v < V; ++v) m = std::max(m, static_cast<double>(at(img, pos, p2, p1, v)));
    for (std::int64_t v = 0; v < V; ++v) s += std::exp(at(img, pos, p2, p1, v) - m);
    for (std::int64_t v = 0; v < V; ++v) lp[v] = at(img, pos, p2, p1, v) - m - std::log(s);
    return lp;
  }

  /// State for the given images (one row each).
  State bind(const std::vector<std::int64_t>& imgs) {
    State st{imgs, {}};
    st.history.assign(imgs.size(), {});
    return st;
  }
  State start(std::int64_t batch) {
    std::vector<std::int64_t> imgs;
    for (std::int64_t i = 0; i < batch; ++i) imgs.push_back(i);
    return bind(imgs);
  }
  Tensor<float> step(State& st, const Tensor<std::int64_t>& tokens) {
    const std::int64_t rows = tokens.dim(0);
    REQUIRE(rows == static_cast<std::int64_t>(st.image.size()));
    ++steps;
    rows_stepped += rows;
    Tensor<float> logits(Shape{rows, V});
    for (std::int64_t r = 0; r < rows; ++r) {
      auto& h = st.history[r];
      const std::int64_t p1 = tokens(r);
      const std::int64_t pos = static_cast<std::int64_t>(h.size());
      REQUIRE(pos < positions);
      if (pos == 0) REQUIRE(p1 == kStart);
      const std::int64_t p2 = pos == 0 ? kStart : h.back();
      for (std::int64_t v = 0; v < V; ++v) logits(r, v) = at(st.image[r], pos, p2, p1, v);
      h.push_back(p1);
    }
    return logits;
  }
  void reorder(State& st, const std::vector<std::int64_t>& rows) {
    ++reorders;
    State n;
    for (auto r : rows) {
      REQUIRE(r >= 0);
      REQUIRE(r < static_cast<std::int64_t>(st.image.size()));
      n.image.push_back(st.image[r]);
      n.history.push_back(st.history[r]);
    }
    st = std::move(n);
  }
};

/// Per-step argmax reference for one image.
std::vector<std::int64_t> argmax_reference(MarkovModel& m, std::int64_t img, std::int64_t max_len) {
  std::vector<std::int64_t> out;
  std::int64_t p2 = kStart, p1 = kStart;
  for (std::int64_t pos = 0; pos < max_len; ++pos) {
    std::int64_t best = 0;
    for (std::int64_t v = 1; v < m.V; ++v)
      if (m.at(img, pos, p2, p1, v) > m.at(img, pos, p2, p1, best)) best = v;
    if (best == kEnd) break;
    out.push_back(best);
    p2 = p1;
    p1 = best;
  }
  return out;
}

struct Scored {
  std::vector<std::int64_t> tokens;
  double total = 0;  // sum of log-probs (<end> included)
  std::int64_t terms = 0;
};

/// Total log-probability of a decoded sequence (ending in <end> unless it is max_len long).
Scored score_of(MarkovModel& m, std::int64_t img, const std::vector<std::int64_t>& seq, std::int64_t max_len) {
  Scored s{seq, 0, 0};
  std::int64_t p2 = kStart, p1 = kStart;
  for (std::size_t pos = 0; pos <= seq.size(); ++pos) {
    if (pos == seq.size() && static_cast<std::int64_t>(seq.size()) == max_len) break;
    const auto lp = m.log_probs(img, static_cast<std::int64_t>(pos), p2, p1);
    const std::int64_t tok = pos < seq.size() ? seq[pos] : kEnd;
    s.total += lp[tok];
    ++s.terms;
    p2 = p1;
    p1 = tok;
  }
  return s;
}

/// Every sequence the decoder could return, with its score.
void enumerate(MarkovModel& m, std::int64_t img, std::int64_t max_len, std::vector<std::int64_t>& prefix,
               double total, std::int64_t p2, std::int64_t p1, std::vector<Scored>& out) {
  const auto pos = static_cast<std::int64_t>(prefix.size());
  if (pos == max_len) {
    out.push_back({prefix, total, pos});
    return;
  }
  const auto lp = m.log_probs(img, pos, p2, p1);
  for (std::int64_t v = 0; v < m.V; ++v) {
    if (v == kEnd) {
      out.push_back({prefix, total + lp[v], pos + 1});
      continue;
    }
    prefix.push_back(v);
    enumerate(m, img, max_len, prefix, total + lp[v], p1, v, out);
    prefix.pop_back();
  }
}

Scored brute_force_best(MarkovModel& m, std::int64_t img, std::int64_t max_len, double alpha) {
  std::vector<Scored> all;
  std::vector<std::int64_t> prefix;
  enumerate(m, img, max_len, prefix, 0.0, kStart, kStart, all);
  std::size_t best = 0;
  const auto norm = [&](const Scored& s) { return s.total / std::pow(static_cast<double>(s.terms), alpha); };
  for (std::size_t i = 1; i < all.size(); ++i)
    if (norm(all[i]) > norm(all[best])) best = i;
  // the test cases must have a clear winner
  for (std::size_t i = 0; i < all.size(); ++i)
    if (i != best) REQUIRE(norm(all[best]) - norm(all[i]) > 1e-4);
  return all[best];
}

DecodeOptions opts(std::int64_t max_len, int beam, double alpha) {
  DecodeOptions o;
  o.start_id = kStart;
  o.end_id = kEnd;
  o.max_len = max_len;
  o.beam = beam;
  o.length_penalty = alpha;
  return o;
}

}  // namespace

TEST_CASE("greedy decoding takes the argmax token at every step", "[decode]") {
  for (unsigned seed : {1u, 2u, 3u}) {
    MarkovModel m(5, 8, 7, seed);
    // make <end> likely late so sequences have various lengths
    for (std::int64_t img = 0; img < 5; ++img)
      for (std::int64_t p2 = 0; p2 < 7; ++p2)
        for (std::int64_t p1 = 0; p1 < 7; ++p1) m.at(img, 0, p2, p1, kEnd) = -10.f;
    const auto got = greedy_decode(m, m.start(5), 5, opts(7, 1, 1.0));
    REQUIRE(got.size() == 5);
    for (std::int64_t img = 0; img < 5; ++img) CHECK(got[img] == argmax_reference(m, img, 7));
  }
}

TEST_CASE("beam search finds the brute-force best where greedy is myopic", "[decode]") {
  // V = 6: 0 pad, 1 unk, 2 start, 3 end, 4 A, 5 B. Greedy takes A (0.5) but
  // every continuation of A is poor; B (0.4) then <end> (0.9) is better.
  MarkovModel m(1, 4, 6, 11, 0.5);
  m.set_probs(0, 0, kStart, kStart, {0.02, 0.02, 0.02, 0.04, 0.5, 0.4});
  for (std::int64_t p2 = 0; p2 < 6; ++p2) {
    m.set_probs(0, 1, p2, 4, {0.1, 0.1, 0.2, 0.2, 0.2, 0.2});
    m.set_probs(0, 1, p2, 5, {0.02, 0.02, 0.02, 0.9, 0.02, 0.02});
  }
  const std::int64_t max_len = 4;
  const auto best = brute_force_best(m, 0, max_len, 0.0);
  CHECK(best.tokens == std::vector<std::int64_t>{5});
  const auto greedy = greedy_decode(m, m.start(1), 1, opts(max_len, 1, 0.0));
  const auto beam = beam_search(m, m.start(1), 1, opts(max_len, 3, 0.0));
  CHECK(greedy[0].front() == 4);
  CHECK(beam[0] == best.tokens);
  const double g = score_of(m, 0, greedy[0], max_len).total, b = score_of(m, 0, beam[0], max_len).total;
  CHECK(b > g + 0.5);
  CHECK(b == Approx(best.total).margin(1e-5));
}

TEST_CASE("beam search equals brute force on random models (total and mean log-prob)", "[decode]") {
  // V = 5, max_len = 3: 5^3 = 125 hypotheses at most, so beam K = 125 is
  // exhaustive and must return exactly the brute-force best under either score.
  for (unsigned seed : {21u, 22u, 23u, 24u}) {
    MarkovModel m(3, 3, 5, seed, 2.0);
    for (double alpha : {0.0, 1.0}) {
      const auto got = beam_search(m, m.start(3), 3, opts(3, 125, alpha));
      for (std::int64_t img = 0; img < 3; ++img) {
        INFO("seed " << seed << " alpha " << alpha << " image " << img);
        CHECK(got[img] == brute_force_best(m, img, 3, alpha).tokens);
      }
    }
  }
  // A small beam on a longer search: never worse than greedy here, and K = 4
  // finds the best of these seeds' models exactly.
  for (unsigned seed : {31u, 32u, 33u}) {
    MarkovModel m(2, 5, 6, seed, 1.5);
    const auto beam = beam_search(m, m.start(2), 2, opts(5, 4, 0.0));
    const auto greedy = greedy_decode(m, m.start(2), 2, opts(5, 1, 0.0));
    for (std::int64_t img = 0; img < 2; ++img)
      CHECK(score_of(m, img, beam[img], 5).total >= score_of(m, img, greedy[img], 5).total - 1e-9);
  }
}

TEST_CASE("beam search with K = 1 gives greedy's tokens", "[decode]") {
  for (unsigned seed : {41u, 42u, 43u, 44u, 45u}) {
    MarkovModel m(6, 10, 9, seed, 1.0 + seed % 3);
    for (double alpha : {0.0, 0.7, 1.0}) {
      const auto g = greedy_decode(m, m.start(6), 6, opts(9, 1, alpha));
      const auto b = beam_search(m, m.start(6), 6, opts(9, 1, alpha));
      CHECK(g == b);
    }
  }
}

TEST_CASE("decoding a batch equals decoding each image alone", "[decode]") {
  MarkovModel m(5, 9, 8, 51, 1.5);
  for (int K : {1, 3}) {
    for (bool use_beam : {false, true}) {
      const auto run = [&](std::vector<std::int64_t> imgs) {
        auto st = m.bind(imgs);
        const auto n = static_cast<std::int64_t>(imgs.size());
        return use_beam ? beam_search(m, std::move(st), n, opts(8, K, 1.0))
                        : greedy_decode(m, std::move(st), n, opts(8, 1, 1.0));
      };
      const auto together = run({0, 1, 2, 3, 4});
      for (std::int64_t img = 0; img < 5; ++img) CHECK(together[img] == run({img})[0]);
      // and in another order
      const auto shuffled = run({3, 0, 4, 1, 2});
      CHECK(shuffled[0] == together[3]);
      CHECK(shuffled[2] == together[4]);
    }
  }
}

TEST_CASE("decoding respects max_len and drops finished rows", "[decode]") {
  MarkovModel m(3, 12, 6, 61);
  for (auto& x : m.table) x = std::abs(x);
  // <end> impossible everywhere: every caption runs to max_len
  for (std::int64_t img = 0; img < 3; ++img)
    for (std::int64_t pos = 0; pos < 12; ++pos)
      for (std::int64_t p2 = 0; p2 < 6; ++p2)
        for (std::int64_t p1 = 0; p1 < 6; ++p1) m.at(img, pos, p2, p1, kEnd) = -50.f;
  for (std::int64_t max_len : {0, 1, 5}) {
    for (int K : {1, 2, 4}) {
      m.steps = 0;
      const auto b = beam_search(m, m.start(3), 3, opts(max_len, K, 1.0));
      const auto g = greedy_decode(m, m.start(3), 3, opts(max_len, 1, 1.0));
      for (std::int64_t img = 0; img < 3; ++img) {
        CHECK(static_cast<std::int64_t>(b[img].size()) == max_len);
        CHECK(static_cast<std::int64_t>(g[img].size()) == max_len);
      }
      CHECK(m.steps == 2 * max_len);
    }
  }
  // Image 1 ends at once; the other rows go on alone.
  m.set_probs(1, 0, kStart, kStart, {0, 0, 0, 1, 0, 0});
  m.rows_stepped = 0;
  const auto g = greedy_decode(m, m.start(3), 3, opts(5, 1, 1.0));
  CHECK(g[1].empty());
  CHECK(g[0].size() == 5);
  CHECK(m.rows_stepped == 3 + 4 * 2);
  m.rows_stepped = 0;
  const auto b = beam_search(m, m.start(3), 3, opts(5, 2, 1.0));
  CHECK(b[1].empty());
  CHECK(m.rows_stepped == 6 + 4 * 4);
}

TEST_CASE("decoding rejects bad logits and options", "[decode]") {
  struct Bad {
    std::int64_t cols;
    float fill;
    int start(std::int64_t) { return 0; }
    Tensor<float> step(int&, const Tensor<std::int64_t>& t) { return Tensor<float>(Shape{t.dim(0), cols}, fill); }
    void reorder(int&, const std::vector<std::int64_t>&) {}
  };
  Bad nan{5, std::nanf("")};
  CHECK_THROWS_AS(greedy_decode(nan, 0, 2, opts(3, 1, 1.0)), Error);
  CHECK_THROWS_AS(beam_search(nan, 0, 2, opts(3, 2, 1.0)), Error);
  Bad empty{0, 0.f};
  CHECK_THROWS_AS(greedy_decode(empty, 0, 2, opts(3, 1, 1.0)), Error);
  Bad ninf{4, -INFINITY};
  CHECK_THROWS_AS(beam_search(ninf, 0, 1, opts(3, 2, 1.0)), Error);
  Bad fine{4, 0.f};
  CHECK_THROWS_AS(beam_search(fine, 0, 1, opts(3, 0, 1.0)), Error);
  CHECK_THROWS_AS(greedy_decode(fine, 0, 1, opts(-1, 1, 1.0)), Error);
  // all-equal logits: lowest id wins (pad 0)
  CHECK(greedy_decode(fine, 0, 1, opts(2, 1, 1.0))[0] == std::vector<std::int64_t>{0, 0});
  CHECK(beam_search(fine, 0, 1, opts(2, 1, 1.0))[0] == std::vector<std::int64_t>{0, 0});
}

}  // namespace freqcap_test_decode
