// The decoding flags freqcap-caption and freqcap-predict share (--beam,
// --max-len, --length-penalty, --batch, --threads), in one place.
#pragma once

#include <CLI/CLI.hpp>

#include "freqcap/model/captioner.hpp"

namespace freqcap::examples {

inline void add_decoding_flags(CLI::App& app, model::GenerateOptions& gen, int& threads) {
  app.add_option("--beam", gen.beam, "beam width (1 = greedy)")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--max-len", gen.max_len, "most tokens to generate (0 = the model's limit)");
  app.add_option("--length-penalty", gen.length_penalty, "beam scores / length^alpha")->capture_default_str();
  app.add_option("--batch", gen.batch, "images decoded together")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--threads", threads, "worker threads (default: FREQCAP_NUM_THREADS, else all cores)");
}

}  // namespace freqcap::examples
