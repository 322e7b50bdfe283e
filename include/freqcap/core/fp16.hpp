// Half-precision storage types: freqcap::f16 (IEEE 754 binary16) and
// freqcap::bf16 (bfloat16). They hold only the 16 bits; arithmetic happens in
// float. Conversions from float round to nearest, ties to even, keep
// subnormals, infinities and NaNs (a NaN never becomes an infinity), and
// overflow to infinity, bit for bit as IEEE hardware (F16C, AVX512-BF16) does.
// All conversions are constexpr scalar code; SIMD versions belong in kernels/.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace freqcap {

namespace detail {

/// float -> binary16 bits, round to nearest even.
constexpr std::uint16_t float_to_f16_bits(float value) {
  const std::uint32_t x = std::bit_cast<std::uint32_t>(value);
  const auto sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
  const std::uint32_t ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u) {  // inf or NaN
    if (ax == 0x7f800000u) return static_cast<std::uint16_t>(sign | 0x7c00u);
    // NaN: keep the top payload bits, set the quiet bit so it stays a NaN.
    return static_cast<std::uint16_t>(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
  }
  if (ax >= 0x477ff000u) {  // >= 65520: rounds to infinity
    return static_cast<std::uint16_t>(sign | 0x7c00u);
  }
  if (ax < 0x38800000u) {  // below 2^-14: f16 subnormal or zero
    if (ax < 0x33000000u) return sign;  // below 2^-25 (half the smallest subnormal)
    const std::uint32_t exp = ax >> 23;  // 102..112
    const std::uint32_t mant = (ax & 0x7fffffu) | 0x800000u;
    const std::uint32_t shift = 126u - exp;  // value in units of 2^-24 is mant >> shift
    std::uint32_t q = mant >> shift;
    const std::uint32_t rem = mant & ((1u << shift) - 1u);
    const std::uint32_t half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (q & 1u))) ++q;  // may carry into the smallest normal
    return static_cast<std::uint16_t>(sign | q);
  }
  // Normal: rebias the exponent (127 -> 15) and round 23 -> 10 mantissa bits.
  const std::uint32_t r = ax - (112u << 23);
  std::uint32_t q = r >> 13;
  const std::uint32_t rem = r & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (q & 1u))) ++q;  // carry may bump the exponent
  return static_cast<std::uint16_t>(sign | q);
}

/// binary16 bits -> float (exact).
constexpr float f16_bits_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  std::uint32_t exp = (h >> 10) & 0x1fu;
  std::uint32_t mant = h & 0x3ffu;
  if (exp == 0x1fu) {  // inf / NaN, payload kept
    return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));
  }
  if (exp == 0) {
    if (mant == 0) return std::bit_cast<float>(sign);
    // Subnormal: normalise the mantissa.
    int e = 1;
    while ((mant & 0x400u) == 0) {
      mant <<= 1;
      --e;
    }
    mant &= 0x3ffu;
    return std::bit_cast<float>(sign | (static_cast<std::uint32_t>(e + 112) << 23) | (mant << 13));
  }
  return std::bit_cast<float>(sign | ((exp + 112u) << 23) | (mant << 13));
}

/// float -> bfloat16 bits, round to nearest even; NaN stays NaN (quiet).
constexpr std::uint16_t float_to_bf16_bits(float value) {
  const std::uint32_t x = std::bit_cast<std::uint32_t>(value);
  if ((x & 0x7fffffffu) > 0x7f800000u) {
    return static_cast<std::uint16_t>((x >> 16) | 0x0040u);
  }
  const std::uint32_t rounded = x + 0x7fffu + ((x >> 16) & 1u);
  return static_cast<std::uint16_t>(rounded >> 16);
}

/// bfloat16 bits -> float (exact).
constexpr float bf16_bits_to_float(std::uint16_t b) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16);
}

/// double -> float rounding to odd: truncate, then set the last bit when
/// inexact. A second rounding of the result to f16 or bf16 (>= 2 fewer bits)
/// is then exactly the correctly rounded double -> f16 / bf16.
constexpr float double_to_float_round_odd(double d) {
  if (d != d) return static_cast<float>(d);  // NaN
  float f = static_cast<float>(d);
  if (static_cast<double>(f) == d) return f;
  const double ad = d < 0 ? -d : d;
  std::uint32_t bits = std::bit_cast<std::uint32_t>(f);
  const float af = std::bit_cast<float>(bits & 0x7fffffffu);
  if (static_cast<double>(af) > ad) --bits;  // rounded away from zero: step back toward it
  return std::bit_cast<float>(bits | 1u);
}

}  // namespace detail

/// IEEE 754 binary16 storage. Trivially copyable, 2 bytes; `bits` is the raw
/// encoding (as stored in an F16 safetensors tensor, little endian).
struct f16 {
  std::uint16_t bits;

  f16() = default;
  constexpr explicit f16(float value) : bits(detail::float_to_f16_bits(value)) {}
  constexpr explicit operator float() const { return detail::f16_bits_to_float(bits); }
  static constexpr f16 from_bits(std::uint16_t b) {
    f16 h;
    h.bits = b;
    return h;
  }
};

/// bfloat16 storage (the top 16 bits of a float). Trivially copyable, 2 bytes.
struct bf16 {
  std::uint16_t bits;

  bf16() = default;
  constexpr explicit bf16(float value) : bits(detail::float_to_bf16_bits(value)) {}
  constexpr explicit operator float() const { return detail::bf16_bits_to_float(bits); }
  static constexpr bf16 from_bits(std::uint16_t b) {
    bf16 h;
    h.bits = b;
    return h;
  }
};

static_assert(sizeof(f16) == 2 && std::is_trivially_copyable_v<f16> && std::is_trivial_v<f16>);
static_assert(sizeof(bf16) == 2 && std::is_trivially_copyable_v<bf16> && std::is_trivial_v<bf16>);

/// True for the two half types.
template <class T>
inline constexpr bool is_half_v = std::is_same_v<T, f16> || std::is_same_v<T, bf16>;

/// float -> f16, round to nearest even, overflow to inf.
constexpr f16 to_f16(float value) { return f16(value); }
/// float -> bf16, round to nearest even.
constexpr bf16 to_bf16(float value) { return bf16(value); }
/// f16 -> float, exact.
constexpr float to_float(f16 value) { return detail::f16_bits_to_float(value.bits); }
/// bf16 -> float, exact.
constexpr float to_float(bf16 value) { return detail::bf16_bits_to_float(value.bits); }

/// double -> f16 / bf16, correctly rounded (nearest even) in one step.
constexpr f16 to_f16_from_double(double value) { return f16(detail::double_to_float_round_odd(value)); }
constexpr bf16 to_bf16_from_double(double value) { return bf16(detail::double_to_float_round_odd(value)); }

/// Bulk conversions over n elements (src and dst must not overlap).
inline void to_f16(const float* src, f16* dst, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) dst[i] = f16(src[i]);
}
inline void to_bf16(const float* src, bf16* dst, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) dst[i] = bf16(src[i]);
}
inline void to_float(const f16* src, float* dst, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) dst[i] = to_float(src[i]);
}
inline void to_float(const bf16* src, float* dst, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) dst[i] = to_float(src[i]);
}

}  // namespace freqcap
