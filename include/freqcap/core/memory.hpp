// Allocator tuning for programs that allocate many large tensors. glibc
// returns blocks above 128 KiB to the kernel on free (mmap/munmap), so every
// new activation tensor page-faults afresh; raising the mmap and trim
// thresholds keeps freed blocks for reuse. A library must not change process
// state on its own, so programs opt in by calling this once at start-up.
#pragma once

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace freqcap {

/// Keeps freed tensor memory in the process for reuse (glibc only; a no-op
/// elsewhere). Same effect as MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_.
inline void keep_freed_tensor_memory() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

}  // namespace freqcap
