// freqcap-caption: prints `PATH<TAB>caption` for each image (the seed's first
// prediction mode), greedy by default or beam search with --beam K.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "freqcap/freqcap.hpp"
#include "freqcap/model/caption_data.hpp"
#include "freqcap/model/model_file.hpp"

using namespace freqcap;

int main(int argc, char** argv) {
  CLI::App app{"Caption images with a trained freqcap model"};
  std::string model_path;
  std::vector<std::string> images;
  model::GenerateOptions gen;
  int threads = 0;
  app.add_option("--model", model_path, "model file written by freqcap-train")->required();
  app.add_option("images", images, "image files (PNG, JPEG, ...)")->required();
  app.add_option("--beam", gen.beam, "beam width (1 = greedy)")->capture_default_str();
  app.add_option("--max-len", gen.max_len, "most tokens to generate (0 = the model's limit)");
  app.add_option("--length-penalty", gen.length_penalty, "beam scores / length^alpha")->capture_default_str();
  app.add_option("--threads", threads, "worker threads (default: FREQCAP_NUM_THREADS, else all cores)");
  CLI11_PARSE(app, argc, argv);
  try {
    init_threads(threads);
    FREQCAP_CHECK(gen.beam >= 1, "--beam must be at least 1, got ", gen.beam);
    auto net = model::load_captioner(model_path);
    const std::vector<std::filesystem::path> files(images.begin(), images.end());
    const auto captions = model::caption_image_files(*net, files, gen);
    for (std::size_t i = 0; i < images.size(); ++i) std::printf("%s\t%s\n", images[i].c_str(), captions[i].c_str());
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
