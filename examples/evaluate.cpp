// freqcap-evaluate: scores predicted captions against reference captions with
// BLEU-1..4, ROUGE-1/2/L, METEOR and CIDEr-D under the coco or seed protocol;
// --item-recall adds the Fashion Scenes item recall (data/scene_items.hpp).
#include <CLI/CLI.hpp>
#include <iostream>
#include <optional>

#include "freqcap/core/error.hpp"
#include "freqcap/core/threads.hpp"
#include "freqcap/data/scene_items.hpp"
#include "freqcap/metrics/evaluate.hpp"
#include "run_main.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Score caption predictions (BLEU-1..4, ROUGE-1/2/L, METEOR, CIDEr-D)"};
  freqcap::metrics::EvaluateFilesOptions o;
  std::string protocol = "coco", per_image;
  bool json = false, item_recall = false;
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
  app.add_flag("--item-recall", item_recall,
               "also report Fashion Scenes item recall (share of true items named with the right colour)");
  app.add_option("--threads", threads, "worker threads (default FREQCAP_NUM_THREADS, else all cores)");
  CLI11_PARSE(app, argc, argv);
  return freqcap::examples::run_main([&] {
    o.threads = freqcap::init_threads(threads);
    o.protocol = freqcap::metrics::parse_protocol(protocol);
    const auto result = freqcap::metrics::evaluate_files(o);
    for (const auto& w : result.warnings) std::cerr << "warning: " << w << "\n";
    if (!per_image.empty()) freqcap::metrics::write_per_image(result, per_image);
    std::optional<freqcap::scenes::ItemRecall> recall;
    if (item_recall)
      recall = freqcap::scenes::item_recall(freqcap::read_reference_captions(o.references),
                                            freqcap::read_prediction_captions(o.predictions));
    if (json) {
      auto j = freqcap::metrics::scores_json(result);
      if (recall) j["item_recall"] = recall->fraction;
      std::cout << j.dump() << "\n";
    } else {
      std::cout << freqcap::metrics::format_table(
          result, "protocol: " + protocol + ", images: " + std::to_string(result.per_image.size()));
      if (recall) std::cout << freqcap::scenes::format_item_recall(*recall) << "\n";
    }
  });
}
