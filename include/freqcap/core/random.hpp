// Portable random numbers: SplitMix64 and xoshiro256** (Blackman, Vigna)
// with the library's own integer and real mappings, so a seed gives the same
// draws on every platform and standard library (std::uniform_*_distribution
// and std::shuffle are implementation-defined). Scenes, augmentation and the
// trainer's shuffling all draw from here, so their outputs are reproducible.
#pragma once

#include <array>
#include <initializer_list>
#include <cstdint>
#include <utility>
#include <vector>

#include "freqcap/core/error.hpp"

namespace freqcap {

/// SplitMix64 step (Steele, Lea, Flood 2014): advances `state`, returns a mixed value.
inline std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// A seed derived from a base seed and a list of integers (epoch, index, ...).
inline std::uint64_t derive_seed(std::uint64_t seed, std::initializer_list<std::uint64_t> parts) {
  std::uint64_t st = seed;
  std::uint64_t h = splitmix64(st);
  for (std::uint64_t p : parts) {
    st = h ^ p;
    h = splitmix64(st);
  }
  return h;
}

/// xoshiro256** seeded through SplitMix64.
class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0) {
    std::uint64_t sm = seed;
    for (auto& w : s_) w = splitmix64(sm);
  }
  std::uint64_t next_u64() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  /// Uniform integer in [0, n), n >= 1, unbiased (rejects the low 2^64 mod n values).
  std::uint64_t uniform_int(std::uint64_t n) {
    FREQCAP_CHECK(n >= 1, "Rng::uniform_int: empty range");
    const std::uint64_t threshold = (0 - n) % n;
    for (;;) {
      const std::uint64_t x = next_u64();
      if (x >= threshold) return x % n;
    }
  }
  /// Uniform integer in [lo, hi], lo <= hi.
  int uniform_int(int lo, int hi) {
    FREQCAP_CHECK(lo <= hi, "Rng::uniform_int: empty range [", lo, ", ", hi, "]");
    return lo + static_cast<int>(uniform_int(static_cast<std::uint64_t>(std::int64_t(hi) - lo + 1)));
  }
  /// Uniform real in [0, 1): the top 53 bits times 2^-53 (exact).
  double uniform_real() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  /// Uniform real in [lo, hi).
  double uniform_real(double lo, double hi) { return lo + (hi - lo) * uniform_real(); }

  /// The four state words (to checkpoint a stream) and their restore.
  const std::array<std::uint64_t, 4>& state() const { return s_; }
  void set_state(const std::array<std::uint64_t, 4>& s) { s_ = s; }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::array<std::uint64_t, 4> s_{};
};

/// Fisher-Yates shuffle of `v` drawing from `rng` (the same order everywhere).
template <class T>
void shuffle(std::vector<T>& v, Rng& rng) {
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.uniform_int(static_cast<std::uint64_t>(i))]);
}

}  // namespace freqcap
