// Honest accounting and storage of FR models.
//  - count_stored / stored_numbers: the numbers a compressed model stores —
//    the kept coefficients of every FR weight plus every other state-dict
//    entry at full size (biases, BatchNorm parameters and running statistics,
//    dense layers). Nothing is thresholded away after the fact.
//    BatchNormStorage::folded counts (and saves) BatchNorm in its inference
//    form: 2 numbers per channel instead of 4 plus a counter.
//  - save_compressed / load_compressed: a safetensors file with, per FR layer
//    "<name>.weight", only its K kept coefficients in zigzag-rank order (tensor
//    "<name>.weight.kept", F32 or F16) and a mask descriptor in the metadata
//    (shape, K, rank order, schedule step); every other entry as in the state
//    dict (floats at the chosen precision, int64 as is). Loading scatters the
//    coefficients back, so the rebuilt weights IDCT(C * M) are bit-identical
//    for F32 and within F16 rounding of the coefficients for F16.
//  - compress_dense: post-training compression, C = DCT(W) of a dense model's
//    weights with the first K coefficients kept (then fine-tune as usual).
#pragma once

#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "freqcap/dct/fr_layer.hpp"
#include "freqcap/io/safetensors.hpp"
#include "freqcap/nn/batchnorm.hpp"

namespace freqcap {

/// What a model stores, in numbers (not bytes).
struct StoredCount {
  std::int64_t fr_kept = 0;          ///< kept DCT coefficients of all FR weights
  std::int64_t fr_coefficients = 0;  ///< all coefficients of the FR weights (their dense size)
  std::int64_t dense = 0;            ///< every other state-dict number (parameters and buffers)
  /// Numbers stored: kept coefficients + everything dense.
  std::int64_t total() const { return fr_kept + dense; }
  /// Numbers the same model stores without FR.
  std::int64_t dense_total() const { return fr_coefficients + dense; }
};

/// How BatchNorm layers are stored.
///  - full: weight, bias, running statistics and the batch counter, as in the
///    state dict (training resumes exactly).
///  - folded: the inference form, 2 numbers per channel. "weight" holds
///    scale = weight / sqrt(running_var + eps) and "bias" holds
///    shift = bias - running_mean * scale; loading sets running_mean = 0 and
///    running_var = 1 - eps, so eval outputs equal the original up to float
///    rounding. Layers without affine parameters or running statistics stay full.
enum class BatchNormStorage { full, folded };

namespace detail {
inline std::string key_in(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}
inline std::string fr_weight_key(const std::string& layer) { return key_in(layer, "weight"); }

/// BatchNorm2d layers that `folded` storage folds (affine, with running statistics).
inline std::vector<std::pair<std::string, nn::BatchNorm2d*>> foldable_batchnorms(const nn::Module& model) {
  std::vector<std::pair<std::string, nn::BatchNorm2d*>> out;
  for (const auto& [name, m] : model.named_modules())
    if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(m.get()); bn && bn->options().affine() &&
                                                             bn->options().track_running_stats())
      out.emplace_back(name, bn);
  return out;
}

/// State-dict keys that `folded` storage leaves out (running statistics, counters).
inline std::set<std::string> folded_away_keys(const nn::Module& model, BatchNormStorage bn) {
  std::set<std::string> keys;
  if (bn == BatchNormStorage::folded)
    for (const auto& [name, m] : foldable_batchnorms(model))
      for (const char* k : {"running_mean", "running_var", "num_batches_tracked"}) keys.insert(key_in(name, k));
  return keys;
}
}  // namespace detail

/// Kept coefficients of every FR weight + every other state-dict entry (with
/// BatchNorm as `bn` stores it).
inline StoredCount count_stored(const nn::Module& model, BatchNormStorage bn = BatchNormStorage::full) {
  StoredCount c;
  std::set<std::string> skip = detail::folded_away_keys(model, bn);
  for (const auto& [name, fr] : dct::fr_layers(model)) {
    skip.insert(detail::fr_weight_key(name));
    c.fr_kept += fr->kept();
    c.fr_coefficients += fr->coefficient_count();
  }
  for (const auto& [name, t] : model.state_dict())
    if (!skip.count(name)) c.dense += numel_of(nn::shape_of(t));
  return c;
}

/// count_stored(model, bn).total().
inline std::int64_t stored_numbers(const nn::Module& model, BatchNormStorage bn = BatchNormStorage::full) {
  return count_stored(model, bn).total();
}

enum class CompressedPrecision { f32, f16 };

inline constexpr const char* compressed_format = "freqcap-fr-compressed/1";

