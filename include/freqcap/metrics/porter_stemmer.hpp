// The Porter stemmer exactly as NLTK 3.8's PorterStemmer in its default
// NLTK_EXTENSIONS mode (irregular-form pool, words of <= 2 letters kept, the
// "ies"/"ied" and "alli"/"fulli"/"logi" extensions, the 2-letter cvc rule), for
// METEOR's stem stage. Input is expected lower-case.
// ref: Porter 1980; nltk/stem/porter.py.
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace freqcap::metrics {

namespace detail {

class Porter {
 public:
  static std::string stem(std::string_view input) {
    std::string w(input);
    for (char& c : w)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (const char* irregular = pool(w)) return irregular;
    if (w.size() <= 2) return w;
    w = step1a(w);
    w = step1b(w);
    w = step1c(w);
    w = step2(w);
    w = step3(w);
    w = step4(w);
    w = step5a(w);
    w = step5b(w);
    return w;
  }

 private:
  static const char* pool(const std::string& w) {
    static const std::pair<const char*, const char*> kPool[] = {
        {"sky", "sky"},         {"skies", "sky"},        {"dying", "die"},
        {"lying", "lie"},       {"tying", "tie"},        {"news", "news"},
        {"innings", "inning"},  {"inning", "inning"},    {"outings", "outing"},
        {"outing", "outing"},   {"cannings", "canning"}, {"canning", "canning"},
        {"howe", "howe"},       {"proceed", "proceed"},  {"exceed", "exceed"},
        {"succeed", "succeed"}};
    for (const auto& [from, to] : kPool)
      if (w == from) return to;
    return nullptr;
  }
  static bool ends(std::string_view w, std::string_view s) {
    return w.size() >= s.size() && w.substr(w.size() - s.size()) == s;
  }
  static bool is_vowel_char(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }
  static bool cons(std::string_view w, std::size_t i) {
    if (is_vowel_char(w[i])) return false;
    if (w[i] == 'y') return i == 0 ? true : !cons(w, i - 1);
    return true;
  }
  static int measure(std::string_view s) {
    int m = 0;
    bool prev_vowel = false;
    for (std::size_t i = 0; i < s.size(); ++i) {
      const bool c = cons(s, i);
      if (c && prev_vowel) ++m;
      prev_vowel = !c;
    }
    return m;
  }
  static bool contains_vowel(std::string_view s) {
    for (std::size_t i = 0; i < s.size(); ++i)
      if (!cons(s, i)) return true;
    return false;
  }
  static bool ends_double_consonant(std::string_view w) {
    return w.size() >= 2 && w[w.size() - 1] == w[w.size() - 2] && cons(w, w.size() - 1);
  }
  static bool ends_cvc(std::string_view w) {
    const std::size_t n = w.size();
    if (n >= 3 && cons(w, n - 3) && !cons(w, n - 2) && cons(w, n - 1) && w[n - 1] != 'w' &&
        w[n - 1] != 'x' && w[n - 1] != 'y')
      return true;
    return n == 2 && !cons(w, 0) && cons(w, 1);
  }
  static std::string cut(std::string_view w, std::size_t n) { return std::string(w.substr(0, w.size() - n)); }

  // Rule lists: first suffix that matches decides (condition false -> word unchanged).
  template <class Cond>
  static bool rule(std::string& w, std::string_view suffix, std::string_view repl, Cond cond,
                   bool& done) {
    if (done || !ends(w, suffix)) return false;
    done = true;
    std::string s = cut(w, suffix.size());
    if (cond(s)) w = s + std::string(repl);
    return true;
  }

  static std::string step1a(std::string w) {
    if (ends(w, "ies") && w.size() == 4) return cut(w, 3) + "ie";
    bool done = false;
    const auto any = [](const std::string&) { return true; };
    rule(w, "sses", "ss", any, done);
    rule(w, "ies", "i", any, done);
    rule(w, "ss", "ss", any, done);
    rule(w, "s", "", any, done);
    return w;
  }
  static std::string step1b(std::string w) {
    if (ends(w, "ied")) return w.size() == 4 ? cut(w, 3) + "ie" : cut(w, 3) + "i";
    if (ends(w, "eed")) {
      std::string s = cut(w, 3);
      return measure(s) > 0 ? s + "ee" : w;
    }
    std::string stem;
    bool ok = false;
    for (std::string_view suf : {std::string_view("ed"), std::string_view("ing")}) {
      if (ends(w, suf)) {
        stem = cut(w, suf.size());
        if (contains_vowel(stem)) {
          ok = true;
          break;
        }
      }
    }
    if (!ok) return w;
    if (ends(stem, "at")) return stem + "e";
    if (ends(stem, "bl")) return stem + "e";
    if (ends(stem, "iz")) return stem + "e";
    if (ends_double_consonant(stem)) {
      const char last = stem.back();
      if (last != 'l' && last != 's' && last != 'z') return cut(stem, 2) + last;
      return stem;
    }
    if (measure(stem) == 1 && ends_cvc(stem)) return stem + "e";
    return stem;
  }
  static std::string step1c(std::string w) {
    if (ends(w, "y")) {
      std::string s = cut(w, 1);
      if (s.size() > 1 && cons(s, s.size() - 1)) return s + "i";
    }
    return w;
  }
  static std::string step2(std::string w) {
    if (ends(w, "alli") && measure(cut(w, 4)) > 0) return step2(cut(w, 4) + "al");
    const auto pos = [](const std::string& s) { return measure(s) > 0; };
    static const std::pair<const char*, const char*> kRules[] = {
        {"ational", "ate"}, {"tional", "tion"}, {"enci", "ence"},   {"anci", "ance"},
        {"izer", "ize"},    {"bli", "ble"},     {"alli", "al"},     {"entli", "ent"},
        {"eli", "e"},       {"ousli", "ous"},   {"ization", "ize"}, {"ation", "ate"},
        {"ator", "ate"},    {"alism", "al"},    {"iveness", "ive"}, {"fulness", "ful"},
        {"ousness", "ous"}, {"aliti", "al"},    {"iviti", "ive"},   {"biliti", "ble"},
        {"fulli", "ful"}};
    bool done = false;
    for (const auto& [suf, rep] : kRules) rule(w, suf, rep, pos, done);
    if (!done && ends(w, "logi")) {
      const std::string word_minus3 = cut(w, 3);  // condition on word[:-3]
      if (measure(word_minus3) > 0) return cut(w, 4) + "log";
    }
    return w;
  }
  static std::string step3(std::string w) {
    const auto pos = [](const std::string& s) { return measure(s) > 0; };
    static const std::pair<const char*, const char*> kRules[] = {
        {"icate", "ic"}, {"ative", ""}, {"alize", "al"}, {"iciti", "ic"},
        {"ical", "ic"},  {"ful", ""},   {"ness", ""}};
    bool done = false;
    for (const auto& [suf, rep] : kRules) rule(w, suf, rep, pos, done);
    return w;
  }
  static std::string step4(std::string w) {
    const auto gt1 = [](const std::string& s) { return measure(s) > 1; };
    const auto ion = [](const std::string& s) {
      return measure(s) > 1 && (s.back() == 's' || s.back() == 't');
    };
    static const char* kBefore[] = {"al", "ance", "ence", "er", "ic", "able", "ible",
                                    "ant", "ement", "ment", "ent"};
    static const char* kAfter[] = {"ou", "ism", "ate", "iti", "ous", "ive", "ize"};
    bool done = false;
    for (const char* suf : kBefore) rule(w, suf, "", gt1, done);
    rule(w, "ion", "", ion, done);
    for (const char* suf : kAfter) rule(w, suf, "", gt1, done);
    return w;
  }
  static std::string step5a(std::string w) {
    if (ends(w, "e")) {
      std::string s = cut(w, 1);
      const int m = measure(s);
      if (m > 1) return s;
      if (m == 1 && !ends_cvc(s)) return s;
    }
    return w;
  }
  static std::string step5b(std::string w) {
    if (ends(w, "ll") && measure(cut(w, 1)) > 1) return cut(w, 1);
    return w;
  }
};

}  // namespace detail

/// NLTK 3.8 PorterStemmer().stem(word) (NLTK_EXTENSIONS mode).
inline std::string porter_stem(std::string_view word) { return detail::Porter::stem(word); }

}  // namespace freqcap::metrics
