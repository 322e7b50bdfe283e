// A captioner model is one safetensors file: every weight of the backbone,
// encoder and decoder under its state-dict name, plus `__metadata__` holding
// "freqcap.kind" = "captioner", "freqcap.config" (model/config.hpp JSON) and
// "freqcap.vocabulary" (the word list). Weights may be stored as fp16 to
// halve the file; loading always restores fp32. A file of another kind, an
// older format or with missing or mis-shaped weights is refused with an
// error naming the file and every problem.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "freqcap/io/safetensors.hpp"
#include "freqcap/io/state_dict.hpp"
#include "freqcap/model/captioner.hpp"

namespace freqcap::model {

inline constexpr const char* kKindKey = "freqcap.kind";
inline constexpr const char* kConfigKey = "freqcap.config";
inline constexpr const char* kVocabularyKey = "freqcap.vocabulary";

/// The metadata that identifies a captioner (kind, config, vocabulary).
inline std::map<std::string, std::string> captioner_metadata(const Captioner& m) {
  return {{kKindKey, "captioner"}, {kConfigKey, m.config().to_json().dump()}, {kVocabularyKey, m.vocabulary().to_json()}};
}

/// Tensors of `dict` for save_safetensors, float ones narrowed to fp16 when asked.
inline std::vector<std::pair<std::string, TensorRef>> tensor_refs(const nn::TensorDict& dict, bool fp16,
                                                                  const std::string& prefix = "") {
  std::vector<std::pair<std::string, TensorRef>> out;
  for (const auto& [name, t] : dict) {
    if (const auto* f = std::get_if<Tensor<float>>(&t); f && fp16) out.emplace_back(prefix + name, TensorRef::as_f16(*f));
    else std::visit([&, &n = name](const auto& x) { out.emplace_back(prefix + n, TensorRef(x)); }, t);
  }
  return out;
}

/// Writes the model (weights, config, vocabulary) to `path` atomically.
inline void save_captioner(const std::filesystem::path& path, const Captioner& model, bool fp16 = false,
                           std::map<std::string, std::string> extra_metadata = {}) {
  auto meta = captioner_metadata(model);
  meta.insert(extra_metadata.begin(), extra_metadata.end());
  save_safetensors(path, tensor_refs(model.state_dict(), fp16), meta);
}

/// Config and vocabulary of an open model or checkpoint file.
inline std::pair<CaptionerConfig, Vocabulary> read_captioner_header(const SafetensorsFile& file) {
  const auto& meta = file.metadata();
  const std::string& what = file.path();
  const auto kind = meta.find(kKindKey);
  FREQCAP_CHECK(kind != meta.end(), what, ": not a freqcap captioner (no '", kKindKey,
                "' in the metadata; a backbone weight file or a file from before format 1?)");
  FREQCAP_CHECK(kind->second == "captioner" || kind->second == "captioner-checkpoint", what, ": holds a '",
                kind->second, "', not a captioner");
  const auto config = meta.find(kConfigKey);
  const auto vocab = meta.find(kVocabularyKey);
  FREQCAP_CHECK(config != meta.end() && vocab != meta.end(), what, ": captioner metadata lacks '",
                config == meta.end() ? kConfigKey : kVocabularyKey, "'");
  return {CaptionerConfig::from_json(config->second, what), Vocabulary::from_json(vocab->second, what)};
}

/// Tensors of `file` whose names start with `prefix` (prefix removed), as fp32 / int64.
inline nn::TensorDict read_prefixed(const SafetensorsFile& file, const std::string& prefix) {
  nn::TensorDict out;
  for (const auto& name : file.names()) {
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string key = name.substr(prefix.size());
    if (is_float_dtype(file.info(name).dtype)) out.insert(key, file.get<float>(name));
    else out.insert(key, file.get<std::int64_t>(name));
  }
  return out;
}

/// Loads a model written by save_captioner (or the "model." part of a
/// training checkpoint when `prefix` is "model.").
inline std::unique_ptr<Captioner> load_captioner(const std::filesystem::path& path, const std::string& prefix = "") {
  const SafetensorsFile file = SafetensorsFile::open(path);
  auto [config, vocab] = read_captioner_header(file);
  const bool checkpoint = file.metadata().at(kKindKey) == "captioner-checkpoint";
  FREQCAP_CHECK(checkpoint == (prefix == "model."), path.string(),
                checkpoint ? ": is a training checkpoint, not a captioner model file (use the model file written beside it)"
                           : ": is a captioner model file, not a training checkpoint");
  auto model = std::make_unique<Captioner>(std::move(config), std::move(vocab));
  try {
    model->load_state_dict(read_prefixed(file, prefix), true);
  } catch (const Error& e) {
    throw Error(path.string() + ": weights do not match the model its config describes: " + e.what());
  }
  model->eval();
  return model;
}

}  // namespace freqcap::model
