// Tensor memory: the blocks AlignedAllocator (core/tensor.hpp) hands out, and
// the opt-in reuse of freed ones for programs that allocate many large tensors.
//
// Blocks are 64-byte aligned; blocks of 2 MiB and more are 2 MiB aligned and
// advised to use huge pages (first touch of fresh memory is then about half as
// costly). glibc gives such blocks fresh pages nearly every time: above its
// mmap threshold it maps and unmaps them, and below it memalign's split-off
// fragments keep the heap growing instead of reusing it. Either way each new
// weight-sized tensor page-faults afresh (a fifth of an AlexNet FR training
// step, measured). keep_freed_tensor_memory() raises glibc's thresholds and
// turns on a cache of freed large blocks, reused for requests of the same
// rounded size. A library must not change process state on its own, so
// programs opt in by calling it once at start-up.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif
#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace freqcap {

inline constexpr std::size_t tensor_alignment = 64;

namespace detail {

inline constexpr std::size_t huge_page = std::size_t{2} << 20;

/// Freed blocks of huge_page size and more, most recently freed last, up to
/// `limit` bytes in all (the oldest are released first). Off (limit 0) until a
/// program opts in. Never destroyed: tensors held by other statics may be
/// freed after it would have been.
class BlockCache {
 public:
  static BlockCache& instance() {
    static auto* cache = new BlockCache;
    return *cache;
  }
  void set_limit(std::size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    limit_ = bytes;
    evict(0);
  }
  /// A cached block of exactly `size` bytes, or nullptr.
  void* take(std::size_t size) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = blocks_.rbegin(); it != blocks_.rend(); ++it)
      if (it->first == size) {
        void* p = it->second;
        blocks_.erase(std::next(it).base());
        held_ -= size;
        return p;
      }
    return nullptr;
  }
  /// Keeps the block for reuse; false when the cache is off or it is larger than the limit.
  bool give(void* p, std::size_t size) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (size > limit_) return false;
    evict(size);
    blocks_.emplace_back(size, p);
    held_ += size;
    return true;
  }
  std::size_t held_bytes() {
    std::lock_guard<std::mutex> lock(mutex_);
    return held_;
  }

 private:
  /// Releases the oldest blocks until `incoming` more bytes fit (mutex held).
  void evict(std::size_t incoming) {
    std::size_t n = 0;
    while (n < blocks_.size() && held_ + incoming > limit_) {
      std::free(blocks_[n].second);
      held_ -= blocks_[n].first;
      ++n;
    }
    blocks_.erase(blocks_.begin(), blocks_.begin() + std::ptrdiff_t(n));
  }
  std::mutex mutex_;
  std::vector<std::pair<std::size_t, void*>> blocks_;
  std::size_t held_ = 0, limit_ = 0;
};

/// Bytes actually reserved for a request of `bytes`: a multiple of 64, or of
/// 2 MiB from 2 MiB on.
inline std::size_t block_size(std::size_t bytes) {
  const std::size_t unit = bytes >= huge_page ? huge_page : tensor_alignment;
  return bytes == 0 ? tensor_alignment : (bytes + unit - 1) / unit * unit;
}

inline void* allocate_block(std::size_t bytes) {
  const std::size_t size = block_size(bytes);
  if (size < huge_page) {
    void* p = std::aligned_alloc(tensor_alignment, size);
    if (!p) throw std::bad_alloc();
    return p;
  }
  if (void* p = BlockCache::instance().take(size)) return p;
  void* p = std::aligned_alloc(huge_page, size);
  if (!p) throw std::bad_alloc();
#if defined(__linux__)
  madvise(p, size, MADV_HUGEPAGE);
#endif
  return p;
}

inline void free_block(void* p, std::size_t bytes) noexcept {
  const std::size_t size = block_size(bytes);
  if (size >= huge_page && BlockCache::instance().give(p, size)) return;
  std::free(p);
}

}  // namespace detail

/// Keeps freed tensor memory in the process for reuse: glibc's mmap and trim
/// thresholds raised (glibc only; same effect as MALLOC_MMAP_THRESHOLD_ /
/// MALLOC_TRIM_THRESHOLD_) and up to `cache_bytes` of freed blocks of 2 MiB
/// and more cached for reuse (0 turns the cache off).
inline void keep_freed_tensor_memory(std::size_t cache_bytes = std::size_t{4} << 30) {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
  detail::BlockCache::instance().set_limit(cache_bytes);
}

}  // namespace freqcap
