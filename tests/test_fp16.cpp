// Tests for core/fp16.hpp: f16 exhaustively against the compiler's _Float16
// and a double-precision rounding reference; bf16 against a double reference.
#include "freqcap/core/fp16.hpp"

#include <catch2/catch.hpp>

#include <bit>
#include <cfenv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

namespace freqcap_test_fp16 {  // own scope: the unity build joins test files

namespace {

using freqcap::bf16;
using freqcap::f16;

// Reference 1: the compiler's _Float16 conversion (libgcc / F16C), RNE.
std::uint16_t ref_f16_compiler(float x) {
  volatile float v = x;
  const _Float16 h = static_cast<_Float16>(v);
  std::uint16_t b;
  std::memcpy(&b, &h, 2);
  return b;
}

// Reference 2: round in double with nearbyint (default mode: ties to even),
// then encode the (exactly representable) result. Non-NaN inputs only.
std::uint16_t ref_f16_double(float x) {
  const double d = x;
  const std::uint16_t sign = std::signbit(d) ? 0x8000 : 0;
  const double a = std::fabs(d);
  if (std::isinf(a)) return sign | 0x7c00;
  if (a == 0.0) return sign;
  int e = 0;
  std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1): leading bit is 2^(e-1)
  int lead = e - 1;
  if (lead < -14) lead = -14;              // subnormal range shares the 2^-24 quantum
  const double quantum = std::ldexp(1.0, lead - 10);
  const double q = std::nearbyint(a / quantum) * quantum;
  if (q >= 65536.0) return sign | 0x7c00;
  // Encode q exactly.
  if (q < std::ldexp(1.0, -14)) return sign | static_cast<std::uint16_t>(q / std::ldexp(1.0, -24));
  int qe = 0;
  const double qm = std::frexp(q, &qe);  // q = qm * 2^qe
  const int biased = qe - 1 + 15;
  const auto mant = static_cast<std::uint16_t>((qm * 2.0 - 1.0) * 1024.0);
  return sign | static_cast<std::uint16_t>(biased << 10) | mant;
}

// bf16 reference in double: quantum 2^(lead-7), normal range down to 2^-126.
std::uint16_t ref_bf16_double(double d) {
  const double a = std::fabs(d);
  if (std::isinf(a) || a == 0.0) return static_cast<std::uint16_t>(std::bit_cast<std::uint32_t>(static_cast<float>(d)) >> 16);
  int e = 0;
  std::frexp(a, &e);
  int lead = e - 1;
  if (lead < -126) lead = -126;
  const double quantum = std::ldexp(1.0, lead - 7);
  const double q = std::nearbyint(a / quantum) * quantum;
  const float qf = static_cast<float>(q);  // exact unless it overflows to inf
  const double max_bf16 = std::ldexp(255.0, 120);  // 0x7f7f
  const float r = q > max_bf16 ? std::numeric_limits<float>::infinity() : qf;
  const std::uint32_t rb = std::bit_cast<std::uint32_t>(r);
  REQUIRE((rb & 0xffffu) == 0u);
  return static_cast<std::uint16_t>((rb >> 16) | (std::signbit(d) ? 0x8000u : 0u));
}

float from_bits32(std::uint32_t b) { return std::bit_cast<float>(b); }

}  // namespace

TEST_CASE("f16 round trips every non-NaN bit pattern through float", "[fp16]") {
  for (std::uint32_t b = 0; b < 65536; ++b) {
    const f16 h = f16::from_bits(static_cast<std::uint16_t>(b));
    const float f = freqcap::to_float(h);
    // float value agrees with the compiler's _Float16 -> float
    _Float16 ch;
    const auto b16 = static_cast<std::uint16_t>(b);
    std::memcpy(&ch, &b16, 2);
    const float cf = static_cast<float>(ch);
    const bool is_nan = ((b & 0x7c00u) == 0x7c00u) && (b & 0x3ffu);
    if (is_nan) {
      REQUIRE(std::isnan(f));
      REQUIRE(std::isnan(freqcap::to_float(freqcap::to_f16(f))));
      // payload and sign kept through f16 -> float -> f16 for quiet NaNs
      if (b & 0x200u) REQUIRE(freqcap::to_f16(f).bits == b);
      continue;
    }
    REQUIRE(std::bit_cast<std::uint32_t>(f) == std::bit_cast<std::uint32_t>(cf));
    REQUIRE(freqcap::to_f16(f).bits == b);
  }
}

