// freqcap-caption: prints `PATH<TAB>caption` for each image (the seed's first
// prediction mode), greedy by default or beam search with --beam K.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "freqcap/freqcap.hpp"
#include "freqcap/model/caption_data.hpp"
#include "freqcap/model/model_file.hpp"
#include "decoding_flags.hpp"
#include "run_main.hpp"

using namespace freqcap;

int main(int argc, char** argv) {
  CLI::App app{"Caption images with a trained freqcap model"};
  std::string model_path;
  std::vector<std::string> images;
  model::GenerateOptions gen;
  int threads = 0;
  app.add_option("--model", model_path, "model file written by freqcap-train")->required();
  app.add_option("images", images, "image files (PNG, JPEG, ...)")->required();
  examples::add_decoding_flags(app, gen, threads);
  CLI11_PARSE(app, argc, argv);
  return freqcap::examples::run_main([&] {
    init_threads(threads);
    auto net = model::load_captioner(model_path);
    const std::vector<std::filesystem::path> files(images.begin(), images.end());
    const auto captions = model::caption_image_files(*net, files, gen);
    for (std::size_t i = 0; i < images.size(); ++i) std::printf("%s\t%s\n", images[i].c_str(), captions[i].c_str());
  });
}
