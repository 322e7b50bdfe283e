// Caption standardization for evaluation: the tokenization rule that stands in
// for pycocoevalcap's PTB step (lower-case, split punctuation off words, drop
// the punctuation tokens PTB drops), and stripping of the `sos ... eos` /
// `<start> ... <end>` markers that caption files may carry. docs/metrics.md
// states the rule; tools/metrics_reference.py holds its Python twin.
#pragma once

#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace freqcap {

namespace detail {

inline bool is_space_byte(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/// Characters that always stand alone as tokens (and are then dropped): PTB
/// splits them off every word and maps brackets to -LRB- etc.
inline bool is_split_byte(char c) {
  switch (c) {
    case ',': case ';': case '?': case '!': case ':': case '"': case '`':
    case '(': case ')': case '[': case ']': case '{': case '}':
      return true;
    default:
      return false;
  }
}

/// The tokens pycocoevalcap removes after PTB tokenization.
inline bool is_removed_token(std::string_view t) {
  static constexpr std::array<std::string_view, 17> kRemoved = {
      "''", "'", "``", "`", "-lrb-", "-rrb-", "-lcb-", "-rcb-", ".", "?", "!", ",", ":",
      "-", "--", "...", ";"};
  if (t.empty()) return true;
  if (std::find(kRemoved.begin(), kRemoved.end(), t) != kRemoved.end()) return true;
  // Runs made only of '.', '-' or '\'' are punctuation too ("....", "---").
  return std::all_of(t.begin(), t.end(), [](char c) { return c == '.' || c == '-' || c == '\''; });
}

inline bool is_clitic(std::string_view t) {
  static constexpr std::array<std::string_view, 7> kClitics = {"'s", "'re", "'ve", "'ll",
                                                               "'d", "'m", "n't"};
  return std::find(kClitics.begin(), kClitics.end(), t) != kClitics.end();
}

/// Splits one punctuation-free piece into word + clitic ("don't" -> "do" "n't",
/// "man's" -> "man" "'s") after peeling quotes, hyphens and trailing periods.
inline void emit_piece(std::string_view p, std::vector<std::string>& out) {
  if (is_clitic(p)) {
    out.emplace_back(p);
    return;
  }
  while (!p.empty() && (p.front() == '\'' || p.front() == '-')) p.remove_prefix(1);
  while (!p.empty() && (p.back() == '\'' || p.back() == '-' || p.back() == '.')) p.remove_suffix(1);
  if (p.empty() || is_removed_token(p)) return;
  if (p.size() > 3 && p.substr(p.size() - 3) == "n't") {
    out.emplace_back(p.substr(0, p.size() - 3));
    out.emplace_back("n't");
    return;
  }
  const auto apos = p.rfind('\'');
  if (apos != std::string_view::npos && apos > 0 && is_clitic(p.substr(apos))) {
    out.emplace_back(p.substr(0, apos));
    out.emplace_back(p.substr(apos));
    return;
  }
  out.emplace_back(p);
}

}  // namespace detail

/// Evaluation tokens of one caption. Rule: lower-case ASCII letters; split on
/// whitespace; split each chunk at , ; ? ! : " ` ( ) [ ] { }; peel leading and
/// trailing quotes and hyphens and trailing periods; split clitics ('s 're 've
/// 'll 'd 'm n't); drop PTB's removed punctuation tokens. Bytes >= 0x80 are
/// kept as word characters. "A man's red T-shirt, (dirty)." -> [a man 's red
/// t-shirt dirty].
inline std::vector<std::string> standardize_tokens(std::string_view caption) {
  std::vector<std::string> out;
  std::string lower(caption);
  for (char& c : lower)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  std::size_t start = 0;
  const auto flush = [&](std::size_t end) {
    if (end > start) detail::emit_piece(std::string_view(lower).substr(start, end - start), out);
  };
  for (std::size_t i = 0; i < lower.size(); ++i) {
    const char c = lower[i];
    if (detail::is_space_byte(c) || detail::is_split_byte(c)) {
      flush(i);
      start = i + 1;
    }
  }
  flush(lower.size());
  return out;
}

/// standardize_tokens joined by single spaces.
inline std::string standardize(std::string_view caption) {
  std::string s;
  for (const auto& t : standardize_tokens(caption)) {
    if (!s.empty()) s += ' ';
    s += t;
  }
  return s;
}

/// Removes a leading `sos` / `<start>` word and a trailing `eos` / `<end>`
/// word (case-insensitive, whitespace-delimited) and trims the ends:
/// "sos A dog. eos" -> "A dog.".
inline std::string strip_caption_markers(std::string_view caption) {
  const auto lower_eq = [](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      char c = a[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != b[i]) return false;
    }
    return true;
  };
  std::string_view s = caption;
  const auto trim = [&] {
    while (!s.empty() && detail::is_space_byte(s.front())) s.remove_prefix(1);
    while (!s.empty() && detail::is_space_byte(s.back())) s.remove_suffix(1);
  };
  trim();
  std::size_t first_end = 0;
  while (first_end < s.size() && !detail::is_space_byte(s[first_end])) ++first_end;
  const auto first = s.substr(0, first_end);
  if (lower_eq(first, "sos") || lower_eq(first, "<start>")) s.remove_prefix(first_end);
  trim();
  std::size_t last_begin = s.size();
  while (last_begin > 0 && !detail::is_space_byte(s[last_begin - 1])) --last_begin;
  const auto last = s.substr(last_begin);
  if (lower_eq(last, "eos") || lower_eq(last, "<end>")) s.remove_suffix(s.size() - last_begin);
  trim();
  return std::string(s);
}

}  // namespace freqcap
