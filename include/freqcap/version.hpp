// freqcap version. CMake parses the three numbers below; keep their form.
#pragma once

#define FREQCAP_VERSION_MAJOR 0
#define FREQCAP_VERSION_MINOR 1
#define FREQCAP_VERSION_PATCH 0

namespace freqcap {
inline constexpr const char* version_string = "0.1.0";
}  // namespace freqcap
