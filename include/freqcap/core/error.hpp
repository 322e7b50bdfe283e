// freqcap::Error, the one exception type the library throws for bad input and
// misuse, and FREQCAP_CHECK, which builds its message from streamable parts.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace freqcap {

/// Thrown for every misuse and every bad input. The message names the file,
/// tensor or shapes involved, so a user can act on it without a debugger.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {
template <class... Parts>
[[noreturn]] inline void fail(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  throw Error(os.str());
}
}  // namespace detail

}  // namespace freqcap

/// FREQCAP_CHECK(cond, "message parts", value, ...) throws freqcap::Error with
/// the concatenated parts when cond is false.
#define FREQCAP_CHECK(cond, ...)                       \
  do {                                                 \
    if (!(cond)) ::freqcap::detail::fail(__VA_ARGS__); \
  } while (0)
