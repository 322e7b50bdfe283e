// The captioner's word vocabulary and tokenizer. Words are the evaluation
// tokens of text/standardize.hpp (lower-case, punctuation split off and
// dropped, clitics split), so a decoded caption re-tokenizes to the same words
// the metrics count. Ids: 0 = padding (""), 1 = unknown ("[UNK]"), 2 =
// "<start>", 3 = "<end>", then training words by descending frequency, ties by
// first appearance in the training captions. A caption becomes
// <start> w1 ... wn <end>, padded with 0 to seq_len + 1 ids; the model reads
// ids[0, seq_len) and predicts ids[1, seq_len + 1) (as the Keras "Image
// Captioning" example does). The vocabulary serialises as a JSON list of its
// words in id order, the form stored in a model file's `__metadata__`.
#pragma once

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "freqcap/core/error.hpp"
#include "freqcap/text/standardize.hpp"

namespace freqcap {

/// ids of one caption: `ids` has seq_len + 1 entries.
struct EncodedCaption {
  std::vector<std::int64_t> ids;
  bool truncated = false;  ///< the caption (with <end>) did not fit
};

/// Model input and target of one caption, each seq_len ids.
struct EncodedPair {
  std::vector<std::int64_t> input;   ///< starts with <start>
  std::vector<std::int64_t> target;  ///< input shifted left by one; ends with <end> unless truncated
  std::vector<float> mask;           ///< 1 where target != pad, else 0
  bool truncated = false;
};

class Vocabulary {
 public:
  static constexpr std::int64_t kPad = 0, kUnk = 1, kStart = 2, kEnd = 3;
  static constexpr const char* kUnkWord = "[UNK]";
  static constexpr const char* kStartWord = "<start>";
  static constexpr const char* kEndWord = "<end>";

  /// Only the four special tokens.
  Vocabulary() : Vocabulary(std::vector<std::string>{"", kUnkWord, kStartWord, kEndWord}, "vocabulary") {}

  /// The words of one caption: markers (`sos`/`eos`, `<start>`/`<end>`)
  /// stripped, then standardize_tokens; stray marker words are dropped.
  static std::vector<std::string> tokens(const std::string& caption) {
    auto t = standardize_tokens(strip_caption_markers(caption));
    std::erase_if(t, [](const std::string& w) { return w == kStartWord || w == kEndWord; });
    return t;
  }

  /// Builds from training captions: the 4 special tokens, then the
  /// max_size - 4 most frequent words (ties: first appearance wins).
  /// max_size >= 4; fewer words than room gives a smaller vocabulary.
  static Vocabulary build(const std::vector<std::string>& captions, std::int64_t max_size) {
    FREQCAP_CHECK(max_size >= 4, "Vocabulary::build: max_size ", max_size,
                  " leaves no room for the 4 special tokens");
    struct Count {
      std::int64_t n = 0, first = 0;
    };
    std::unordered_map<std::string, Count> counts;
    std::vector<std::string> order;  // first-appearance order
    for (const auto& c : captions)
      for (auto& w : tokens(c)) {
        if (w == kUnkWord) continue;
        auto [it, fresh] = counts.try_emplace(w, Count{0, static_cast<std::int64_t>(order.size())});
        if (fresh) order.push_back(w);
        ++it->second.n;
      }
    std::stable_sort(order.begin(), order.end(), [&](const std::string& a, const std::string& b) {
      return counts.at(a).n > counts.at(b).n;
    });
    std::vector<std::string> words{"", kUnkWord, kStartWord, kEndWord};
    for (const auto& w : order) {
      if (static_cast<std::int64_t>(words.size()) >= max_size) break;
      words.push_back(w);
    }
    return Vocabulary(std::move(words), "Vocabulary::build");
  }

  std::int64_t size() const { return static_cast<std::int64_t>(words_.size()); }
  std::int64_t pad_id() const { return kPad; }
  std::int64_t unk_id() const { return kUnk; }
  std::int64_t start_id() const { return kStart; }
  std::int64_t end_id() const { return kEnd; }

