// Atomic file writes: bytes go to `<target>.tmp.<pid>.<random>` in the target's
// directory, are fsync'ed, and the temporary file is renamed over the target
// (then the directory is fsync'ed). Readers see either the old file or the
// complete new one, never a torn write. On any failure, including an
// exception thrown by the caller's producer, the temporary file is removed,
// the old target stays as it was, and freqcap::Error names the path. POSIX only.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <string_view>

#include "freqcap/core/error.hpp"

namespace freqcap {

/// Writes one file atomically. Call write() any number of times, then
/// commit(); destroying the writer without commit() removes the temporary
/// file and leaves the target untouched.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::filesystem::path target) : target_(std::move(target)) {
    FREQCAP_CHECK(!target_.empty(), "atomic write: empty path");
    std::filesystem::path dir = target_.parent_path();
    if (dir.empty()) dir = ".";
    std::random_device rd;
    for (int attempt = 0; attempt < 16 && fd_ < 0; ++attempt) {
      const unsigned long long r = (static_cast<unsigned long long>(rd()) << 32) ^ rd();
      temp_ = target_;
      temp_ += ".tmp." + std::to_string(::getpid()) + "." + to_hex(r);
      fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd_ < 0 && errno != EEXIST) break;
    }
    if (fd_ < 0) {
      const int err = errno;
      detail::fail("cannot write '", target_.string(), "': cannot create temporary file in '",
                   dir.string(), "': ", std::strerror(err));
    }
  }

  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  ~AtomicFileWriter() { abandon(); }

  /// Appends n bytes.
  void write(const void* data, std::size_t n) {
    FREQCAP_CHECK(fd_ >= 0, "cannot write '", target_.string(), "': writer already closed");
    const auto* p = static_cast<const char*>(data);
    while (n > 0) {
      const ::ssize_t w = ::write(fd_, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        fail_errno("write failed");
      }
      p += w;
      n -= static_cast<std::size_t>(w);
      written_ += static_cast<std::size_t>(w);
    }
  }
  void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }

  /// Bytes written so far.
  std::size_t size() const { return written_; }

  /// fsync, close and rename over the target. After this the writer is done.
  void commit() {
    FREQCAP_CHECK(fd_ >= 0, "cannot write '", target_.string(), "': writer already closed");
    if (::fsync(fd_) != 0) fail_errno("fsync failed");
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail_errno("close failed");
    if (::rename(temp_.c_str(), target_.c_str()) != 0) fail_errno("rename failed");
    temp_.clear();
    // Make the rename itself durable.
    std::filesystem::path dir = target_.parent_path();
    if (dir.empty()) dir = ".";
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      ::fsync(dfd);
      ::close(dfd);
    }
  }

  const std::filesystem::path& target() const { return target_; }
  const std::filesystem::path& temp_path() const { return temp_; }

 private:
  static std::string to_hex(unsigned long long v) {
    static const char* digits = "0123456789abcdef";
    std::string s(16, '0');
    for (int i = 15; i >= 0; --i, v >>= 4) s[static_cast<std::size_t>(i)] = digits[v & 15];
    return s;
  }

  void abandon() noexcept {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
    if (!temp_.empty()) {
      ::unlink(temp_.c_str());
      temp_.clear();
    }
  }

  [[noreturn]] void fail_errno(const char* what) {
    const int err = errno;
    abandon();
    detail::fail("cannot write '", target_.string(), "': ", what, ": ", std::strerror(err));
  }

  std::filesystem::path target_;
  std::filesystem::path temp_;
  int fd_ = -1;
  std::size_t written_ = 0;
};

/// Atomically replaces `path` with what `produce` writes into the writer.
/// If produce throws, the exception propagates and the old file is intact.
inline void write_file_atomic(const std::filesystem::path& path,
                              const std::function<void(AtomicFileWriter&)>& produce) {
  AtomicFileWriter w(path);
  produce(w);
  w.commit();
}

/// Atomically replaces `path` with `bytes`.
inline void write_file_atomic(const std::filesystem::path& path, std::string_view bytes) {
  AtomicFileWriter w(path);
  w.write(bytes);
  w.commit();
}

}  // namespace freqcap
