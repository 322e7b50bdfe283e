// Training checkpoints: one safetensors file (written to a temporary file and
// renamed) holding the current weights ("model."), the best weights so far
// ("best."), the optimizer state ("optim.") and, in `__metadata__`, the
// config, vocabulary and the trainer's counters and random state. Resuming
// from it continues the run exactly: the same seed gives the same final
// weights as an uninterrupted run.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>

#include "freqcap/model/model_file.hpp"
#include "freqcap/nn/optim.hpp"

namespace freqcap::model {

/// Where a run stands after its last finished epoch.
struct TrainerState {
  int epoch = 0;                  ///< epochs finished
  std::int64_t step = 0;          ///< optimizer steps taken
  double best_val_loss = 1e300;
  int best_epoch = 0;
  int bad_epochs = 0;             ///< epochs since the best (early stopping)
  std::string rng;                ///< the dropout generator, as std::mt19937 prints itself
  nlohmann::json options;         ///< the run's training options (checked on resume)

  nlohmann::json to_json() const {
    return {{"epoch", epoch}, {"step", step}, {"best_val_loss", best_val_loss}, {"best_epoch", best_epoch},
            {"bad_epochs", bad_epochs}, {"rng", rng}, {"options", options}};
  }
  static TrainerState from_json(const std::string& text, const std::string& what) {
    TrainerState s;
    try {
      const auto j = nlohmann::json::parse(text);
      s.epoch = j.at("epoch").get<int>();
      s.step = j.at("step").get<std::int64_t>();
      s.best_val_loss = j.at("best_val_loss").get<double>();
      s.best_epoch = j.at("best_epoch").get<int>();
      s.bad_epochs = j.at("bad_epochs").get<int>();
      s.rng = j.at("rng").get<std::string>();
      s.options = j.at("options");
    } catch (const nlohmann::json::exception& e) {
      ::freqcap::detail::fail(what, ": trainer state in the checkpoint is malformed (", e.what(), ")");
    }
    return s;
  }
};

inline constexpr const char* kTrainerKey = "freqcap.trainer";

inline std::string rng_to_string(const std::mt19937& rng) {
  std::ostringstream os;
  os << rng;
  return os.str();
}
inline std::mt19937 rng_from_string(const std::string& s, const std::string& what) {
  std::mt19937 rng;
  std::istringstream is(s);
  is >> rng;
  FREQCAP_CHECK(!is.fail(), what, ": random generator state in the checkpoint is malformed");
  return rng;
}

/// Writes the checkpoint atomically.
inline void save_checkpoint(const std::filesystem::path& path, const Captioner& model, const nn::TensorDict& best,
                            const nn::Optimizer& opt, const TrainerState& state) {
  auto refs = tensor_refs(model.state_dict(), false, "model.");
  for (auto& r : tensor_refs(best, false, "best.")) refs.push_back(std::move(r));
  const nn::TensorDict o = opt.state_dict();
  for (auto& r : tensor_refs(o, false, "optim.")) refs.push_back(std::move(r));
  auto meta = captioner_metadata(model);
  meta[kKindKey] = "captioner-checkpoint";
  meta[kTrainerKey] = state.to_json().dump();
  save_safetensors(path, refs, meta);
}

/// What a checkpoint holds besides the model (which load_captioner(path, "model.") rebuilds).
struct CheckpointExtras {
  nn::TensorDict best, optim;
  TrainerState state;
};

inline CheckpointExtras read_checkpoint_extras(const std::filesystem::path& path) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  const auto& meta = file.metadata();
  const auto kind = meta.find(kKindKey);
  FREQCAP_CHECK(kind != meta.end() && kind->second == "captioner-checkpoint", path.string(),
                ": not a training checkpoint (resume takes the MODEL.ckpt file a run writes after every epoch)");
  const auto st = meta.find(kTrainerKey);
  FREQCAP_CHECK(st != meta.end(), path.string(), ": checkpoint has no trainer state");
  CheckpointExtras x;
  x.state = TrainerState::from_json(st->second, path.string());
  x.best = read_prefixed(file, "best.");
  x.optim = read_prefixed(file, "optim.");
  return x;
}

}  // namespace freqcap::model