  /// Id of a word (already standardized); unknown words give unk_id().
  std::int64_t id(const std::string& word) const {
    const auto it = index_.find(word);
    return it == index_.end() ? kUnk : it->second;
  }
  /// Word of an id; throws for an id outside [0, size()).
  const std::string& word(std::int64_t id) const {
    FREQCAP_CHECK(id >= 0 && id < size(), "Vocabulary::word: id ", id, " outside [0, ", size(), ")");
    return words_[static_cast<std::size_t>(id)];
  }

  /// <start> words <end> padded with 0 to exactly seq_len + 1 ids; a caption
  /// that does not fit is cut to seq_len + 1 ids (dropping <end>) and flagged.
  EncodedCaption encode(const std::string& caption, std::int64_t seq_len) const {
    FREQCAP_CHECK(seq_len >= 1, "Vocabulary::encode: seq_len ", seq_len, " must be >= 1");
    const auto n = static_cast<std::size_t>(seq_len + 1);
    EncodedCaption e;
    e.ids.reserve(n);
    e.ids.push_back(kStart);
    for (const auto& w : tokens(caption)) e.ids.push_back(id(w));
    e.ids.push_back(kEnd);
    if (e.ids.size() > n) {
      e.ids.resize(n);
      e.truncated = true;
    }
    e.ids.resize(n, kPad);
    return e;
  }

  /// input = ids[0, seq_len), target = ids[1, seq_len + 1), mask = target != pad.
  EncodedPair encode_pair(const std::string& caption, std::int64_t seq_len) const {
    const auto e = encode(caption, seq_len);
    EncodedPair p;
    p.input.assign(e.ids.begin(), e.ids.end() - 1);
    p.target.assign(e.ids.begin() + 1, e.ids.end());
    p.mask.reserve(p.target.size());
    for (auto t : p.target) p.mask.push_back(t == kPad ? 0.0f : 1.0f);
    p.truncated = e.truncated;
    return p;
  }

  /// Words of `ids` joined by spaces: stops at <end>, skips <start> and
  /// padding; unknown ids throw.
  std::string decode(const std::vector<std::int64_t>& ids) const {
    std::string s;
    for (auto i : ids) {
      if (i == kEnd) break;
      if (i == kStart || i == kPad) continue;
      if (!s.empty()) s += ' ';
      s += word(i);
    }
    return s;
  }

  /// JSON list of the words in id order.
  std::string to_json() const { return nlohmann::json(words_).dump(); }

  /// Parses to_json() output; `what` (a file name) is named in errors. The
  /// list must start with "", "[UNK]", "<start>", "<end>" and hold no
  /// duplicate words.
  static Vocabulary from_json(const std::string& text, const std::string& what) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      detail::fail(what, ": vocabulary is not valid JSON: ", e.what());
    }
    FREQCAP_CHECK(j.is_array(), what, ": vocabulary is a JSON ", j.type_name(), ", expected a list of words");
    std::vector<std::string> words;
    words.reserve(j.size());
    for (std::size_t i = 0; i < j.size(); ++i) {
      FREQCAP_CHECK(j[i].is_string(), what, ": vocabulary entry ", i, " is a ", j[i].type_name(),
                    ", expected a string");
      words.push_back(j[i].get<std::string>());
    }
    return Vocabulary(std::move(words), what);
  }

  const std::vector<std::string>& words() const { return words_; }

 private:
  Vocabulary(std::vector<std::string> words, const std::string& what) : words_(std::move(words)) {
    const char* special[4] = {"", kUnkWord, kStartWord, kEndWord};
    FREQCAP_CHECK(words_.size() >= 4, what, ": vocabulary has ", words_.size(),
                  " words, expected at least the 4 special tokens");
    for (std::size_t i = 0; i < 4; ++i)
      FREQCAP_CHECK(words_[i] == special[i], what, ": vocabulary entry ", i, " is \"", words_[i],
                    "\", expected \"", special[i], "\"");
    for (std::size_t i = 0; i < words_.size(); ++i) {
      const auto [it, fresh] = index_.emplace(words_[i], static_cast<std::int64_t>(i));
      FREQCAP_CHECK(fresh, what, ": vocabulary word \"", words_[i], "\" appears twice (ids ", it->second,
                    " and ", i, ")");
    }
  }

  std::vector<std::string> words_;
  std::unordered_map<std::string, std::int64_t> index_;
};

}  // namespace freqcap
