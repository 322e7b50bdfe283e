// COCO 2014 captions -> the seed's caption JSON ({"<image path>": [5
// captions], ...}). Reads a COCO captions file ({"images": [{"id",
// "file_name", ...}], "annotations": [{"image_id", "caption", ...}]}), keeps
// the images with exactly five captions (as the seed did: 68,363 train /
// 31,432 val images of COCO 2014), sorts them by image id, and writes image
// paths relative to the output JSON's folder (model/caption_data.hpp reads
// them so), optionally moving the last N kept images to a test file. Captions
// are trimmed, otherwise kept as written (the model standardizes them). Every
// problem raises freqcap::Error naming the file; outputs are written atomically.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "freqcap/core/error.hpp"
#include "freqcap/io/atomic_file.hpp"
#include "freqcap/text/caption_json.hpp"

namespace freqcap {

/// One COCO image and its captions (annotation order, trimmed).
struct CocoImage {
  std::int64_t id = 0;
  std::string file_name;
  std::vector<std::string> captions;
};

namespace detail {

inline std::string trim_caption(const std::string& s) {
  std::size_t a = 0, b = s.size();
  while (a < b && is_space_byte(s[a])) ++a;
  while (b > a && is_space_byte(s[b - 1])) --b;
  return s.substr(a, b - a);
}

template <class J>
const J& coco_field(const J& obj, const char* key, const std::string& file, const std::string& where) {
  FREQCAP_CHECK(obj.is_object(), file, ": ", where, " is a ", obj.type_name(), ", expected an object");
  const auto it = obj.find(key);
  FREQCAP_CHECK(it != obj.end(), file, ": ", where, " has no \"", key, "\"");
  return *it;
}

template <class J>
std::int64_t coco_id(const J& v, const std::string& file, const std::string& where) {
  FREQCAP_CHECK(v.is_number_integer(), file, ": ", where, " is a ", v.type_name(), ", expected an integer id");
  return v.template get<std::int64_t>();
}

}  // namespace detail

/// Parses COCO captions JSON text (`file` names it in errors). Returns every
/// image, sorted by id, with its captions. Errors: malformed JSON, missing
/// "images"/"annotations"/"id"/"file_name"/"image_id"/"caption", wrong types,
/// a duplicate image id, an annotation for an unknown image id.
inline std::vector<CocoImage> parse_coco_captions(const std::string& text, const std::string& file) {
  const auto j = detail::parse_caption_json(text, file);
  FREQCAP_CHECK(j.is_object(), file, ": top level is a ", j.type_name(), ", expected a COCO captions object");
  const auto& images = detail::coco_field(j, "images", file, "top level");
  const auto& annotations = detail::coco_field(j, "annotations", file, "top level");
  FREQCAP_CHECK(images.is_array(), file, ": \"images\" is a ", images.type_name(), ", expected a list");
  FREQCAP_CHECK(annotations.is_array(), file, ": \"annotations\" is a ", annotations.type_name(),
                ", expected a list");
  std::vector<CocoImage> out;
  out.reserve(images.size());
  std::unordered_map<std::int64_t, std::size_t> index;
  for (std::size_t i = 0; i < images.size(); ++i) {
    const std::string where = "images[" + std::to_string(i) + "]";
    CocoImage im;
    im.id = detail::coco_id(detail::coco_field(images[i], "id", file, where), file, where + ".id");
    const auto& name = detail::coco_field(images[i], "file_name", file, where);
    FREQCAP_CHECK(name.is_string() && !name.template get<std::string>().empty(), file, ": ", where,
                  ".file_name is not a non-empty string");
    im.file_name = name.template get<std::string>();
    const auto [it, fresh] = index.emplace(im.id, out.size());
    FREQCAP_CHECK(fresh, file, ": ", where, ": image id ", im.id, " appears twice");
    out.push_back(std::move(im));
  }
  for (std::size_t i = 0; i < annotations.size(); ++i) {
    const std::string where = "annotations[" + std::to_string(i) + "]";
    const auto id = detail::coco_id(detail::coco_field(annotations[i], "image_id", file, where), file,
                                    where + ".image_id");
    const auto& cap = detail::coco_field(annotations[i], "caption", file, where);
    FREQCAP_CHECK(cap.is_string(), file, ": ", where, ".caption is a ", cap.type_name(), ", expected a string");
    const auto it = index.find(id);
    FREQCAP_CHECK(it != index.end(), file, ": ", where, " refers to image id ", id, ", which is not in \"images\"");
    out[it->second].captions.push_back(detail::trim_caption(cap.template get<std::string>()));
  }
  std::sort(out.begin(), out.end(), [](const CocoImage& a, const CocoImage& b) { return a.id < b.id; });
  return out;
}

/// Reads a COCO captions file (e.g. captions_train2014.json).
inline std::vector<CocoImage> read_coco_captions(const std::string& file) {
  return parse_coco_captions(detail::read_text_file(file), file);
}

/// `images_dir / file_name` relative to the folder of `out_file` (both made
/// absolute against the working directory and normalised); POSIX paths.
inline std::string coco_image_path(const std::string& images_dir, const std::string& file_name,
                                   const std::string& out_file) {
  namespace fs = std::filesystem;
  const fs::path image = fs::absolute(fs::path(images_dir) / file_name).lexically_normal();
  const fs::path base = fs::absolute(fs::path(out_file)).lexically_normal().parent_path();
  const fs::path rel = image.lexically_relative(base);
  return (rel.empty() ? image : rel).generic_string();
}

struct CocoPrepareOptions {
  std::string annotations;          ///< COCO captions JSON
  std::string images_dir;           ///< folder holding the file_name images
  std::string out;                  ///< seed-format JSON of the kept images
  std::string test_out;             ///< seed-format JSON of the last test_count images
  std::int64_t test_count = 0;      ///< images moved from `out` to `test_out`
  std::size_t captions_per_image = 5;
};

struct CocoPrepareResult {
  std::int64_t images = 0, annotations = 0, kept = 0, written = 0, test = 0;
};

namespace detail {
/// Writes `set` as {path: [captions]} atomically, in order (linear time:
/// ordered_json's operator[] would search every key). Paths must be unique.
inline void write_caption_set(const CaptionSet& set, const std::string& file) {
  std::unordered_set<std::string> seen;
  std::string text = "{";
  for (std::size_t i = 0; i < set.size(); ++i) {
    FREQCAP_CHECK(seen.insert(set[i].path).second, file, ": image path \"", set[i].path,
                  "\" would appear twice (two images share a file name)");
    text += i ? ",\n  " : "\n  ";
    text += nlohmann::json(set[i].path).dump();
    text += ": ";
    text += nlohmann::json(set[i].captions).dump();
  }
  text += set.empty() ? "}\n" : "\n}\n";
  write_file_atomic(file, text);
}
}  // namespace detail

/// The whole preparation: read, keep images with exactly captions_per_image
/// captions (sorted by id), split off the last test_count, write. Nothing is
/// written unless everything checks out.
inline CocoPrepareResult prepare_coco(const CocoPrepareOptions& o) {
  FREQCAP_CHECK(!o.out.empty(), "coco prepare: no output file given");
  FREQCAP_CHECK(o.test_count >= 0, o.annotations, ": test count ", o.test_count, " is negative");
  FREQCAP_CHECK(o.test_count == 0 || !o.test_out.empty(), o.annotations, ": test count ", o.test_count,
                " needs a test output file");
  const auto text = detail::read_text_file(o.annotations);
  const auto images = parse_coco_captions(text, o.annotations);
  CocoPrepareResult r;
  r.images = static_cast<std::int64_t>(images.size());
  std::vector<const CocoImage*> kept;
  for (const auto& im : images) {
    r.annotations += static_cast<std::int64_t>(im.captions.size());
    if (im.captions.size() == o.captions_per_image) kept.push_back(&im);
  }
  r.kept = static_cast<std::int64_t>(kept.size());
  std::unordered_set<std::string> names;
  for (const auto* im : kept)
    FREQCAP_CHECK(names.insert(im->file_name).second, o.annotations, ": file_name \"", im->file_name,
                  "\" appears twice among the kept images (ids differ)");
  FREQCAP_CHECK(o.test_count <= r.kept, o.annotations, ": test count ", o.test_count, " is larger than the ",
                r.kept, " images with exactly ", o.captions_per_image, " captions");
  const auto split = kept.size() - static_cast<std::size_t>(o.test_count);
  const auto set_of = [&](std::size_t from, std::size_t to, const std::string& out_file) {
    CaptionSet set;
    set.reserve(to - from);
    for (std::size_t i = from; i < to; ++i)
      set.push_back({coco_image_path(o.images_dir, kept[i]->file_name, out_file), kept[i]->captions});
    return set;
  };
  const CaptionSet train = set_of(0, split, o.out);
  const CaptionSet test = o.test_count > 0 ? set_of(split, kept.size(), o.test_out) : CaptionSet{};
  r.written = static_cast<std::int64_t>(train.size());
  r.test = static_cast<std::int64_t>(test.size());
  detail::write_caption_set(train, o.out);
  if (o.test_count > 0) detail::write_caption_set(test, o.test_out);
  return r;
}

}  // namespace freqcap
