// The backbone factory and weight import: make_backbone(name) for the names
// of DESIGN.md, and load_backbone_weights(), which reads a safetensors state
// dict (as tools/export_torchvision.py writes it) into a backbone and tells
// a file for another backbone apart from a damaged one in its error. Dense
// weights load into an FR variant through a DCT of each FR layer's weight
// (post-training compression: then shrink each layer's kept coefficients).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "freqcap/backbones/alexnet.hpp"
#include "freqcap/backbones/efficientnet.hpp"
#include "freqcap/backbones/mobilenet_v2.hpp"
#include "freqcap/backbones/resnet.hpp"
#include "freqcap/backbones/scenes_cnn.hpp"
#include "freqcap/io/state_dict.hpp"

namespace freqcap::backbones {

/// Every backbone make_backbone() builds (dense, then FR variants).
inline std::vector<std::string> backbone_names() {
  return {"alexnet", "efficientnet_b0", "efficientnet_b1", "resnet50", "mobilenet_v2", "alexnet_fr",
          "efficientnet_b0_fr", "scenes_cnn"};
}

/// The dense backbone an FR variant derives from ("alexnet_fr" -> "alexnet"); other names unchanged.
inline std::string dense_backbone_name(const std::string& name) {
  const std::string suffix = "_fr";
  if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
    return name.substr(0, name.size() - suffix.size());
  return name;
}

/// A freshly initialised backbone by name (training mode, like torchvision).
inline std::shared_ptr<Backbone> make_backbone(const std::string& name, std::int64_t num_classes = 1000) {
  if (name == "alexnet") return std::make_shared<AlexNet>(num_classes);
  if (name == "efficientnet_b0") return efficientnet_b0(num_classes);
  if (name == "efficientnet_b1") return efficientnet_b1(num_classes);
  if (name == "resnet50") return std::make_shared<ResNet50>(num_classes);
  if (name == "mobilenet_v2") return std::make_shared<MobileNetV2>(num_classes);
  if (name == "alexnet_fr") return std::make_shared<AlexNet>(num_classes, 0.5, dct::FROptions());
  if (name == "efficientnet_b0_fr") return efficientnet_b0_fr(num_classes);
  if (name == "scenes_cnn") return std::make_shared<ScenesCNN>(num_classes == 1000 ? 17 : num_classes);  // own heads
  std::string known;
  for (const auto& n : backbone_names()) known += (known.empty() ? "" : ", ") + n;
  detail::fail("make_backbone: unknown backbone '", name, "' (known: ", known, ")");
}

/// How load_backbone_weights reads FR layers' "weight" tensors.
enum class WeightForm {
  automatic,     ///< dense when the file's metadata names the dense model of an FR backbone
  dense,         ///< dense weights: each FR layer gets DCT(weight)
  coefficients,  ///< FR coefficients, loaded as they are
};

/// Loads the safetensors state dict at `path` into `net`. A file whose
/// metadata names another model, or which shares fewer than half of the
/// backbone's tensor names, is reported as a weight file for another
/// backbone; otherwise every missing, unexpected or mis-shaped tensor is
/// listed together (Module::load_state_dict). Dense weights (a torchvision
/// export for "alexnet" loaded into "alexnet_fr") go through a DCT into the FR
/// layers. Nothing changes on error.
inline void load_backbone_weights(Backbone& net, const std::filesystem::path& path,
                                  WeightForm form = WeightForm::automatic) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  const auto& meta = file.metadata();
  const std::string dense_name = dense_backbone_name(net.name());
  if (auto it = meta.find("model"); it != meta.end()) {
    FREQCAP_CHECK(it->second == net.name() || it->second == dense_name, path.string(), ": holds weights for '",
                  it->second, "', not for '", net.name(), "'");
    if (form == WeightForm::automatic && it->second != net.name()) form = WeightForm::dense;
  }
  const nn::StateDict own = net.state_dict();
  std::size_t shared = 0;
  std::string first_missing, first_unexpected;
  for (const auto& [name, t] : own) {
    if (file.contains(name)) ++shared;
    else if (first_missing.empty()) first_missing = name;
  }
  for (const auto& name : file.names())
    if (!own.contains(name) && first_unexpected.empty()) first_unexpected = name;
  FREQCAP_CHECK(2 * shared >= own.size(), path.string(), ": not a state dict for '", net.name(), "' (a weight file for "
                "another backbone?): only ", shared, " of its ", own.size(), " tensors are present (first missing '",
                first_missing, "'", first_unexpected.empty() ? "" : ", first unexpected '", first_unexpected,
                first_unexpected.empty() ? "" : "'", ")");
  nn::StateDict dict = read_state_dict(path);
  if (form == WeightForm::dense) {
    for (const auto& [name, layer] : dct::fr_layers(net)) {
      const std::string key = name + ".weight";
      if (!dict.contains(key) || !std::holds_alternative<Tensor<float>>(dict.at(key))) continue;
      const Tensor<float> w = dict.get<float>(key);
      if (w.shape() == layer->coefficients().shape()) dict.set(key, dct::from_dense(w));
    }
  }
  try {
    net.load_state_dict(dict);
  } catch (const Error& e) {
    throw Error(path.string() + ": " + e.what());
  }
}

}  // namespace freqcap::backbones
