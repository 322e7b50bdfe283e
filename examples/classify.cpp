// freqcap-classify: ImageNet classification with a backbone and weights
// exported by tools/export_torchvision.py; prints the top-K class indices
// and probabilities of each image.
//
//   /usr/bin/python3 tools/export_torchvision.py --model resnet50 --out resnet50.safetensors [--pretrained]
//   freqcap-classify --weights resnet50.safetensors cat.jpg dog.png
//
// The backbone comes from --backbone or the weight file's metadata. Images
// go through torchvision's evaluation recipe (shorter side 256, centre crop
// 224, ImageNet normalisation) unless --size S asks for a plain S x S resize
// (the seed paper used 299).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <numeric>
#include <string>
#include <vector>

#include "freqcap/backbones/factory.hpp"
#include "freqcap/core/threads.hpp"
#include "freqcap/data/image.hpp"
#include "freqcap/data/preprocess.hpp"
#include "run_main.hpp"

using namespace freqcap;

int main(int argc, char** argv) {
  CLI::App app{"Classify images with an ImageNet backbone (top-K indices and probabilities)"};
  std::string weights, backbone;
  std::vector<std::string> images;
  int top = 5, threads = 0, size = 0;
  app.add_option("--weights", weights, "safetensors state dict (tools/export_torchvision.py); "
                                       "without it the backbone keeps its random initialisation");
  app.add_option("--backbone", backbone, "backbone name (default: the weight file's metadata)");
  app.add_option("--size", size, "resize to SIZE x SIZE instead of resize 256 + centre crop 224")
      ->check(CLI::PositiveNumber);
  app.add_option("--top", top, "how many classes to print")->default_val(5)->check(CLI::PositiveNumber);
  app.add_option("--threads", threads, "worker threads (default: FREQCAP_NUM_THREADS, else all cores)");
  app.add_option("images", images, "PNG/JPEG image files")->required();
  CLI11_PARSE(app, argc, argv);

  return freqcap::examples::run_main([&] {
    init_threads(threads);
    if (backbone.empty()) {
      FREQCAP_CHECK(!weights.empty(), "give --backbone NAME or --weights FILE");
      const auto meta = SafetensorsFile::open(weights).metadata();
      const auto it = meta.find("model");
      FREQCAP_CHECK(it != meta.end(), weights, ": no 'model' in the metadata; give --backbone NAME");
      backbone = it->second;
    }
    auto net = backbones::make_backbone(backbone);
    if (!weights.empty()) backbones::load_backbone_weights(*net, weights);
    else std::fprintf(stderr, "warning: no --weights: %s keeps its random initialisation\n", backbone.c_str());
    net->eval();
    const Preprocess prep = size > 0 ? fixed_size_preprocess(size) : imagenet_eval_preprocess(backbone);
    for (const auto& path : images) {
      const Tensor<float> x = prep(load_image(path));
      const Tensor<float> logits = net->predict(x.reshape(Shape{1, x.dim(0), x.dim(1), x.dim(2)}));
      const std::int64_t C = logits.dim(1);
      // Softmax in double for the printed probabilities.
      std::vector<double> p(static_cast<std::size_t>(C));
      const double mx = *std::max_element(logits.data(), logits.data() + C);
      double z = 0;
      for (std::int64_t c = 0; c < C; ++c) z += p[c] = std::exp(double(logits.data()[c]) - mx);
      std::vector<std::int64_t> order(static_cast<std::size_t>(C));
      std::iota(order.begin(), order.end(), 0);
      const auto k = std::min<std::int64_t>(top, C);
      std::partial_sort(order.begin(), order.begin() + k, order.end(),
                        [&](std::int64_t a, std::int64_t b) { return p[a] > p[b]; });
      std::printf("%s\n", path.c_str());
      for (std::int64_t r = 0; r < k; ++r)
        std::printf("  %lld\t%lld\t%.6f\n", static_cast<long long>(r + 1), static_cast<long long>(order[r]),
                    p[order[r]] / z);
    }
  });
}
