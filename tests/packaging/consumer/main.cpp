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

  // Built without -march, the library still runs its best SIMD kernels.
  using namespace freqcap;
  if (kernels::active_isa() != kernels::best_isa()) {
    std::cerr << "kernels run " << kernels::isa_name(kernels::active_isa()) << ", the CPU has "
              << kernels::isa_name(kernels::best_isa()) << "\n";
    return 1;
  }
  std::cout << "kernels: " << kernels::isa_name(kernels::active_isa()) << "\n";

  // The README's first program: a linear layer learns to pick class 1.
  init_threads(1);
  manual_seed(0);
  nn::Linear layer(4, 2);
  nn::Adam opt(layer.parameters(), nn::AdamOptions(1e-2));
  Var<float> x(Tensor<float>::from({1, 4}, {1, 2, 3, 4}));
  const auto target = Tensor<std::int64_t>::from({1}, {1});
  float first = 0, last = 0;
  for (int step = 0; step < 100; ++step) {
    opt.zero_grad();
    auto loss = cross_entropy(layer.forward(x), target);
    (step == 0 ? first : last) = loss.item();
    loss.backward();
    opt.step();
  }
  std::cout << "loss " << first << " -> " << last << "\n";
  if (!(last < 0.1f * first)) {
    std::cerr << "training did not reduce the loss\n";
    return 1;
  }

  std::cout << "consumer ok\n";
  return 0;
}
