// A minimal WordNet 3.0 reader for METEOR's synonym stage, parsing the
// Princeton database files (index files read whole, data files memory-mapped) that Debian's `wordnet-base` installs in
// /usr/share/wordnet (index.{noun,verb,adj,adv}, data.*, *.exc). It answers
// exactly what NLTK 3.8's `wordnet.synsets(word)` + `lemma.name()` answer for
// METEOR: the lemma names of every synset of every morphy base form of the
// word, over nouns, verbs, adjectives and adverbs. Morphy is NLTK's
// (exception lists first, then the detachment rules, repeated until a form is
// in the index). ref: nltk/corpus/reader/wordnet.py (_morphy, synsets).
#pragma once

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

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
      data_[p].open(dir + "/data." + kFiles[p]);
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
        if (const Entry* e = entry(form))
          for (std::uint32_t k = 0; k < e->count[p]; ++k)
            synset_lemmas(p, offsets_[e->begin[p] + k], names);
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
  struct Entry {
    std::array<std::uint32_t, 4> begin{};
    std::array<std::uint32_t, 4> count{};
  };
  static std::string read(const std::string& file) {
    std::FILE* f = std::fopen(file.c_str(), "rb");
    FREQCAP_CHECK(f != nullptr, "WordNet: cannot open ", file,
                  " (install Debian's wordnet-base or pass --wordnet DIR)");
    std::fseek(f, 0, SEEK_END);
    const long size = std::ftell(f);
    std::fseek(f, 0, SEEK_SET);
    std::string text(size > 0 ? static_cast<std::size_t>(size) : 0, '\0');
    const std::size_t got = std::fread(text.data(), 1, text.size(), f);
    std::fclose(f);
    FREQCAP_CHECK(got == text.size(), "WordNet: short read of ", file);
    return text;
  }
  /// A data.* file, read-only memory-mapped: synsets are read by byte offset,
  /// so only the pages a lookup touches are ever loaded.
  class MappedFile {
   public:
    MappedFile() = default;
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    ~MappedFile() {
      if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
    }
    void open(const std::string& file) {
      const int fd = ::open(file.c_str(), O_RDONLY);
      FREQCAP_CHECK(fd >= 0, "WordNet: cannot open ", file,
                    " (install Debian's wordnet-base or pass --wordnet DIR)");
      struct stat st {};
      ::fstat(fd, &st);
      size_ = static_cast<std::size_t>(st.st_size);
      void* m = size_ > 0 ? ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
      ::close(fd);
      FREQCAP_CHECK(m != MAP_FAILED, "WordNet: cannot map ", file);
      data_ = static_cast<const char*>(m);
    }
    std::string_view view() const { return {data_, size_}; }

   private:
    const char* data_ = nullptr;
    std::size_t size_ = 0;
  };
  static void split_into(std::string_view line, std::vector<std::string_view>& out) {
    out.clear();
    std::size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
      std::size_t j = i;
      while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r') ++j;
      if (j > i) out.push_back(line.substr(i, j - i));
      i = j;
    }
  }
  static std::vector<std::string_view> split(std::string_view line) {
    std::vector<std::string_view> out;
    split_into(line, out);
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
  static std::size_t to_number(std::string_view t, int base = 10) {
    std::size_t v = 0;
    std::from_chars(t.data(), t.data() + t.size(), v, base);
    return v;
  }
  void load_index(int p, const std::string& text) {
    lemma_ids_.reserve(160000);
    std::vector<std::string_view> t;
    for_lines(text, [&](std::string_view line) {
      if (line.empty() || line[0] == ' ') return;  // license header
      split_into(line, t);
      FREQCAP_CHECK(t.size() >= 4, "WordNet: bad line in index.", kFiles[p], ": ", line);
      const std::size_t n_synsets = to_number(t[2]);
      const std::size_t first = 4 + to_number(t[3]) + 2;
      FREQCAP_CHECK(t.size() >= first + n_synsets, "WordNet: bad line in index.", kFiles[p],
                    ": ", line);
      auto [it, added] = lemma_ids_.try_emplace(std::string(t[0]), static_cast<std::uint32_t>(entries_.size()));
      if (added) entries_.emplace_back();
      auto& e = entries_[it->second];
      e.begin[p] = static_cast<std::uint32_t>(offsets_.size());
      e.count[p] = static_cast<std::uint32_t>(n_synsets);
      for (std::size_t k = 0; k < n_synsets; ++k)
        offsets_.push_back(static_cast<std::uint32_t>(to_number(t[first + k])));
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
  const Entry* entry(const std::string& form) const {
    auto it = lemma_ids_.find(form);
    return it == lemma_ids_.end() ? nullptr : &entries_[it->second];
  }
  bool in_index(const std::string& form, int p) const {
    const Entry* e = entry(form);
    return e != nullptr && e->count[p] > 0;
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
    const std::string_view data = data_[p].view();
    FREQCAP_CHECK(offset < data.size(), "WordNet: offset ", offset, " beyond data.", kFiles[p]);
    std::size_t end = data.find('\n', offset);
    if (end == std::string::npos) end = data.size();
    const auto t = split(data.substr(offset, std::min<std::size_t>(end - offset, 4096)));
    FREQCAP_CHECK(t.size() >= 4, "WordNet: bad synset at ", offset, " in data.", kFiles[p]);
    const std::size_t n = to_number(t[3], 16);
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
  std::unordered_map<std::string, std::uint32_t> lemma_ids_;  // lemma -> entries_ index
  std::vector<Entry> entries_;
  std::vector<std::uint32_t> offsets_;                       // synset offsets, all parts of speech
  std::array<MappedFile, 4> data_;
  std::array<std::unordered_map<std::string, std::vector<std::string>>, 4> exceptions_;
};

}  // namespace freqcap::metrics
