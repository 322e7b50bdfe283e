// freqcap-coco-prepare: turns a COCO 2014 captions file into the seed's
// caption JSON ({"<image path>": [5 captions]}), keeping the images with
// exactly five captions, sorted by image id; --test-count N moves the last N
// of them to --test-out. Image paths are written relative to each output
// JSON's folder.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <iostream>
#include <string>

#include "freqcap/core/error.hpp"
#include "freqcap/core/threads.hpp"
#include "freqcap/data/coco.hpp"
#include "run_main.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Prepare COCO 2014 captions in the seed's caption JSON format"};
  freqcap::CocoPrepareOptions o;
  int threads = 0;
  app.add_option("--annotations", o.annotations, "COCO captions JSON, e.g. captions_train2014.json")->required();
  app.add_option("--images", o.images_dir, "folder holding the images named by file_name")->required();
  app.add_option("--out", o.out, "output JSON {image path: [5 captions]}")->required();
  app.add_option("--test-count", o.test_count, "move the last N kept images (by image id) to --test-out");
  app.add_option("--test-out", o.test_out, "output JSON for the --test-count images");
  app.add_option("--threads", threads, "worker threads (default FREQCAP_NUM_THREADS, else all cores)");
  CLI11_PARSE(app, argc, argv);
  return freqcap::examples::run_main([&] {
    freqcap::init_threads(threads);
    const auto r = freqcap::prepare_coco(o);
    std::cout << o.annotations << ": " << r.images << " images, " << r.annotations << " captions; " << r.kept
              << " images with exactly " << o.captions_per_image << " captions\n"
              << "wrote " << r.written << " images to " << o.out;
    if (r.test > 0) std::cout << " and " << r.test << " to " << o.test_out;
    std::cout << "\n";
  });
}
