// Shared machinery of the caption metrics: a Vocabulary that maps tokens to
// dense ids, an NgramTable that gives every distinct 1..4-gram a dense id
// (an n-gram is keyed by its (n-1)-gram prefix id and last word id, so lookups
// are one 64-bit hash probe), and NgramCounts, a sentence's sorted
// (n-gram id, count) lists per order. Building these once per corpus lets every
// metric work on integers; tables are read-only after building, so scoring can
// run on many threads.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace freqcap::metrics {

/// A tokenized sentence as word ids.
using TokenIds = std::vector<std::uint32_t>;

/// Token <-> id map (ids are dense, in order of first appearance).
class Vocabulary {
 public:
  std::uint32_t intern(std::string_view word) {
    auto it = ids_.find(std::string(word));
    if (it != ids_.end()) return it->second;
    const auto id = static_cast<std::uint32_t>(words_.size());
    words_.emplace_back(word);
    ids_.emplace(words_.back(), id);
    return id;
  }
  /// Id of `word`, or -1 when absent.
  long long find(std::string_view word) const {
    auto it = ids_.find(std::string(word));
    return it == ids_.end() ? -1 : static_cast<long long>(it->second);
  }
  TokenIds intern_all(const std::vector<std::string>& tokens) {
    TokenIds ids;
    ids.reserve(tokens.size());
    for (const auto& t : tokens) ids.push_back(intern(t));
    return ids;
  }
  const std::string& word(std::uint32_t id) const { return words_[id]; }
  std::size_t size() const { return words_.size(); }

 private:
  std::vector<std::string> words_;
  std::unordered_map<std::string, std::uint32_t> ids_;
};

/// Dense ids for n-grams: id of (prefix, word), where prefix is the id of the
/// (n-1)-gram or kNoPrefix for unigrams. Open addressing on 64-bit keys.
class NgramTable {
 public:
  static constexpr std::uint32_t kNoPrefix = 0xFFFFFFFFu;

  /// The table's hash of an n-gram key ((prefix << 32) | word); public so
  /// callers can shard n-grams over several tables.
  static std::uint64_t hash(std::uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
  }

  NgramTable() { rehash(1u << 12); }

  std::uint32_t intern(std::uint32_t prefix, std::uint32_t word, int order) {
    if ((orders_.size() + 1) * 10 > slots_.size() * 7) rehash(slots_.size() * 2);
    const std::uint64_t key = (static_cast<std::uint64_t>(prefix) << 32) | word;
    std::size_t i = hash(key) & (slots_.size() - 1);
    while (true) {
      auto& s = slots_[i];
      if (s.id == kEmpty) {
        s.key = key;
        s.id = static_cast<std::uint32_t>(orders_.size());
        orders_.push_back(static_cast<std::uint8_t>(order));
        return s.id;
      }
      if (s.key == key) return s.id;
      i = (i + 1) & (slots_.size() - 1);
    }
  }
  /// Makes room for `n` distinct n-grams without rehashing.
  void reserve(std::size_t n) {
    std::size_t slots = slots_.size();
    while (slots * 7 < n * 10) slots *= 2;
    if (slots > slots_.size()) rehash(slots);
    orders_.reserve(n);
  }
  /// Number of distinct n-grams so far.
  std::size_t size() const { return orders_.size(); }
  /// n of n-gram `id` (1..4).
  int order(std::uint32_t id) const { return orders_[id]; }

 private:
  static constexpr std::uint32_t kEmpty = 0xFFFFFFFFu;
  struct Slot {
    std::uint64_t key = 0;
    std::uint32_t id = kEmpty;
  };
  void rehash(std::size_t n) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(n, Slot{});
    for (const auto& s : old) {
      if (s.id == kEmpty) continue;
      std::size_t i = hash(s.key) & (n - 1);
      while (slots_[i].id != kEmpty) i = (i + 1) & (n - 1);
      slots_[i] = s;
    }
  }
  std::vector<Slot> slots_;
  std::vector<std::uint8_t> orders_;
};

