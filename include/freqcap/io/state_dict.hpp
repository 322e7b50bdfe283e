// State dicts on disk: a module's (or any TensorDict's) named tensors saved
// as one safetensors file, float tensors as F32 and int64 buffers (BatchNorm's
// num_batches_tracked) as I64, as PyTorch writes them; and read back, float
// dtypes (F32/F16/BF16/F64) as float and integer dtypes as int64. A thin
// layer over io/safetensors.hpp and Module::load_state_dict.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "freqcap/io/safetensors.hpp"
#include "freqcap/nn/module.hpp"

namespace freqcap {

/// Writes `dict` to `path` atomically (with optional string metadata).
inline void save_state_dict(const std::filesystem::path& path, const nn::TensorDict& dict,
                            const std::map<std::string, std::string>& metadata = {}) {
  std::vector<std::pair<std::string, TensorRef>> tensors;
  tensors.reserve(dict.size());
  for (const auto& [name, t] : dict)
    std::visit([&, &name = name](const auto& x) { tensors.emplace_back(name, TensorRef(x)); }, t);
  save_safetensors(path, tensors, metadata);
}

/// Writes module.state_dict() to `path`.
inline void save_state_dict(const std::filesystem::path& path, const nn::Module& module,
                            const std::map<std::string, std::string>& metadata = {}) {
  save_state_dict(path, module.state_dict(), metadata);
}

/// Reads every tensor of a safetensors file, in the file's data order.
inline nn::TensorDict read_state_dict(const std::filesystem::path& path) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  nn::TensorDict out;
  for (const auto& name : file.names()) {
    if (is_float_dtype(file.info(name).dtype)) out.insert(name, file.get<float>(name));
    else out.insert(name, file.get<std::int64_t>(name));
  }
  return out;
}

/// Loads the file at `path` into `module` (see Module::load_state_dict); the
/// error names the file as well as every missing, unexpected or mis-shaped tensor.
inline void load_state_dict(nn::Module& module, const std::filesystem::path& path, bool strict = true) {
  const nn::TensorDict dict = read_state_dict(path);
  try {
    module.load_state_dict(dict, strict);
  } catch (const Error& e) {
    throw Error(path.string() + ": " + e.what());
  }
}

}  // namespace freqcap