TEST_CASE("float -> f16 matches two independent references on edge cases", "[fp16]") {
  std::vector<float> cases = {
      0.0f, -0.0f, 1.0f, -1.0f, 65504.0f, 65519.0f, 65519.996f, 65520.0f, -65520.0f, 1e6f,
      std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
      std::numeric_limits<float>::max(), std::numeric_limits<float>::denorm_min(),
      std::numeric_limits<float>::min(),
      std::ldexp(1.0f, -24),                    // smallest f16 subnormal
      std::ldexp(1.0f, -25),                    // tie between 0 and it -> 0
      std::nextafter(std::ldexp(1.0f, -25), 1.0f),  // just above the tie -> 2^-24
      std::ldexp(3.0f, -26),                    // 1.5 * 2^-25
      std::ldexp(3.0f, -25),                    // 1.5 * 2^-24: tie -> 2^-23 (even)
      std::ldexp(1.0f, -14),                    // smallest normal
      std::ldexp(1023.5f, -24),                 // tie at the subnormal/normal border -> 2^-14
      std::nextafter(std::ldexp(1.0f, -14), 0.0f),
      1.0f + std::ldexp(1.0f, -11),             // tie -> 1.0 (even)
      1.0f + std::ldexp(3.0f, -11),             // tie -> 1 + 2^-9 (even)
      2047.5f, 2048.5f, 4095.0f, 0.1f, 1.0f / 3.0f, 3.14159265f};
  for (float c : cases) {
    INFO("value " << c);
    REQUIRE(freqcap::to_f16(c).bits == ref_f16_compiler(c));
    REQUIRE(freqcap::to_f16(c).bits == ref_f16_double(c));
  }
  CHECK(freqcap::to_f16(65519.0f).bits == 0x7bff);
  CHECK(freqcap::to_f16(65520.0f).bits == 0x7c00);
  CHECK(freqcap::to_f16(std::ldexp(1.0f, -24)).bits == 0x0001);
  CHECK(freqcap::to_f16(std::ldexp(1.0f, -25)).bits == 0x0000);
  // NaN in, NaN out (never infinity), sign kept
  const float nan = std::numeric_limits<float>::quiet_NaN();
  CHECK(std::isnan(freqcap::to_float(freqcap::to_f16(nan))));
  CHECK(std::isnan(freqcap::to_float(freqcap::to_f16(from_bits32(0x7f800001u)))));  // signalling, low payload
  CHECK(std::isnan(freqcap::to_float(freqcap::to_f16(from_bits32(0xff800001u)))));
  CHECK((freqcap::to_f16(from_bits32(0xff800001u)).bits & 0x8000u) != 0u);
}

TEST_CASE("float -> f16 matches references on random floats", "[fp16]") {
  std::mt19937 rng(1234);
  std::uniform_int_distribution<std::uint32_t> any_bits;
  // exponents around the f16 range, where rounding is interesting
  std::uniform_int_distribution<std::uint32_t> exp_dist(95, 145);
  std::uniform_int_distribution<std::uint32_t> mant_dist(0, 0x7fffff);
  for (int i = 0; i < 400000; ++i) {
    std::uint32_t b = (i % 2 == 0) ? any_bits(rng)
                                   : ((any_bits(rng) & 0x80000000u) | (exp_dist(rng) << 23) | mant_dist(rng));
    if (i % 4 == 1) b &= ~0xfffu;  // many exact ties and near-ties in the low bits
    if (i % 4 == 3) b = (b & ~0x1fffu) | 0x1000u;  // exact halfway for normals
    const float f = from_bits32(b);
    if (std::isnan(f)) {
      REQUIRE(std::isnan(freqcap::to_float(freqcap::to_f16(f))));
      continue;
    }
    const std::uint16_t got = freqcap::to_f16(f).bits;
    if (got != ref_f16_compiler(f) || got != ref_f16_double(f)) {
      FAIL("mismatch for float bits " << std::hex << b << ": got " << got << " compiler "
                                      << ref_f16_compiler(f) << " double " << ref_f16_double(f));
    }
  }
}

TEST_CASE("bf16 conversions round to nearest even and keep NaN", "[fp16]") {
  // exhaustive bf16 -> float -> bf16
  for (std::uint32_t b = 0; b < 65536; ++b) {
    const bf16 h = bf16::from_bits(static_cast<std::uint16_t>(b));
    const float f = freqcap::to_float(h);
    REQUIRE(std::bit_cast<std::uint32_t>(f) == (b << 16));
    if (std::isnan(f)) {
      REQUIRE(std::isnan(freqcap::to_float(freqcap::to_bf16(f))));
    } else {
      REQUIRE(freqcap::to_bf16(f).bits == b);
    }
  }
  // NaNs whose payload lives only in the low 16 bits stay NaN
  CHECK(std::isnan(freqcap::to_float(freqcap::to_bf16(from_bits32(0x7f800001u)))));
  CHECK(std::isnan(freqcap::to_float(freqcap::to_bf16(from_bits32(0xffffffffu)))));
  // overflow past the largest bf16 rounds to infinity; ties to even
  CHECK(freqcap::to_bf16(std::numeric_limits<float>::max()).bits == 0x7f80);
  CHECK(freqcap::to_bf16(from_bits32(0x3f808000u)).bits == 0x3f80);  // tie, even down
  CHECK(freqcap::to_bf16(from_bits32(0x3f818000u)).bits == 0x3f82);  // tie, even up
  std::mt19937 rng(99);
  std::uniform_int_distribution<std::uint32_t> any_bits;
  for (int i = 0; i < 200000; ++i) {
    std::uint32_t b = any_bits(rng);
    if (i % 3 == 0) b = (b & ~0xffffu) | 0x8000u;
    const float f = from_bits32(b);
    if (std::isnan(f)) continue;
    const std::uint16_t got = freqcap::to_bf16(f).bits;
    if (got != ref_bf16_double(f)) {
      FAIL("bf16 mismatch for bits " << std::hex << b << ": got " << got << " want " << ref_bf16_double(f));
    }
  }
}

