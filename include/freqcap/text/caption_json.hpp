// Reading and writing the seed paper's caption JSON files: `test.json` maps an
// image path to a list of captions, `prediction.json` maps an image path to one
// caption (a list of one caption is accepted too). Captions lose their
// `sos ... eos` / `<start> ... <end>` markers on reading. Files keep their key
// order. Every problem (missing file, malformed JSON, invalid UTF-8, a
// non-string caption) raises freqcap::Error naming the file and the position:
// line:column for syntax errors, the JSON pointer of the bad value otherwise.
#pragma once

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "freqcap/core/error.hpp"
#include "freqcap/io/atomic_file.hpp"
#include "freqcap/text/standardize.hpp"

namespace freqcap {

/// One image and its captions, in file order.
struct CaptionEntry {
  std::string path;
  std::vector<std::string> captions;
};
using CaptionSet = std::vector<CaptionEntry>;

namespace detail {

inline std::string read_text_file(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  FREQCAP_CHECK(in.good(), file, ": cannot open caption file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string json_pointer_token(const std::string& key) {
  std::string s;
  for (char c : key) {
    if (c == '~') s += "~0";
    else if (c == '/') s += "~1";
    else s += c;
  }
  return s;
}

/// Parses `text` (the contents of `file`) keeping key order; syntax errors and
/// invalid UTF-8 become Error("file:line:col: ...").
inline nlohmann::ordered_json parse_caption_json(const std::string& text, const std::string& file) {
  try {
    return nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    std::size_t byte = e.byte == 0 ? 0 : e.byte - 1;
    if (byte > text.size()) byte = text.size();
    std::size_t line = 1, col = 1;
    for (std::size_t i = 0; i < byte; ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    std::string what = e.what();
    const auto colon = what.find("syntax error");
    if (colon != std::string::npos) what = what.substr(colon);
    detail::fail(file, ":", line, ":", col, " (byte ", byte, "): malformed JSON: ", what);
  }
}

inline std::string caption_string(const nlohmann::ordered_json& v, const std::string& file,
                                  const std::string& pointer) {
  FREQCAP_CHECK(v.is_string(), file, ": at ", pointer, ": caption is a ", v.type_name(),
                ", expected a string");
  return strip_caption_markers(v.get<std::string>());
}

}  // namespace detail

/// Parses reference JSON text {path: [caption, ...]}; `file` names it in errors.
/// Each image needs at least one caption.
inline CaptionSet parse_reference_captions(const std::string& text, const std::string& file) {
  const auto j = detail::parse_caption_json(text, file);
  FREQCAP_CHECK(j.is_object(), file, ": top level is a ", j.type_name(),
                ", expected an object {image path: [captions]}");
  CaptionSet set;
  set.reserve(j.size());
  for (const auto& [key, value] : j.items()) {
    std::string ptr(1, '/');
    ptr += detail::json_pointer_token(key);
    CaptionEntry e{key, {}};
    if (value.is_string()) {
      e.captions.push_back(detail::caption_string(value, file, ptr));
    } else {
      FREQCAP_CHECK(value.is_array(), file, ": at ", ptr, ": value is a ", value.type_name(),
                    ", expected a list of captions");
      FREQCAP_CHECK(!value.empty(), file, ": at ", ptr, ": image has no reference captions");
      for (std::size_t i = 0; i < value.size(); ++i)
        e.captions.push_back(
            detail::caption_string(value[i], file, ptr + "/" + std::to_string(i)));
    }
    set.push_back(std::move(e));
  }
  return set;
}

/// Parses prediction JSON text {path: caption} (or {path: [caption]}).
inline CaptionSet parse_prediction_captions(const std::string& text, const std::string& file) {
  const auto j = detail::parse_caption_json(text, file);
  FREQCAP_CHECK(j.is_object(), file, ": top level is a ", j.type_name(),
                ", expected an object {image path: caption}");
  CaptionSet set;
  set.reserve(j.size());
  for (const auto& [key, value] : j.items()) {
    std::string ptr(1, '/');
    ptr += detail::json_pointer_token(key);
    if (value.is_array()) {
      FREQCAP_CHECK(value.size() == 1, file, ": at ", ptr, ": a prediction list holds ",
                    value.size(), " captions, expected exactly one");
      set.push_back({key, {detail::caption_string(value[0], file, ptr + "/0")}});
    } else {
      set.push_back({key, {detail::caption_string(value, file, ptr)}});
    }
  }
  return set;
}

/// Reads a reference file (seed `test.json` format).
inline CaptionSet read_reference_captions(const std::string& file) {
  return parse_reference_captions(detail::read_text_file(file), file);
}

/// Reads a prediction file (seed `prediction.json` format); one caption per entry.
inline CaptionSet read_prediction_captions(const std::string& file) {
  return parse_prediction_captions(detail::read_text_file(file), file);
}

/// Writes {path: caption} (first caption of each entry) to `file` atomically
/// (temporary file, then rename).
inline void write_prediction_captions(const CaptionSet& set, const std::string& file) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& e : set) j[e.path] = e.captions.empty() ? std::string() : e.captions.front();
  write_file_atomic(file, j.dump(2) + "\n");
}

}  // namespace freqcap
