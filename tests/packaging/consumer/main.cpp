// A consumer of freqcap: includes only the umbrella header and checks that
// what it gets behaves (version, errors). Built by tests/packaging/run_consumer.cmake.
#include <freqcap/freqcap.hpp>

#include <cstring>
#include <iostream>
#include <string>

int main() {
  std::cout << "freqcap " << freqcap::version_string << "\n";
  if (std::strcmp(freqcap::version_string, FREQCAP_CONSUMER_EXPECTED_VERSION) != 0) {
    std::cerr << "expected version " << FREQCAP_CONSUMER_EXPECTED_VERSION << "\n";
    return 1;
  }
  const std::string macro_version = std::to_string(FREQCAP_VERSION_MAJOR) + "." +
                                    std::to_string(FREQCAP_VERSION_MINOR) + "." +
                                    std::to_string(FREQCAP_VERSION_PATCH);
  if (macro_version != freqcap::version_string) {
    std::cerr << "version macros say " << macro_version << "\n";
    return 1;
  }

  try {
    FREQCAP_CHECK(2 + 2 == 5, "arithmetic: ", 2 + 2, " != ", 5);
    std::cerr << "FREQCAP_CHECK did not throw\n";
    return 1;
  } catch (const freqcap::Error& e) {
    if (std::string(e.what()) != "arithmetic: 4 != 5") {
      std::cerr << "unexpected message: " << e.what() << "\n";
      return 1;
    }
  }

  std::cout << "consumer ok\n";
  return 0;
}
