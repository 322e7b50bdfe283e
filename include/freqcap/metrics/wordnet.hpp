// A minimal WordNet 3.0 reader for METEOR's synonym stage, parsing the
// Princeton database files that Debian's `wordnet-base` installs in
// /usr/share/wordnet (index.{noun,verb,adj,adv}, data.*, *.exc). It answers
// exactly what NLTK 3.8's `wordnet.synsets(word)` + `lemma.name()` answer for
// METEOR: the lemma names of every synset of every morphy base form of the
// word, over nouns, verbs, adjectives and adverbs. Morphy is NLTK's
// (exception lists first, then the detachment rules, repeated until a form is
// in the index). ref: nltk/corpus/reader/wordnet.py (_morphy, synsets).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "freqcap/core/error.hpp"

namespace freqcap::metrics {

/// Where Debian's wordnet-base puts the database.
inline const char* kDefaultWordNetDir = "/usr/share/wordnet";

class WordNet {
 public:
  /// Parts of speech in NLTK's POS_LIST order: noun, verb, adjective, adverb.
  static constexpr std::array<const char*, 4> kFiles = {"noun", "verb", "adj", "adv"};

  /// True when `dir` holds the index.*, data.* and *.exc files.
  static bool available(const std::string& dir) {
    namespace fs = std::filesystem;
    for (const char* f : kFiles)
      for (const std::string prefix : {"index.", "data."})
        if (!fs::is_regular_file(fs::path(dir) / (prefix + f))) return false;
    return true;
  }

  /// Loads the database from `dir`; Error naming the missing file otherwise.
  explicit WordNet(const std::string& dir = kDefaultWordNetDir) : dir_(dir) {
    for (int p = 0; p < 4; ++p) {
      load_index(p, read(dir + "/index." + kFiles[p]));
      data_[p] = read(dir + "/data." + kFiles[p]);
      const std::string exc = dir + "/" + kFiles[p] + ".exc";
      if (std::filesystem::exists(exc)) load_exceptions(p, read(exc));
    }
  }

  const std::string& directory() const { return dir_; }

  /// NLTK's _morphy(form, pos): base forms of `form` present in the index for
  /// part of speech p (0 noun, 1 verb, 2 adjective, 3 adverb).
  std::vector<std::string> morphy(const std::string& form, int p) const {
    const auto filter = [&](const std::vector<std::string>& forms) {
      std::vector<std::string> out;
      for (const auto& f : forms) {
        if (!in_index(f, p)) continue;
        if (std::find(out.begin(), out.end(), f) == out.end()) out.push_back(f);
      }
      return out;
    };
    auto ex = exceptions_[p].find(form);
    if (ex != exceptions_[p].end()) {
      std::vector<std::string> forms{form};
      forms.insert(forms.end(), ex->second.begin(), ex->second.end());
      return filter(forms);
    }
    std::vector<std::string> forms = apply_rules({form}, p);
    std::vector<std::string> first{form};
    first.insert(first.end(), forms.begin(), forms.end());
    auto results = filter(first);
    if (!results.empty()) return results;
    while (!forms.empty()) {
      forms = apply_rules(forms, p);
      results = filter(forms);
      if (!results.empty()) return results;
    }
    return {};
  }

  /// Lemma names (as spelled in the data files, multi-word ones with '_'
  /// included) of all synsets of `word` over the four parts of speech.
  std::vector<std::string> lemma_names(std::string_view word) const {
    std::string lower(word);
    for (char& c : lower)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    std::vector<std::string> names;
    for (int p = 0; p < 4; ++p)
      for (const auto& form : morphy(lower, p))
        for (std::uint32_t offset : index_.at(form)[p]) synset_lemmas(p, offset, names);
    return names;
  }