/// Maximum n-gram order the metrics use.
inline constexpr int kMaxOrder = 4;

/// A sentence's n-grams: for order n (index n-1) the sorted (id, count) pairs,
/// the total count (length - n + 1, or 0), and the sentence length.
struct NgramCounts {
  std::array<std::vector<std::pair<std::uint32_t, std::uint32_t>>, kMaxOrder> grams;
  std::array<std::uint32_t, kMaxOrder> totals{};
  std::uint32_t length = 0;
};

/// Number of n-gram occurrences of orders 1..max_order in a sentence of `length` words.
inline std::size_t ngram_occurrences(std::size_t length, int max_order = kMaxOrder) {
  std::size_t total = 0;
  for (int n = 1; n <= max_order && static_cast<std::size_t>(n) <= length; ++n) total += length - n + 1;
  return total;
}

/// Interns the 1..max_order-grams of `words` in `table` and appends their ids
/// to `out`, order by order (all unigrams, then all bigrams, ...).
inline void intern_ngrams(NgramTable& table, const TokenIds& words, std::vector<std::uint32_t>& out,
                          int max_order = kMaxOrder) {
  std::size_t prev = 0;  // start of the previous order's ids in out
  for (int n = 1; n <= max_order && static_cast<std::size_t>(n) <= words.size(); ++n) {
    const std::size_t count = words.size() - n + 1, start = out.size();
    for (std::size_t i = 0; i < count; ++i)
      out.push_back(table.intern(n == 1 ? NgramTable::kNoPrefix : out[prev + i], words[i + n - 1], n));
    prev = start;
  }
}

/// NgramCounts of a sentence of `length` words from its interned ids (as laid
/// out by intern_ngrams). Needs no table, so it can run on many threads.
inline NgramCounts counts_from_ids(const std::uint32_t* ids, std::size_t length,
                                   int max_order = kMaxOrder) {
  NgramCounts c;
  c.length = static_cast<std::uint32_t>(length);
  std::vector<std::uint32_t> sorted;
  for (int n = 1; n <= max_order && static_cast<std::size_t>(n) <= length; ++n) {
    const std::size_t count = length - n + 1;
    sorted.assign(ids, ids + count);
    ids += count;
    std::sort(sorted.begin(), sorted.end());
    auto& g = c.grams[n - 1];
    g.reserve(count);
    for (std::size_t i = 0; i < sorted.size();) {
      std::size_t j = i;
      while (j < sorted.size() && sorted[j] == sorted[i]) ++j;
      g.emplace_back(sorted[i], static_cast<std::uint32_t>(j - i));
      i = j;
    }
    c.totals[n - 1] = static_cast<std::uint32_t>(count);
  }
  return c;
}

/// Counts the 1..max_order-grams of `words`, interning them in `table`.
inline NgramCounts count_ngrams(NgramTable& table, const TokenIds& words,
                                int max_order = kMaxOrder) {
  std::vector<std::uint32_t> ids;
  intern_ngrams(table, words, ids, max_order);
  return counts_from_ids(ids.data(), words.size(), max_order);
}

/// Sum over shared n-grams of min(count in a, count in b): clipped overlap.
inline std::uint32_t clipped_overlap(const std::vector<std::pair<std::uint32_t, std::uint32_t>>& a,
                                     const std::vector<std::pair<std::uint32_t, std::uint32_t>>& b) {
  std::uint32_t s = 0;
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i].first < b[j].first) {
      ++i;
    } else if (b[j].first < a[i].first) {
      ++j;
    } else {
      s += std::min(a[i].second, b[j].second);
      ++i;
      ++j;
    }
  }
  return s;
}

/// Interns a set of tokenized sentences in one go: one vocabulary, one n-gram
/// table. Convenience for the string-level metric overloads.
struct SentenceSet {
  Vocabulary vocab;
  NgramTable table;
  NgramCounts add(const std::vector<std::string>& tokens) {
    return count_ngrams(table, vocab.intern_all(tokens));
  }
};

}  // namespace freqcap::metrics
