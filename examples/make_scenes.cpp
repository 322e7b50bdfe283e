// freqcap-make-scenes: writes a Fashion Scenes v1 captioning set
// (/work/shared/SCENES.md): DIR/images/{train,val,test}_NNNNNN.png and
// DIR/{train,val,test}.json. The same seed and counts give byte-identical
// files for any --threads.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <string>

#include "freqcap/core/error.hpp"
#include "freqcap/core/threads.hpp"
#include "freqcap/data/scenes.hpp"
#include "run_main.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Write a Fashion Scenes v1 captioning set"};
  std::string fashion_dir = freqcap::fashion_mnist_default_dir, out_dir;
  std::int64_t train = 0, val = 0, test = 0;
  std::uint64_t seed = 0;
  int threads = 0;
  app.add_option("--fashion-mnist", fashion_dir, "folder holding the Fashion-MNIST idx .gz files")
      ->default_val(std::string(freqcap::fashion_mnist_default_dir));
  app.add_option("--out", out_dir, "output folder (created if missing)")->required();
  app.add_option("--train", train, "number of train scenes")->required();
  app.add_option("--val", val, "number of validation scenes")->required();
  app.add_option("--test", test, "number of test scenes")->required();
  app.add_option("--seed", seed, "random seed (unsigned 64-bit)")->required();
  app.add_option("--threads", threads, "worker threads (default FREQCAP_NUM_THREADS, else all cores)");
  CLI11_PARSE(app, argc, argv);
  return freqcap::examples::run_main([&] {
    const int used = freqcap::init_threads(threads);
    freqcap::scenes::MakeScenesOptions o;
    o.fashion_mnist_dir = fashion_dir;
    o.out_dir = out_dir;
    o.train = train;
    o.val = val;
    o.test = test;
    o.seed = seed;
    const auto t0 = std::chrono::steady_clock::now();
    freqcap::scenes::make_scenes(o);
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << "wrote Fashion Scenes v1 to " << out_dir << ": " << train << " train, " << val << " val, " << test
              << " test images, seed " << seed << ", " << used << " threads, " << sec << " s\n";
  });
}