/// Writes `model` compressed to `path` (atomically); see the file comment.
inline void save_compressed(const nn::Module& model, const std::filesystem::path& path,
                            CompressedPrecision precision = CompressedPrecision::f32,
                            std::map<std::string, std::string> metadata = {},
                            BatchNormStorage bn = BatchNormStorage::full) {
  std::vector<std::pair<std::string, TensorRef>> tensors;
  // State-dict entries not stored as they are: FR weights and folded-away statistics.
  std::set<std::string> skip = detail::folded_away_keys(model, bn);
  std::map<std::string, Tensor<float>> folded;  // BatchNorm weight/bias keys -> scale/shift
  if (bn == BatchNormStorage::folded)
    for (const auto& [name, m] : detail::foldable_batchnorms(model)) {
      const std::int64_t C = m->options().num_features();
      Tensor<float> scale(Shape{C}), shift(Shape{C});
      const Tensor<float> w = m->weight.value().contiguous(), b = m->bias.value().contiguous();
      for (std::int64_t c = 0; c < C; ++c) {
        const double sc = double(w.data()[c]) / std::sqrt(double(m->running_var.data()[c]) + m->options().eps());
        scale.data()[c] = float(sc);
        shift.data()[c] = float(double(b.data()[c]) - double(m->running_mean.data()[c]) * sc);
      }
      folded.emplace(detail::key_in(name, "weight"), std::move(scale));
      folded.emplace(detail::key_in(name, "bias"), std::move(shift));
    }
  auto add_float = [&](const std::string& name, const Tensor<float>& t) {
    if (precision == CompressedPrecision::f16) tensors.emplace_back(name, TensorRef::as_f16(t));
    else tensors.emplace_back(name, TensorRef(t));
  };
  for (const auto& [name, fr] : dct::fr_layers(model)) {
    const std::string key = detail::fr_weight_key(name);
    skip.insert(key);
    add_float(key + ".kept", fr->mask().gather_kept(fr->coefficients().value()));
    nlohmann::json d;
    d["shape"] = fr->mask().shape();
    d["kept"] = fr->kept();
    d["order"] = "index_sum_then_lexicographic";
    d["step"] = fr->step();
    metadata["fr:" + key] = d.dump();
  }
  for (const auto& [name, t] : model.state_dict()) {
    if (skip.count(name)) continue;
    if (nn::is_int64(t)) tensors.emplace_back(name, TensorRef(std::get<Tensor<std::int64_t>>(t)));
    else if (const auto f = folded.find(name); f != folded.end()) add_float(name, f->second);
    else add_float(name, std::get<Tensor<float>>(t));
  }
  metadata["format"] = compressed_format;
  metadata["batchnorm"] = bn == BatchNormStorage::folded ? "folded" : "full";
  metadata["precision"] = precision == CompressedPrecision::f16 ? "f16" : "f32";
  save_safetensors(path, tensors, metadata);
}

/// Loads a save_compressed file into `model` (same architecture): FR layers get
/// their mask (K, step) and kept coefficients (the rest zero), every other
/// state-dict entry its stored values. Errors name the file and the entries.
inline void load_compressed(nn::Module& model, const std::filesystem::path& path) {
  const SafetensorsFile f = SafetensorsFile::open(path);
  const auto& meta = f.metadata();
  const auto fmt = meta.find("format");
  FREQCAP_CHECK(fmt != meta.end() && fmt->second == compressed_format, path.string(),
                ": not a freqcap FR-compressed file (metadata 'format' is '",
                fmt == meta.end() ? std::string("missing") : fmt->second, "')");
  const auto bn_meta = meta.find("batchnorm");
  const bool folded = bn_meta != meta.end() && bn_meta->second == "folded";
  FREQCAP_CHECK(bn_meta == meta.end() || folded || bn_meta->second == "full", path.string(),
                ": metadata 'batchnorm' is '", bn_meta->second, "' (expected 'full' or 'folded')");
  // State-dict entries not stored as they are: FR weights and folded-away statistics.
  std::set<std::string> skip =
      detail::folded_away_keys(model, folded ? BatchNormStorage::folded : BatchNormStorage::full);
  std::vector<std::string> missing;
  const auto layers = dct::fr_layers(model);
  for (const auto& [name, fr] : layers) {
    const std::string key = detail::fr_weight_key(name);
    skip.insert(key);
    const auto it = meta.find("fr:" + key);
    if (it == meta.end() || !f.contains(key + ".kept")) {
      missing.push_back(key);
      continue;
    }
    const auto d = nlohmann::json::parse(it->second);
    const Shape shape = d.at("shape").get<Shape>();
    FREQCAP_CHECK(shape == fr->coefficients().shape(), path.string(), ": FR weight '", key, "' has shape ",
                  shape_str(shape), " in the file, the model's is ", shape_str(fr->coefficients().shape()));
  }
  const nn::StateDict own = model.state_dict();
  for (const auto& [name, t] : own)
    if (!skip.count(name) && !f.contains(name)) missing.push_back(name);
  if (!missing.empty()) {
    std::string list;
    for (std::size_t i = 0; i < missing.size(); ++i) list += (i ? ", '" : "'") + missing[i] + "'";
    throw Error(path.string() + ": compressed file lacks " + std::to_string(missing.size()) + " entr" +
                (missing.size() == 1 ? "y" : "ies") + " of the model: " + list);
  }
  NoGradGuard ng;
  for (const auto& [name, fr] : layers) {
    const std::string key = detail::fr_weight_key(name);
    const auto d = nlohmann::json::parse(meta.at("fr:" + key));
    const Tensor<float> kept = f.get<float>(key + ".kept");
    fr->restore(d.at("step").get<std::int64_t>(), d.at("kept").get<std::int64_t>());
    FREQCAP_CHECK(kept.numel() == fr->kept(), path.string(), ": '", key, ".kept' holds ", kept.numel(),
                  " values, the descriptor says ", fr->kept());
    Var<float> c = fr->coefficients();
    c.value().copy_from(fr->mask().scatter_kept(kept));
    fr->invalidate_cache();
  }
  for (const auto& [name, t] : own) {
    if (skip.count(name)) continue;
    nn::AnyTensor dst = t;
    if (nn::is_int64(t)) nn::copy_into(dst, f.get<std::int64_t>(name));
    else nn::copy_into(dst, f.get<float>(name));
  }
  if (folded)  // weight and bias now hold scale and shift: neutral statistics
    for (auto& [name, m] : detail::foldable_batchnorms(model)) {
      m->running_mean.fill(0.0f);
      m->running_var.fill(float(1.0 - m->options().eps()));
      m->num_batches_tracked.data()[0] = 0;
    }
}

