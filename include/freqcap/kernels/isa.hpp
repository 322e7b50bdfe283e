// Instruction-set levels the kernels are written for (scalar, AVX2+FMA,
// AVX-512), CPU and OS feature detection (cpuid + xgetbv), and the parser for
// the FREQCAP_ISA environment variable. No kernel code lives here.
#pragma once

#include <cstdlib>
#include <string_view>

#include "freqcap/core/error.hpp"

#if defined(__x86_64__) || defined(__i386__)
#define FREQCAP_KERNELS_X86 1
#include <cpuid.h>
#else
#define FREQCAP_KERNELS_X86 0
#endif

/// FREQCAP_OMP(parallel for ...) is `#pragma omp parallel for ...` when OpenMP
/// is on, and nothing otherwise (so the headers also build without -fopenmp).
#define FREQCAP_OMP_STR(...) #__VA_ARGS__
#if defined(_OPENMP)
#define FREQCAP_OMP(...) _Pragma(FREQCAP_OMP_STR(omp __VA_ARGS__))
#else
#define FREQCAP_OMP(...)
#endif

/// Function attributes that let a consumer built without -march get the SIMD
/// variants: every function under kernels/avx2 and kernels/avx512 carries one.
#define FREQCAP_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define FREQCAP_TARGET_AVX512 \
  __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
/// The same, forced inline: for the small vector helpers (load, fma, exp...).
#define FREQCAP_INLINE_AVX2 FREQCAP_TARGET_AVX2 __attribute__((always_inline)) inline
#define FREQCAP_INLINE_AVX512 FREQCAP_TARGET_AVX512 __attribute__((always_inline)) inline

namespace freqcap::kernels {

/// Instruction-set levels, weakest first. A KernelTable exists for each.
enum class Isa { scalar = 0, avx2 = 1, avx512 = 2 };

inline constexpr Isa kAllIsas[] = {Isa::scalar, Isa::avx2, Isa::avx512};

/// "scalar", "avx2" or "avx512".
inline const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar: return "scalar";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
  }
  return "unknown";
}

/// Parses a FREQCAP_ISA value ("scalar", "avx2", "avx512"); throws Error on anything else.
inline Isa parse_isa(std::string_view name) {
  for (Isa isa : kAllIsas)
    if (name == isa_name(isa)) return isa;
  ::freqcap::detail::fail("FREQCAP_ISA='", name, "' is not one of scalar, avx2, avx512");
}

namespace detail {

struct CpuFeatures {
  bool avx2 = false;    // AVX2 + FMA, and the OS saves YMM state
  bool avx512 = false;  // AVX-512 F/BW/DQ/VL, and the OS saves ZMM state
};

inline CpuFeatures detect_cpu() {
  CpuFeatures f;
#if FREQCAP_KERNELS_X86
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = (c >> 27) & 1, fma = (c >> 12) & 1, avx = (c >> 28) & 1;
  if (!osxsave || !avx) return f;
  unsigned xlo = 0, xhi = 0;
  __asm__ volatile("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
  const bool os_ymm = (xlo & 0x6u) == 0x6u;     // SSE + AVX state
  const bool os_zmm = (xlo & 0xE6u) == 0xE6u;   // + opmask, ZMM_Hi256, Hi16_ZMM
  if (__get_cpuid_max(0, nullptr) < 7) return f;
  __cpuid_count(7, 0, a, b, c, d);
  const bool avx2 = (b >> 5) & 1;
  const bool avx512f = (b >> 16) & 1, avx512dq = (b >> 17) & 1;
  const bool avx512bw = (b >> 30) & 1, avx512vl = (b >> 31) & 1;
  f.avx2 = avx2 && fma && os_ymm;
  f.avx512 = f.avx2 && avx512f && avx512dq && avx512bw && avx512vl && os_zmm;
#endif
  return f;
}

inline const CpuFeatures& cpu() {
  static const CpuFeatures f = detect_cpu();
  return f;
}

}  // namespace detail

/// True when this CPU and OS can run the kernels of `isa`.
inline bool isa_supported(Isa isa) {
  switch (isa) {
    case Isa::scalar: return true;
    case Isa::avx2: return detail::cpu().avx2;
    case Isa::avx512: return detail::cpu().avx512;
  }
  return false;
}

/// The strongest supported ISA.
inline Isa best_isa() {
  if (isa_supported(Isa::avx512)) return Isa::avx512;
  if (isa_supported(Isa::avx2)) return Isa::avx2;
  return Isa::scalar;
}

/// The ISA to use given a FREQCAP_ISA value (nullptr or empty: the best one).
/// Throws Error when the requested ISA is unknown or unsupported here.
inline Isa choose_isa(const char* env_value) {
  if (env_value == nullptr || *env_value == '\0') return best_isa();
  const Isa isa = parse_isa(env_value);
  FREQCAP_CHECK(isa_supported(isa), "FREQCAP_ISA=", env_value,
                " requested, but this CPU (or OS) does not support ", isa_name(isa));
  return isa;
}

}  // namespace freqcap::kernels
