// The safetensors element types (the reference implementation's `Dtype`, in
// its order, which is also the writer's sort order), their names and sizes,
// and the mapping from freqcap's element types. freqcap converts F32, F16,
// BF16, F64, I64, I32 and U8 (and widens the other integer types on read);
// the remaining types are recognised so a file holding them still validates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>

#include "freqcap/core/fp16.hpp"

namespace freqcap {

/// Element type of a safetensors tensor. Declared in increasing alignment
/// order, as the reference implementation does.
enum class SafetensorsDtype : std::uint8_t {
  BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64
};

namespace detail {
struct SafetensorsDtypeRow {
  SafetensorsDtype dtype;
  std::string_view name;
  std::size_t size;
};
inline constexpr SafetensorsDtypeRow safetensors_dtype_table[] = {
    {SafetensorsDtype::BOOL, "BOOL", 1},       {SafetensorsDtype::U8, "U8", 1},
    {SafetensorsDtype::I8, "I8", 1},           {SafetensorsDtype::F8_E5M2, "F8_E5M2", 1},
    {SafetensorsDtype::F8_E4M3, "F8_E4M3", 1}, {SafetensorsDtype::I16, "I16", 2},
    {SafetensorsDtype::U16, "U16", 2},         {SafetensorsDtype::F16, "F16", 2},
    {SafetensorsDtype::BF16, "BF16", 2},       {SafetensorsDtype::I32, "I32", 4},
    {SafetensorsDtype::U32, "U32", 4},         {SafetensorsDtype::F32, "F32", 4},
    {SafetensorsDtype::F64, "F64", 8},         {SafetensorsDtype::I64, "I64", 8},
    {SafetensorsDtype::U64, "U64", 8},
};
}  // namespace detail

/// "F32", "BF16", ...
constexpr std::string_view dtype_name(SafetensorsDtype d) {
  return detail::safetensors_dtype_table[static_cast<std::size_t>(d)].name;
}

/// Bytes per element.
constexpr std::size_t dtype_size(SafetensorsDtype d) {
  return detail::safetensors_dtype_table[static_cast<std::size_t>(d)].size;
}

/// The dtype spelled `name` in a header, or nullopt for an unknown spelling.
constexpr std::optional<SafetensorsDtype> parse_safetensors_dtype(std::string_view name) {
  for (const auto& row : detail::safetensors_dtype_table) {
    if (row.name == name) return row.dtype;
  }
  return std::nullopt;
}

/// True for the floating-point dtypes freqcap converts (F32, F16, BF16, F64).
constexpr bool is_float_dtype(SafetensorsDtype d) {
  return d == SafetensorsDtype::F32 || d == SafetensorsDtype::F16 || d == SafetensorsDtype::BF16 ||
         d == SafetensorsDtype::F64;
}

/// The safetensors dtype that stores a freqcap element type T bit for bit.
template <class T>
constexpr SafetensorsDtype safetensors_dtype_of() {
  if constexpr (std::is_same_v<T, float>) return SafetensorsDtype::F32;
  else if constexpr (std::is_same_v<T, double>) return SafetensorsDtype::F64;
  else if constexpr (std::is_same_v<T, f16>) return SafetensorsDtype::F16;
  else if constexpr (std::is_same_v<T, bf16>) return SafetensorsDtype::BF16;
  else if constexpr (std::is_same_v<T, std::int64_t>) return SafetensorsDtype::I64;
  else if constexpr (std::is_same_v<T, std::int32_t>) return SafetensorsDtype::I32;
  else if constexpr (std::is_same_v<T, std::uint8_t>) return SafetensorsDtype::U8;
  else static_assert(sizeof(T) == 0, "no safetensors dtype for this element type");
}

}  // namespace freqcap
