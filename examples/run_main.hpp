// How every example program ends: exit status 0, or on any exception
// `error: <what>` on stderr and exit status 1 (freqcap::Error names the file
// and the problem; std::bad_alloc and the like are reported, not aborted on).
#pragma once

#include <cstdio>
#include <exception>

namespace freqcap::examples {

template <class Body>
int run_main(Body&& body) {
  try {
    body();
    return 0;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}

}  // namespace freqcap::examples