TEST_CASE("bulk f16/bf16 converters agree with the scalar ones", "[fp16]") {
  std::vector<float> src(1037);
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0.0f, 100.0f);
  for (auto& v : src) v = nd(rng);
  std::vector<f16> h(src.size());
  std::vector<bf16> bh(src.size());
  std::vector<float> back(src.size()), bback(src.size());
  freqcap::to_f16(src.data(), h.data(), src.size());
  freqcap::to_bf16(src.data(), bh.data(), src.size());
  freqcap::to_float(h.data(), back.data(), src.size());
  freqcap::to_float(bh.data(), bback.data(), src.size());
  for (std::size_t i = 0; i < src.size(); ++i) {
    REQUIRE(h[i].bits == freqcap::to_f16(src[i]).bits);
    REQUIRE(bh[i].bits == freqcap::to_bf16(src[i]).bits);
    REQUIRE(back[i] == freqcap::to_float(h[i]));
    // relative error within half an ulp of each format (normal range)
    REQUIRE(std::fabs(back[i] - src[i]) <= std::fabs(src[i]) * std::ldexp(1.0f, -11) + std::ldexp(1.0f, -25));
    REQUIRE(std::fabs(bback[i] - src[i]) <= std::fabs(src[i]) * std::ldexp(1.0f, -8));
  }
  static_assert(freqcap::to_float(freqcap::to_f16(1.5f)) == 1.5f, "constexpr conversions");
}

TEST_CASE("double -> f16/bf16 rounds once, correctly", "[fp16]") {
  auto ref_f16_from_double = [](double d) {
    volatile double v = d;
    const _Float16 h = static_cast<_Float16>(v);  // libgcc __truncdfhf2: one rounding
    std::uint16_t b;
    std::memcpy(&b, &h, 2);
    return b;
  };
  // Double rounding through float would get these wrong: a tie in f16 / bf16
  // after float rounding, but not in the exact value.
  const double tricky_h = 1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40);
  CHECK(freqcap::to_f16_from_double(tricky_h).bits == 0x3c01);
  CHECK(freqcap::to_f16(static_cast<float>(tricky_h)).bits == 0x3c00);  // the double-rounding answer
  const double tricky_b = 1.0 + std::ldexp(1.0, -8) + std::ldexp(1.0, -40);
  CHECK(freqcap::to_bf16_from_double(tricky_b).bits == 0x3f81);
  CHECK(std::isnan(freqcap::to_float(freqcap::to_f16_from_double(std::nan("")))));
  CHECK(freqcap::to_f16_from_double(1e300).bits == 0x7c00);
  CHECK(freqcap::to_bf16_from_double(-1e300).bits == 0xff80);
  CHECK(freqcap::to_f16_from_double(1e-300).bits == 0x0000);
  std::mt19937_64 rng(77);
  std::uniform_int_distribution<std::uint64_t> any_bits;
  std::uniform_int_distribution<std::uint64_t> exp_dist(1023 - 140, 1023 + 130);
  for (int i = 0; i < 300000; ++i) {
    std::uint64_t b = (any_bits(rng) & 0x800fffffffffffffull) | (exp_dist(rng) << 52);
    if (i % 3 == 1) b = (b & ~((1ull << 42) - 1)) | (1ull << 41) | (any_bits(rng) & 0xfff);  // near f16 ties
    if (i % 3 == 2) b = (b & ~((1ull << 45) - 1)) | (1ull << 44) | (any_bits(rng) & 0xfff);  // near bf16 ties
    const double d = std::bit_cast<double>(b);
    const std::uint16_t h = freqcap::to_f16_from_double(d).bits;
    const std::uint16_t bh = freqcap::to_bf16_from_double(d).bits;
    if (h != ref_f16_from_double(d) || bh != ref_bf16_double(d)) {
      FAIL("double bits " << std::hex << b << ": f16 " << h << " want " << ref_f16_from_double(d) << ", bf16 " << bh
                          << " want " << ref_bf16_double(d));
    }
  }
}

}  // namespace freqcap_test_fp16
