// freqcap-predict: captions every image of a seed-format test.json and writes
// {"<image path as in test.json>": "<caption>", ...} (the seed's second
// prediction mode), atomically.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>

#include "freqcap/freqcap.hpp"
#include "freqcap/model/caption_data.hpp"
#include "freqcap/model/model_file.hpp"
#include "decoding_flags.hpp"
#include "run_main.hpp"

using namespace freqcap;

int main(int argc, char** argv) {
  CLI::App app{"Caption the images of a test.json with a trained freqcap model"};
  std::string model_path, test, out;
  model::GenerateOptions gen;
  int threads = 0;
  app.add_option("--model", model_path, "model file written by freqcap-train")->required();
  app.add_option("--test", test, "test.json ({image path: [captions]}; paths relative to its folder)")->required();
  app.add_option("--out", out, "prediction.json to write")->required();
  examples::add_decoding_flags(app, gen, threads);
  CLI11_PARSE(app, argc, argv);
  return freqcap::examples::run_main([&] {
    init_threads(threads);
    const auto t0 = std::chrono::steady_clock::now();
    auto net = model::load_captioner(model_path);
    const model::CaptionDataset set = model::read_caption_dataset(test);
    const auto captions = model::caption_image_files(*net, set.files, gen);
    CaptionSet pred;
    for (std::size_t i = 0; i < captions.size(); ++i) pred.push_back({set.keys[i], {captions[i]}});
    write_prediction_captions(pred, out);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "captioned %zu images in %.1f s (%.0f images/s); wrote %s\n", captions.size(), secs,
                 static_cast<double>(captions.size()) / secs, out.c_str());
  });
}
