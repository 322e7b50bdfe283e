// The committed captioner against its PyTorch twin: tools/captioner_reference.py
// rebuilds scenes_cnn and the Keras-semantics transformer in torch from the
// docs, loads models/scenes-captioner.safetensors and runs the eight demo
// scenes (into <build>/parity/ once per build tree). freqcap must read the same
// pixels, produce the same image tokens, encoder output and teacher-forced
// logits (within 1e-5 of the largest reference value, float32 both sides),
// the same logits from the key/value-cached decoding steps, and the same
// greedy captions word for word.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "freqcap/data/image.hpp"
#include "freqcap/model/model_file.hpp"
#include "support.hpp"

#ifndef FREQCAP_BINARY_DIR
#define FREQCAP_BINARY_DIR "."
#endif

namespace freqcap_test_captioner_parity {  // own scope: the unity build joins test files

using namespace freqcap;
using testing::relative_error;
namespace fs = std::filesystem;

TEST_CASE("captioner parity with its PyTorch twin on the committed model", "[captioner][parity]") {
  const fs::path source(FREQCAP_SOURCE_DIR), dir = fs::path(FREQCAP_BINARY_DIR) / "parity";
  const fs::path model_file = source / "models" / "scenes-captioner.safetensors";
  const fs::path images = source / "models" / "scenes-demo" / "images";
  const fs::path ref_file = dir / "captioner.reference.safetensors";
  testing::run_reference_tool("captioner_reference.py",
                              "--model '" + model_file.string() + "' --images '" + images.string() + "' --out '" +
                                  ref_file.string() + "'",
                              dir / "captioner.log", ref_file);
  const SafetensorsFile ref = SafetensorsFile::open(ref_file);
  auto model = model::load_captioner(model_file);
  model->eval();
  const double tol = 1e-5;

  // The same pixels: freqcap's PNG decoder against torchvision's, exactly.
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(images)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  const Tensor<float> input = ref.get<float>("input");
  REQUIRE(static_cast<std::int64_t>(files.size()) == input.dim(0));
  Tensor<float> decoded(input.shape());
  for (std::size_t i = 0; i < files.size(); ++i) decoded.select(0, std::int64_t(i)).copy_from(load_image(files[i]));
  CHECK(testing::max_abs_diff(model->preprocess(decoded), input) == 0.0);

  const Tensor<float> tokens = model->image_tokens(input);
  CHECK(relative_error(tokens, ref.get<float>("tokens")) <= tol);

  NoGradGuard ng;
  std::mt19937 unused(0);
  const Tensor<float> memory = model->encode(Var<float>(ref.get<float>("tokens")), unused).value().contiguous();
  CHECK(relative_error(memory, ref.get<float>("memory")) <= tol);

  // Teacher forcing over <start> + the greedy ids, 0-padded (causal and padding masks).
  const Tensor<std::int64_t> inputs = ref.get<std::int64_t>("inputs");
  const Tensor<float> ref_logits = ref.get<float>("logits"), ref_memory = ref.get<float>("memory");
  const Tensor<float> logits = model->decoder().forward(inputs, Var<float>(ref_memory), unused).value();
  const double e_logits = relative_error(logits, ref_logits);
  INFO("teacher-forced logits: error " << e_logits << " relative to max |ref|");
  CHECK(e_logits <= tol);

  // The cached decoding steps give the same logits at every real position.
  const std::int64_t n = inputs.dim(0), steps = inputs.dim(1);
  auto state = model->decoder().start(ref_memory);
  double step_error = 0;
  std::int64_t compared = 0;
  for (std::int64_t t = 0; t < steps; ++t) {
    const Tensor<std::int64_t> column = inputs.select(1, t).contiguous();
    const Tensor<float> got = model->decoder().step(state, column);
    for (std::int64_t i = 0; i < n; ++i) {
      if (column.data()[i] == 0) continue;
      ++compared;
      const Tensor<float> want = ref_logits.select(0, i).select(0, t).contiguous();
      step_error = std::max(step_error, relative_error(got.select(0, i).contiguous(), want));
    }
  }
  INFO("cached steps: error " << step_error << " over " << compared << " positions");
  CHECK(compared > n);
  CHECK(step_error <= tol);

  // The same words.
  const auto want = nlohmann::json::parse(ref.metadata().at("captions")).get<std::vector<std::string>>();
  CHECK(model->generate(ref.get<float>("tokens")) == want);
}

}  // namespace freqcap_test_captioner_parity
