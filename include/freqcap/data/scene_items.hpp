// Fashion Scenes item recall: parse_scene_items() recovers the ordered
// (colour, class) items A, B, C from a caption of any of the 15 templates of
// SCENES.md, and item_recall() scores predicted captions by the share of the
// true items they name with the right colour ("{colour} {noun}" or
// "{colour} {synonym}" as whole words), overall and per item count k.
#pragma once

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <iomanip>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "freqcap/data/scene_render.hpp"
#include "freqcap/text/caption_json.hpp"

namespace freqcap::scenes {

/// One item named by a caption: colour index into colours(), label 0..9.
struct NamedItem {
  int colour = 0;
  int label = 0;
  bool operator==(const NamedItem&) const = default;
};

namespace detail {

/// Lower-cased words of a caption (split at every non-alphanumeric byte).
inline std::vector<std::string> caption_words(const std::string& caption) {
  std::vector<std::string> out;
  std::string w;
  for (char ch : caption) {
    const auto u = static_cast<unsigned char>(ch);
    if (std::isalnum(u)) {
      w += static_cast<char>(std::tolower(u));
    } else if (!w.empty()) {
      out.push_back(std::move(w));
      w.clear();
    }
  }
  if (!w.empty()) out.push_back(std::move(w));
  return out;
}

/// Does words[at..] start with the words of `phrase`?
inline bool words_at(const std::vector<std::string>& words, std::size_t at, const std::vector<std::string>& phrase) {
  if (at + phrase.size() > words.size()) return false;
  for (std::size_t i = 0; i < phrase.size(); ++i)
    if (words[at + i] != phrase[i]) return false;
  return true;
}

inline bool contains_words(const std::vector<std::string>& words, const std::vector<std::string>& phrase) {
  for (std::size_t at = 0; at + phrase.size() <= words.size(); ++at)
    if (words_at(words, at, phrase)) return true;
  return false;
}

inline bool has_word(const std::vector<std::string>& words, const char* w) {
  return std::find(words.begin(), words.end(), w) != words.end();
}

}  // namespace detail

/// The items A, B, C (in that order) named by a caption of any Fashion Scenes
/// template: every "{colour} {noun|synonym}" mention in reading order (the
/// longest class phrase wins), then reordered where a template names them out
/// of order ("B to the right of A", "B below A", "B between A and C").
/// A caption that names no coloured item gives an empty list.
inline std::vector<NamedItem> parse_scene_items(const std::string& caption) {
  const std::vector<std::string> words = detail::caption_words(caption);
  std::vector<NamedItem> found;
  for (std::size_t p = 0; p < words.size();) {
    int colour = -1;
    for (std::size_t c = 0; c < colours().size(); ++c)
      if (words[p] == colours()[c].name) colour = static_cast<int>(c);
    if (colour < 0) {
      ++p;
      continue;
    }
    int label = -1;
    std::size_t best = 0;
    for (std::size_t l = 0; l < class_words().size(); ++l)
      for (const char* phrase : {class_words()[l].noun, class_words()[l].synonym}) {
        const auto pw = detail::caption_words(phrase);
        if (pw.size() > best && detail::words_at(words, p + 1, pw)) {
          best = pw.size();
          label = static_cast<int>(l);
        }
      }
    if (label < 0) {
      ++p;
      continue;
    }
    found.push_back({colour, label});
    p += 1 + best;
  }
  if (found.size() == 2 && (detail::has_word(words, "right") || detail::has_word(words, "below")))
    std::swap(found[0], found[1]);
  if (found.size() == 3 && detail::has_word(words, "between")) std::swap(found[0], found[1]);
  return found;
}

/// Item recall of predictions against Fashion Scenes references.
struct ItemRecall {
  std::int64_t images = 0;    ///< reference images scored
  std::int64_t skipped = 0;   ///< reference images whose captions name no item
  std::int64_t items = 0;     ///< true items over the scored images
  std::int64_t recalled = 0;  ///< true items the prediction names with the right colour
  double fraction = 0.0;      ///< recalled / items (0 when there are no items)
  std::array<std::int64_t, 4> items_by_k{};     ///< [k] items in images holding k items (k = 1..3)
  std::array<std::int64_t, 4> recalled_by_k{};  ///< [k] recalled items in those images
  double fraction_k(int k) const {
    const auto i = static_cast<std::size_t>(k);
    return i < items_by_k.size() && items_by_k[i] > 0 ? double(recalled_by_k[i]) / double(items_by_k[i]) : 0.0;
  }
};

/// Scores predictions (first caption per path) against references. An image's
/// truth is parse_scene_items() of its first reference caption (template 1),
/// else of the first reference caption that names any item; images whose
/// captions name none are skipped. A true item counts as recalled, once, when
/// the prediction holds "{colour} {noun}" or "{colour} {synonym}" as whole
/// words; an image without prediction recalls nothing.
inline ItemRecall item_recall(const CaptionSet& references, const CaptionSet& predictions) {
  std::unordered_map<std::string, const std::string*> pred;
  for (const auto& e : predictions)
    if (!e.captions.empty()) pred.emplace(e.path, &e.captions.front());
  ItemRecall r;
  for (const auto& ref : references) {
    std::vector<NamedItem> truth;
    for (const auto& c : ref.captions) {
      truth = parse_scene_items(c);
      if (!truth.empty()) break;
    }
    if (truth.empty()) {
      ++r.skipped;
      continue;
    }
    ++r.images;
    const auto it = pred.find(ref.path);
    const std::vector<std::string> words =
        it == pred.end() ? std::vector<std::string>{} : detail::caption_words(*it->second);
    const auto k = static_cast<std::size_t>(std::min<std::size_t>(truth.size(), 3));
    for (const NamedItem& t : truth) {
      const std::string c = colours()[static_cast<std::size_t>(t.colour)].name;
      const ClassWords& cw = class_words()[static_cast<std::size_t>(t.label)];
      const bool hit = detail::contains_words(words, detail::caption_words(c + " " + cw.noun)) ||
                       detail::contains_words(words, detail::caption_words(c + " " + cw.synonym));
      ++r.items;
      ++r.items_by_k[k];
      if (hit) {
        ++r.recalled;
        ++r.recalled_by_k[k];
      }
    }
  }
  r.fraction = r.items > 0 ? double(r.recalled) / double(r.items) : 0.0;
  return r;
}

/// One line: "item recall: 0.8123 (812/1000 items; k=1 0.9000, k=2 0.8000, k=3 0.7000)".
inline std::string format_item_recall(const ItemRecall& r) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(4) << "item recall: " << r.fraction << " (" << r.recalled << "/" << r.items
     << " items";
  for (int k = 1; k <= 3; ++k) os << (k == 1 ? "; " : ", ") << "k=" << k << " " << r.fraction_k(k);
  os << ")";
  return os.str();
}

}  // namespace freqcap::scenes
