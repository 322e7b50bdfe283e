// Caption data sets for training: a seed-format JSON file ({image path:
// [captions]}, paths relative to the JSON's folder) read into image files and
// captions, captions encoded to fixed-length id tensors, images loaded and
// preprocessed in batches, and backbone features computed once when the
// backbone is frozen and images are not augmented. Every problem names the
// JSON file and the image: a missing image file, an image with no captions,
// an empty caption. Captions too long for seq_len are truncated and counted.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "freqcap/data/image.hpp"
#include "freqcap/model/captioner.hpp"
#include "freqcap/text/caption_json.hpp"
#include "freqcap/text/vocabulary.hpp"

namespace freqcap::model {

/// One split of a data set.
struct CaptionDataset {
  std::filesystem::path json;                    ///< the file it came from
  std::vector<std::string> keys;                 ///< image paths as written in the JSON
  std::vector<std::filesystem::path> files;      ///< resolved image files
  std::vector<std::vector<std::string>> captions;
  std::int64_t size() const { return static_cast<std::int64_t>(keys.size()); }
};

/// Reads `json` and checks that every image file exists and every caption has words.
inline CaptionDataset read_caption_dataset(const std::filesystem::path& json, bool check_files = true) {
  CaptionDataset d;
  d.json = json;
  const CaptionSet set = read_reference_captions(json.string());
  const std::filesystem::path base = json.parent_path();
  for (const auto& e : set) {
    const std::filesystem::path file = std::filesystem::path(e.path).is_absolute() ? std::filesystem::path(e.path) : base / e.path;
    FREQCAP_CHECK(!check_files || std::filesystem::is_regular_file(file), json.string(), ": image '", e.path,
                  "' does not exist (looked for ", file.string(), ")");
    for (std::size_t i = 0; i < e.captions.size(); ++i)
      FREQCAP_CHECK(!Vocabulary::tokens(e.captions[i]).empty(), json.string(), ": caption ", i, " of image '",
                    e.path, "' is empty");
    d.keys.push_back(e.path);
    d.files.push_back(file);
    d.captions.push_back(e.captions);
  }
  FREQCAP_CHECK(d.size() > 0, json.string(), ": holds no images");
  return d;
}

/// Every caption of the set, in order (what the vocabulary is built from).
inline std::vector<std::string> all_captions(const CaptionDataset& d) {
  std::vector<std::string> out;
  for (const auto& c : d.captions) out.insert(out.end(), c.begin(), c.end());
  return out;
}

/// K captions per image encoded as [N, K, T] inputs / targets / mask. An
/// image with fewer than K captions repeats them in order; extra ones beyond
/// K are not used (the seed's data has exactly five).
struct EncodedCaptions {
  Tensor<std::int64_t> inputs, targets;
  Tensor<float> mask;
  std::int64_t truncated = 0;  ///< captions cut to fit
  std::int64_t per_image = 0;
};

inline EncodedCaptions encode_captions(const CaptionDataset& d, const Vocabulary& vocab, std::int64_t tokens,
                                       std::int64_t per_image) {
  const std::int64_t n = d.size();
  EncodedCaptions e;
  e.per_image = per_image;
  e.inputs = Tensor<std::int64_t>({n, per_image, tokens});
  e.targets = Tensor<std::int64_t>({n, per_image, tokens});
  e.mask = Tensor<float>({n, per_image, tokens});
  for (std::int64_t i = 0; i < n; ++i) {
    const auto& caps = d.captions[static_cast<std::size_t>(i)];
    for (std::int64_t k = 0; k < per_image; ++k) {
      const EncodedPair p = vocab.encode_pair(caps[static_cast<std::size_t>(k) % caps.size()], tokens);
      e.truncated += p.truncated && k < static_cast<std::int64_t>(caps.size());
      const std::int64_t at = (i * per_image + k) * tokens;
      std::copy(p.input.begin(), p.input.end(), e.inputs.data() + at);
      std::copy(p.target.begin(), p.target.end(), e.targets.data() + at);
      std::copy(p.mask.begin(), p.mask.end(), e.mask.data() + at);
    }
  }
  return e;
}

/// Rows `images` of an [N, K, T] tensor gathered caption-major: [K * B, T]
/// with caption k of images[j] at row k * B + j (Captioner::caption_logits' order).
template <class T>
Tensor<T> gather_captions(const Tensor<T>& all, const std::vector<std::int64_t>& images) {
  const std::int64_t b = static_cast<std::int64_t>(images.size()), k = all.dim(1), t = all.dim(2);
  Tensor<T> out({k * b, t});
  for (std::int64_t c = 0; c < k; ++c)
    for (std::int64_t j = 0; j < b; ++j)
      std::copy_n(all.data() + (images[static_cast<std::size_t>(j)] * k + c) * t, t, out.data() + (c * b + j) * t);
  return out;
}

/// Loads images `which` of the set as RGB [B, 3, H, W] in [0, 1] (all must share one size).
inline Tensor<float> load_image_batch(const CaptionDataset& d, const std::vector<std::int64_t>& which) {
  Tensor<float> out;
  for (std::size_t j = 0; j < which.size(); ++j) {
    const Tensor<float> img = load_image(d.files[static_cast<std::size_t>(which[j])]);
    if (j == 0) out = Tensor<float>::empty({static_cast<std::int64_t>(which.size()), 3, img.dim(1), img.dim(2)});
    FREQCAP_CHECK(img.dim(1) == out.dim(2) && img.dim(2) == out.dim(3), d.files[static_cast<std::size_t>(which[j])].string(),
                  ": image is ", img.dim(2), "x", img.dim(1), " but the batch's first is ", out.dim(3), "x", out.dim(2),
                  " (resize the set to one size)");
    std::copy_n(img.data(), img.numel(), out.data() + static_cast<std::int64_t>(j) * img.numel());
  }
  return out;
}

/// Image tokens [N, h*w, C] of every image, computed once with the backbone
/// in eval mode; `progress(done, total)` is called after each batch.
inline Tensor<float> compute_image_tokens(Captioner& model, const CaptionDataset& d, std::int64_t batch,
                                          const std::function<void(std::int64_t, std::int64_t)>& progress = {}) {
  model.backbone().eval();
  const std::int64_t n = d.size();
  Tensor<float> out = Tensor<float>::empty({n, model.image_token_count(), model.feature_channels()});
  const std::int64_t per = model.image_token_count() * model.feature_channels();
  for (std::int64_t at = 0; at < n; at += batch) {
    std::vector<std::int64_t> which;
    for (std::int64_t i = at; i < std::min(n, at + batch); ++i) which.push_back(i);
    const Tensor<float> tokens = model.image_tokens(model.preprocess(load_image_batch(d, which)));
    std::copy_n(tokens.data(), tokens.numel(), out.data() + at * per);
    if (progress) progress(std::min(n, at + batch), n);
  }
  return out;
}

/// Rows `which` of a [N, ...] tensor, stacked.
template <class T>
Tensor<T> gather_rows(const Tensor<T>& all, const std::vector<std::int64_t>& which) {
  Shape s = all.shape();
  const std::int64_t per = all.numel() / s[0];
  s[0] = static_cast<std::int64_t>(which.size());
  Tensor<T> out = Tensor<T>::empty(s);
  for (std::size_t j = 0; j < which.size(); ++j)
    std::copy_n(all.data() + which[j] * per, per, out.data() + static_cast<std::int64_t>(j) * per);
  return out;
}

/// Captions for image files of any sizes (each resized to the model's input),
/// decoded opt.batch at a time; errors name the file.
inline std::vector<std::string> caption_image_files(Captioner& model, const std::vector<std::filesystem::path>& files,
                                                    const GenerateOptions& opt = {}) {
  std::vector<std::string> out;
  const std::int64_t n = static_cast<std::int64_t>(files.size()), step = std::max<std::int64_t>(1, opt.batch);
  const std::int64_t s = model.config().image_size;
  model.eval();
  for (std::int64_t at = 0; at < n; at += step) {
    const std::int64_t b = std::min(step, n - at);
    Tensor<float> x = Tensor<float>::empty({b, 3, s, s});
    for (std::int64_t j = 0; j < b; ++j) {
      const Tensor<float> one = model.preprocess(load_image(files[static_cast<std::size_t>(at + j)]));
      std::copy_n(one.data(), one.numel(), x.data() + j * one.numel());
    }
    for (auto& c : model.generate(model.image_tokens(x), opt)) out.push_back(std::move(c));
  }
  return out;
}

}  // namespace freqcap::model