  /// METEOR's synonym set of `word`: lemma names without '_' plus the word
  /// itself, sorted and unique.
  std::vector<std::string> synonyms(std::string_view word) const {
    std::vector<std::string> out;
    for (auto& n : lemma_names(word))
      if (n.find('_') == std::string::npos) out.push_back(std::move(n));
    out.emplace_back(word);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

 private:
  static std::string read(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    FREQCAP_CHECK(in.good(), "WordNet: cannot open ", file,
                  " (install Debian's wordnet-base or pass --wordnet DIR)");
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static std::vector<std::string_view> split(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
      std::size_t j = i;
      while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r') ++j;
      if (j > i) out.push_back(line.substr(i, j - i));
      i = j;
    }
    return out;
  }
  template <class F>
  static void for_lines(const std::string& text, F f) {
    std::size_t i = 0;
    while (i < text.size()) {
      std::size_t j = text.find('\n', i);
      if (j == std::string::npos) j = text.size();
      f(std::string_view(text).substr(i, j - i));
      i = j + 1;
    }
  }
  void load_index(int p, const std::string& text) {
    for_lines(text, [&](std::string_view line) {
      if (line.empty() || line[0] == ' ') return;  // license header
      const auto t = split(line);
      FREQCAP_CHECK(t.size() >= 4, "WordNet: bad line in index.", kFiles[p], ": ", line);
      const std::size_t n_synsets = std::strtoul(std::string(t[2]).c_str(), nullptr, 10);
      const std::size_t n_pointers = std::strtoul(std::string(t[3]).c_str(), nullptr, 10);
      const std::size_t first = 4 + n_pointers + 2;
      FREQCAP_CHECK(t.size() >= first + n_synsets, "WordNet: bad line in index.", kFiles[p],
                    ": ", line);
      auto& offsets = index_[std::string(t[0])][p];
      for (std::size_t k = 0; k < n_synsets; ++k)
        offsets.push_back(static_cast<std::uint32_t>(
            std::strtoul(std::string(t[first + k]).c_str(), nullptr, 10)));
    });
  }
  void load_exceptions(int p, const std::string& text) {
    for_lines(text, [&](std::string_view line) {
      const auto t = split(line);
      if (t.empty()) return;
      std::vector<std::string> bases(t.begin() + 1, t.end());
      exceptions_[p][std::string(t[0])] = std::move(bases);
    });
  }
  bool in_index(const std::string& form, int p) const {
    auto it = index_.find(form);
    return it != index_.end() && !it->second[p].empty();
  }
  static std::vector<std::string> apply_rules(const std::vector<std::string>& forms, int p) {
    static const std::vector<std::pair<std::string, std::string>> kRules[4] = {
        {{"s", ""}, {"ses", "s"}, {"ves", "f"}, {"xes", "x"}, {"zes", "z"}, {"ches", "ch"},
         {"shes", "sh"}, {"men", "man"}, {"ies", "y"}},
        {{"s", ""}, {"ies", "y"}, {"es", "e"}, {"es", ""}, {"ed", "e"}, {"ed", ""},
         {"ing", "e"}, {"ing", ""}},
        {{"er", ""}, {"est", ""}, {"er", "e"}, {"est", "e"}},
        {}};
    std::vector<std::string> out;
    for (const auto& f : forms)
      for (const auto& [old, rep] : kRules[p])
        if (f.size() >= old.size() && f.compare(f.size() - old.size(), old.size(), old) == 0)
          out.push_back(f.substr(0, f.size() - old.size()) + rep);
    return out;
  }
  void synset_lemmas(int p, std::uint32_t offset, std::vector<std::string>& names) const {
    const std::string& data = data_[p];
    FREQCAP_CHECK(offset < data.size(), "WordNet: offset ", offset, " beyond data.", kFiles[p]);
    std::size_t end = data.find('\n', offset);
    if (end == std::string::npos) end = data.size();
    const auto t = split(std::string_view(data).substr(offset, std::min<std::size_t>(end - offset, 4096)));
    FREQCAP_CHECK(t.size() >= 4, "WordNet: bad synset at ", offset, " in data.", kFiles[p]);
    const std::size_t n = std::strtoul(std::string(t[3]).c_str(), nullptr, 16);
    for (std::size_t k = 0; k < n && 4 + 2 * k < t.size(); ++k) {
      std::string name(t[4 + 2 * k]);
      // Adjective syntactic markers: "name(a)", "name(p)", "name(ip)".
      if (!name.empty() && name.back() == ')') {
        const auto open = name.find('(');
        if (open != std::string::npos) name.resize(open);
      }
      names.push_back(std::move(name));
    }
  }

  std::string dir_;
  std::unordered_map<std::string, std::array<std::vector<std::uint32_t>, 4>> index_;
  std::array<std::string, 4> data_;
  std::array<std::unordered_map<std::string, std::vector<std::string>>, 4> exceptions_;
};

}  // namespace freqcap::metrics
