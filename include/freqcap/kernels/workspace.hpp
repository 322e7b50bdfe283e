// A grow-only, 64-byte aligned float buffer for kernel workspaces (GEMM
// packing, im2col), and the thread-local instances kernels reuse so hot paths
// do not allocate after their first call at a given size.
#pragma once

#include <cstddef>
#include <new>

namespace freqcap::kernels {

/// Owns a 64-byte aligned float array that only grows; contents are not kept
/// across growth. Not copyable.
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  ~AlignedBuffer() { release(); }

  /// At least n floats, 64-byte aligned.
  float* data(std::size_t n) {
    if (n > size_) {
      release();
      const std::size_t bytes = ((n * sizeof(float) + 63) / 64) * 64;
      ptr_ = static_cast<float*>(::operator new(bytes, std::align_val_t{64}));
      size_ = bytes / sizeof(float);
    }
    return ptr_;
  }
  std::size_t size() const { return size_; }

 private:
  void release() {
    if (ptr_) ::operator delete(ptr_, std::align_val_t{64});
    ptr_ = nullptr;
    size_ = 0;
  }
  float* ptr_ = nullptr;
  std::size_t size_ = 0;
};

namespace detail {
/// Per-thread buffers, one per purpose, reused across calls.
enum class Scratch { gemm_a = 0, gemm_b, im2col, conv_weights, folded_weights, count };
inline AlignedBuffer& scratch(Scratch which) {
  thread_local AlignedBuffer buffers[static_cast<int>(Scratch::count)];
  return buffers[static_cast<int>(which)];
}
}  // namespace detail

}  // namespace freqcap::kernels