/// Post-training compression: how many coefficients each FR layer keeps.
struct PostTrainingOptions {
  double keep_ratio = 0.1;          ///< K = floor(keep_ratio * N) ...
  std::int64_t min_count = 0;       ///< ... but at least this many (and >= 1)
  std::int64_t keep_count = -1;     ///< when >= 0: exactly this many (capped at N)
};

/// Loads a dense state dict (torchvision names) into an FR model: every FR
/// layer's "weight" becomes C = DCT(W); every other entry is copied. Masks and
/// schedules are left as they are, so with full masks the FR model computes
/// what the dense one did (a warm start for FR training). Strict: names and
/// shapes must match.
inline void load_dense_into_fr(nn::Module& fr_model, const nn::StateDict& dense) {
  nn::StateDict converted;
  std::map<std::string, dct::FRLayer*> by_key;
  for (const auto& [name, fr] : dct::fr_layers(fr_model)) by_key[detail::fr_weight_key(name)] = fr;
  for (const auto& [name, t] : dense) {
    const auto it = by_key.find(name);
    if (it != by_key.end() && !nn::is_int64(t)) {
      FREQCAP_CHECK(nn::shape_of(t) == it->second->coefficients().shape(), "load_dense_into_fr: dense '", name, "' ",
                    shape_str(nn::shape_of(t)), " for FR coefficients ",
                    shape_str(it->second->coefficients().shape()));
      converted.insert(name, dct::from_dense(std::get<Tensor<float>>(t)));
    } else {
      converted.insert(name, t);
    }
  }
  fr_model.load_state_dict(converted, true);
  for (auto& [key, fr] : by_key) fr->invalidate_cache();
}

/// Post-training compression: load_dense_into_fr, then every FR layer keeps
/// its first K coefficients under a fixed mask (dynamic off, so fine-tuning
/// keeps it).
inline void compress_dense(nn::Module& fr_model, const nn::StateDict& dense, const PostTrainingOptions& opt = {}) {
  load_dense_into_fr(fr_model, dense);
  for (const auto& [name, fr] : dct::fr_layers(fr_model)) {
    dct::TruncationSchedule s = fr->schedule();
    const std::int64_t n = fr->coefficient_count();
    s.dynamic = false;
    s.keep_count = opt.keep_count >= 0 ? std::min(opt.keep_count, n)
                                       : std::max<std::int64_t>(std::int64_t(std::floor(opt.keep_ratio * double(n))),
                                                                opt.min_count);
    s.keep_count = std::clamp<std::int64_t>(s.keep_count, 1, n);
    s.min_count = 0;
    fr->set_schedule(s);  // load_dense_into_fr left every cache invalid; a new mask keeps it so
  }
}

/// compress_dense from a dense module (its state dict).
inline void compress_dense(nn::Module& fr_model, const nn::Module& dense_model, const PostTrainingOptions& opt = {}) {
  compress_dense(fr_model, dense_model.state_dict(), opt);
}

}  // namespace freqcap
