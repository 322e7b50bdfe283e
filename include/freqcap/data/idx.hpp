// Reader for idx files of unsigned bytes (the MNIST / Fashion-MNIST format):
// a big-endian magic 0x000008DD (0x08 = uint8, DD = number of dimensions), DD
// big-endian uint32 sizes, then the row-major payload. Plain and gzip files
// are both read (zlib). The reader checks the magic, that the payload is
// exactly as long as the sizes say (a short or over-long file is an error),
// and that a gzip stream is complete and intact (a truncated .gz or bad CRC is
// an error, never a silently short tensor). Errors name the file.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>

#include "freqcap/core/error.hpp"
#include "freqcap/core/tensor.hpp"

namespace freqcap {

namespace detail {

/// A gzip-or-plain input file (zlib reads plain files transparently).
class GzInput {
 public:
  explicit GzInput(const std::filesystem::path& path) : name_(path.string()) {
    errno = 0;
    file_ = ::gzopen(path.c_str(), "rb");
    if (!file_) {
      fail(name_, ": cannot open: ", errno ? std::strerror(errno) : "zlib could not allocate its state");
    }
    ::gzbuffer(file_, 1u << 17);
  }
  GzInput(const GzInput&) = delete;
  GzInput& operator=(const GzInput&) = delete;
  ~GzInput() {
    if (file_) ::gzclose_r(file_);
  }

  /// Reads up to n bytes; returns how many were read (< n only at the end of
  /// the data). A damaged or truncated gzip stream throws.
  std::size_t read(void* dst, std::size_t n) {
    auto* p = static_cast<unsigned char*>(dst);
    std::size_t got = 0;
    while (got < n) {
      const auto chunk = static_cast<unsigned>(std::min<std::size_t>(n - got, 1u << 30));
      const int r = ::gzread(file_, p + got, chunk);
      if (r <= 0) break;
      got += static_cast<std::size_t>(r);
    }
    int errnum = Z_OK;
    const char* msg = ::gzerror(file_, &errnum);
    if (errnum != Z_OK) {
      std::string what = msg ? msg : "unknown zlib error";
      if (what.rfind(name_ + ": ", 0) == 0) what.erase(0, name_.size() + 2);  // zlib prefixes the path
      fail(name_, ": damaged or truncated gzip stream: ", what);
    }
    return got;
  }

  const std::string& name() const { return name_; }

 private:
  std::string name_;
  gzFile file_ = nullptr;
};

inline std::uint32_t load_be32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

inline std::string hex32(std::uint32_t v) {
  static const char* digits = "0123456789abcdef";
  std::string s = "0x00000000";
  for (int i = 9; i >= 2; --i, v >>= 4) s[static_cast<std::size_t>(i)] = digits[v & 15];
  return s;
}

}  // namespace detail

/// Reads an idx file of uint8 with `ndim` dimensions (magic 0x00000800 + ndim),
/// plain or gzip-compressed. Returns a tensor of the sizes in the header.
inline Tensor<std::uint8_t> read_idx_ubyte(const std::filesystem::path& path, int ndim) {
  FREQCAP_CHECK(ndim >= 1 && ndim <= 255, "read_idx_ubyte: bad dimension count ", ndim);
  detail::GzInput in(path);
  unsigned char head[4];
  const std::size_t got_magic = in.read(head, 4);
  FREQCAP_CHECK(got_magic == 4, in.name(), ": ", got_magic, " bytes, too short for an idx header");
  const std::uint32_t magic = detail::load_be32(head);
  const auto expected = static_cast<std::uint32_t>(0x800 + ndim);
  FREQCAP_CHECK(magic == expected, in.name(), ": idx magic ", detail::hex32(magic), ", expected ",
                detail::hex32(expected), " (uint8 data with ", ndim, ndim == 1 ? " dimension)" : " dimensions)");
  Shape shape;
  std::uint64_t total = 1;
  for (int d = 0; d < ndim; ++d) {
    unsigned char b[4];
    FREQCAP_CHECK(in.read(b, 4) == 4, in.name(), ": file ends inside the idx header (dimension ", d, " of ",
                  ndim, ")");
    const std::uint32_t size = detail::load_be32(b);
    shape.push_back(size);
    FREQCAP_CHECK(!__builtin_mul_overflow(total, std::uint64_t{size}, &total) && total < (std::uint64_t{1} << 40),
                  in.name(), ": idx sizes ", shape_str(shape), " are implausibly large");
  }
  Tensor<std::uint8_t> out(shape);
  const std::size_t got = in.read(out.data(), static_cast<std::size_t>(total));
  FREQCAP_CHECK(got == total, in.name(), ": idx header says ", shape_str(shape), " = ", total,
                " bytes of data, but the file holds only ", got, " (truncated file?)");
  unsigned char extra[4096];
  std::size_t trailing = 0;
  for (std::size_t r; (r = in.read(extra, sizeof(extra))) > 0;) trailing += r;
  FREQCAP_CHECK(trailing == 0, in.name(), ": idx header says ", shape_str(shape), " = ", total,
                " bytes of data, but ", trailing, " more bytes follow");
  return out;
}

/// Images: magic 0x00000803, [N, rows, cols] uint8.
inline Tensor<std::uint8_t> read_idx_images(const std::filesystem::path& path) { return read_idx_ubyte(path, 3); }

/// Labels: magic 0x00000801, [N] uint8.
inline Tensor<std::uint8_t> read_idx_labels(const std::filesystem::path& path) { return read_idx_ubyte(path, 1); }

}  // namespace freqcap
