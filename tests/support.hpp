// Helpers shared by freqcap's test files: a self-removing temporary directory
// and whole-file byte reads and writes.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>

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

}  // namespace freqcap::testing
