// freqcap-evaluate: scores predicted captions against reference captions with
// BLEU-1..4, ROUGE-1/2/L, METEOR and CIDEr-D under the coco or seed protocol.
#include <CLI/CLI.hpp>
#include <iostream>

#include "freqcap/core/error.hpp"
#include "freqcap/core/threads.hpp"
#include "freqcap/metrics/evaluate.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Score caption predictions (BLEU-1..4, ROUGE-1/2/L, METEOR, CIDEr-D)"};
  freqcap::metrics::EvaluateFilesOptions o;
  std::string protocol = "coco", per_image;
  bool json = false;
  int threads = 0;
  app.add_option("--references", o.references, "reference captions, {path: [captions]}")->required();
  app.add_option("--predictions", o.predictions, "predicted captions, {path: caption}")->required();
  app.add_flag("--json", json, "print one JSON object of scores");
  app.add_option("--protocol", protocol, "coco (multi-reference) or seed (per-reference mean)")
      ->check(CLI::IsMember({"coco", "seed"}));
  app.add_option("--wordnet", o.wordnet_dir, "WordNet database directory")
      ->default_val(std::string(freqcap::metrics::kDefaultWordNetDir));
  app.add_option("--per-image", per_image, "write per-image scores as JSON to FILE");
  app.add_flag("--allow-missing", o.allow_missing, "score images without prediction as empty");
  app.add_option("--threads", threads, "worker threads (default FREQCAP_NUM_THREADS, else all cores)");
  CLI11_PARSE(app, argc, argv);
  try {
    o.threads = freqcap::init_threads(threads);
    o.protocol = freqcap::metrics::parse_protocol(protocol);
    const auto result = freqcap::metrics::evaluate_files(o);
    for (const auto& w : result.warnings) std::cerr << "warning: " << w << "\n";
    if (!per_image.empty()) freqcap::metrics::write_per_image(result, per_image);
    if (json)
      std::cout << freqcap::metrics::scores_json(result).dump() << "\n";
    else
      std::cout << freqcap::metrics::format_table(
          result, "protocol: " + protocol + ", images: " + std::to_string(result.per_image.size()));
    return 0;
  } catch (const freqcap::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
