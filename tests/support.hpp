// Helpers shared by freqcap's test files: a self-removing temporary directory,
// whole-file byte reads and writes, running a program, seeded random tensors
// error measures, and running a tools/*.py reference generator once per build.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <utility>

#include <catch2/catch.hpp>

#include "freqcap/core/tensor.hpp"

#ifndef FREQCAP_SOURCE_DIR  // the build defines it: the source tree, for tools/ and models/
#define FREQCAP_SOURCE_DIR "."
#endif

namespace freqcap::testing {

namespace fs = std::filesystem;

/// A unique temporary directory, removed with its contents on destruction.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& tag = "test") {
    std::random_device rd;
    path = fs::temp_directory_path() /
           ("freqcap_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  fs::path operator/(const std::string& name) const { return path / name; }
  /// Number of entries in the directory (temp files left behind show up here).
  std::size_t count() const {
    return static_cast<std::size_t>(std::distance(fs::directory_iterator(path), fs::directory_iterator()));
  }
};

inline std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

inline void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// Runs a shell command with stdout and stderr sent to `out`: its exit code
/// (-1 when it did not exit normally) and what it printed.
inline std::pair<int, std::string> run_program(const std::string& cmd, const fs::path& out) {
  const int status = std::system((cmd + " > '" + out.string() + "' 2>&1").c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_bytes(out)};
}

/// A tensor of N(0, scale^2) samples from a seeded generator.
template <class T>
Tensor<T> randn(const Shape& s, unsigned seed, double scale = 1.0) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> d(0.0, scale);
  Tensor<T> t(s);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = static_cast<T>(d(rng));
  return t;
}

/// Largest |a - b| over two tensors of one shape, possibly of different types.
template <class A, class B>
double max_abs_diff(const Tensor<A>& a, const Tensor<B>& b) {
  REQUIRE(a.shape() == b.shape());
  const auto va = a.to_vector();
  const auto vb = b.to_vector();
  double m = 0;
  for (std::size_t i = 0; i < va.size(); ++i)
    m = std::max(m, std::abs(static_cast<double>(va[i]) - static_cast<double>(vb[i])));
  return m;
}

/// Largest |value| of a float tensor.
inline double max_abs(const Tensor<float>& t) {
  double m = 0;
  for (const float v : t.to_vector()) m = std::max(m, std::abs(double(v)));
  return m;
}

/// max |got - ref| / max |ref| over two float tensors of one shape (parity with PyTorch).
inline double relative_error(const Tensor<float>& got, const Tensor<float>& ref) {
  return max_abs_diff(got, ref) / std::max(max_abs(ref), 1e-30);
}

/// Runs `/usr/bin/python3 <source>/tools/<script> <args>` (its output in
/// `log`) unless `made` exists, and requires that it then exists: reference
/// outputs are computed by torch once per build tree.
inline void run_reference_tool(const std::string& script, const std::string& args, const fs::path& log,
                               const fs::path& made) {
  if (fs::exists(made)) return;
  fs::create_directories(log.parent_path());
  const std::string cmd =
      "/usr/bin/python3 '" + std::string(FREQCAP_SOURCE_DIR) + "/tools/" + script + "' " + args;
  const auto [rc, out] = run_program(cmd, log);
  INFO("command: " << cmd << "\n" << out);
  REQUIRE(rc == 0);
  REQUIRE(fs::exists(made));
}

}  // namespace freqcap::testing
