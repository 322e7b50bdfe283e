// Thread count for the whole library: `--threads N` on programs calls
// set_num_threads(N); otherwise FREQCAP_NUM_THREADS; otherwise all cores.
// Kernels parallelise with OpenMP and read the count from here.
#pragma once

#include <cstdlib>
#include <string>
#include <thread>

#include <omp.h>

#include "freqcap/core/error.hpp"

namespace freqcap {

/// Parses a thread count: a positive integer, else freqcap::Error naming `what`.
inline int parse_thread_count(const std::string& text, const std::string& what) {
  std::size_t used = 0;
  int n = 0;
  try {
    n = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  FREQCAP_CHECK(used == text.size() && n > 0, what, ": '", text, "' is not a positive thread count");
  return n;
}

/// Sets the number of worker threads used by every kernel.
inline void set_num_threads(int n) {
  FREQCAP_CHECK(n > 0, "set_num_threads: ", n, " is not a positive thread count");
  omp_set_num_threads(n);
}

/// The default: FREQCAP_NUM_THREADS if set, else the hardware core count.
inline int default_num_threads() {
  if (const char* env = std::getenv("FREQCAP_NUM_THREADS"); env && *env)
    return parse_thread_count(env, "FREQCAP_NUM_THREADS");
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

/// Applies `requested` when positive, else the default; returns the count used.
inline int init_threads(int requested = 0) {
  const int n = requested > 0 ? requested : default_num_threads();
  set_num_threads(n);
  return n;
}

inline int num_threads() { return omp_get_max_threads(); }

}  // namespace freqcap
