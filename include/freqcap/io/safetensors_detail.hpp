// Internals of io/safetensors.hpp: the read-only memory mapping, header
// parsing and validation (following the reference implementation's rules),
// and element conversion from a stored dtype to a Tensor element type.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <span>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "freqcap/core/error.hpp"
#include "freqcap/core/fp16.hpp"
#include "freqcap/core/shape.hpp"
#include "freqcap/io/safetensors_dtype.hpp"

namespace freqcap::detail {

/// A whole file mapped read-only (an empty file maps to an empty span).
class MappedFile {
 public:
  explicit MappedFile(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(path.string(), ": cannot open: ", std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      fail(path.string(), ": not a regular file");
    }
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        const int err = errno;
        ::close(fd);
        fail(path.string(), ": cannot memory-map: ", std::strerror(err));
      }
      addr_ = p;
    }
    ::close(fd);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile() {
    if (addr_) ::munmap(addr_, size_);
  }
  std::span<const std::byte> bytes() const { return {static_cast<const std::byte*>(addr_), size_}; }

 private:
  void* addr_ = nullptr;
  std::size_t size_ = 0;
};

/// One header entry; offsets are relative to the data section.
struct SafetensorsEntry {
  std::string name;
  SafetensorsDtype dtype;
  Shape shape;
  std::uint64_t begin = 0, end = 0;
};

inline constexpr std::uint64_t safetensors_max_header = 100'000'000;  // as the reference

inline std::string offsets_str(std::uint64_t b, std::uint64_t e) {
  std::ostringstream os;  // (not operator+: GCC 12 warns falsely on "[" + to_string at -O2)
  os << '[' << b << ", " << e << ']';
  return os.str();
}

inline SafetensorsEntry parse_safetensors_entry(const std::string& file, const std::string& name,
                                                const nlohmann::json& v, std::uint64_t data_size) {
  const std::string where = file + ": tensor '" + name + "': ";
  FREQCAP_CHECK(v.is_object(), where, "header entry must be an object, got ", v.type_name());
  SafetensorsEntry e;
  e.name = name;
  const auto dt = v.find("dtype");
  FREQCAP_CHECK(dt != v.end() && dt->is_string(), where, "missing string field 'dtype'");
  const auto parsed = parse_safetensors_dtype(dt->get_ref<const std::string&>());
  FREQCAP_CHECK(parsed.has_value(), where, "unknown dtype '", dt->get_ref<const std::string&>(),
                "' (freqcap reads F32, F16, BF16, F64, I64, I32, U8)");
  e.dtype = *parsed;
  const auto sh = v.find("shape");
  FREQCAP_CHECK(sh != v.end() && sh->is_array(), where, "missing array field 'shape'");
  std::uint64_t numel = 1;
  bool overflow = false;
  for (const auto& d : *sh) {
    FREQCAP_CHECK(d.is_number_unsigned() && d.get<std::uint64_t>() <= (std::uint64_t{1} << 62), where,
                  "shape ", sh->dump(), " must hold non-negative integers");
    overflow |= __builtin_mul_overflow(numel, d.get<std::uint64_t>(), &numel);
    e.shape.push_back(static_cast<std::int64_t>(d.get<std::uint64_t>()));
  }
  const auto off = v.find("data_offsets");
  FREQCAP_CHECK(off != v.end() && off->is_array() && off->size() == 2 && (*off)[0].is_number_unsigned() &&
                    (*off)[1].is_number_unsigned(),
                where, "'data_offsets' must be two non-negative integers, got ",
                off == v.end() ? std::string("nothing") : off->dump());
  e.begin = (*off)[0].get<std::uint64_t>();
  e.end = (*off)[1].get<std::uint64_t>();
  FREQCAP_CHECK(e.begin <= e.end, where, "data_offsets ", offsets_str(e.begin, e.end), " begin after they end");
  FREQCAP_CHECK(e.end <= data_size, where, "data_offsets ", offsets_str(e.begin, e.end),
                " run past the end of the data section (", data_size, " bytes)");
  std::uint64_t nbytes = 0;
  overflow |= __builtin_mul_overflow(numel, std::uint64_t{dtype_size(e.dtype)}, &nbytes);
  FREQCAP_CHECK(!overflow, where, "shape ", shape_str(e.shape), " x ", dtype_name(e.dtype), " overflows");
  FREQCAP_CHECK(e.end - e.begin == nbytes, where, "data_offsets ", offsets_str(e.begin, e.end), " hold ",
                e.end - e.begin, " bytes but shape ", shape_str(e.shape), " x ", dtype_name(e.dtype), " is ",
                nbytes, " bytes");
  return e;
}

/// Parses and validates the header of a whole mapped file. On return,
/// entries are sorted by offset and tile `data` exactly.
inline void parse_safetensors_header(const std::string& file, std::span<const std::byte> all,
                                     std::vector<SafetensorsEntry>& entries,
                                     std::map<std::string, std::string>& metadata,
                                     std::span<const std::byte>& data) {
  FREQCAP_CHECK(all.size() >= 8, file, ": file is ", all.size(),
                " bytes, too short for safetensors (the header length alone is 8 bytes)");
  std::uint64_t n = 0;
  std::memcpy(&n, all.data(), 8);
  FREQCAP_CHECK(n <= safetensors_max_header, file, ": header length ", n, " exceeds the ",
                safetensors_max_header, "-byte limit (not a safetensors file?)");
  FREQCAP_CHECK(n <= all.size() - 8, file, ": header length ", n, " is more than the ", all.size() - 8,
                " bytes the file has after the length field (truncated file?)");
  const char* text = reinterpret_cast<const char*>(all.data() + 8);
  std::set<std::string> seen;
  std::string duplicate;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(
        text, text + n,
        [&](int depth, nlohmann::json::parse_event_t ev, nlohmann::json& parsed) {
          if (ev == nlohmann::json::parse_event_t::key && depth == 1 && !seen.insert(parsed.get<std::string>()).second)
            duplicate = parsed.get<std::string>();
          return true;
        });
  } catch (const nlohmann::json::exception& ex) {
    fail(file, ": header is not valid JSON: ", ex.what());
  }
  FREQCAP_CHECK(j.is_object(), file, ": header must be a JSON object, got ", j.type_name());
  FREQCAP_CHECK(duplicate.empty(), file, ": tensor '", duplicate, "' appears twice in the header");
  data = all.subspan(8 + n);
  entries.clear();
  metadata.clear();
  for (const auto& [key, value] : j.items()) {
    if (key == "__metadata__") {
      FREQCAP_CHECK(value.is_object(), file, ": __metadata__ must be an object of strings, got ",
                    value.type_name());
      for (const auto& [mk, mv] : value.items()) {
        FREQCAP_CHECK(mv.is_string(), file, ": __metadata__ entry '", mk, "' must be a string, got ",
                      mv.type_name());
        metadata[mk] = mv.get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_safetensors_entry(file, key, value, data.size()));
  }
  std::sort(entries.begin(), entries.end(), [](const SafetensorsEntry& a, const SafetensorsEntry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t covered = 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    FREQCAP_CHECK(e.begin >= covered, file, ": tensor '", e.name, "': data_offsets ", offsets_str(e.begin, e.end),
                  " overlap tensor '", i ? entries[i - 1].name : "", "' at ",
                  i ? offsets_str(entries[i - 1].begin, entries[i - 1].end) : "");
    FREQCAP_CHECK(e.begin == covered, file, ": tensor '", e.name, "': data_offsets ", offsets_str(e.begin, e.end),
                  " leave data bytes [", covered, ", ", e.begin, ") before it unused (tensors must tile the data section)");
    covered = e.end;
  }
  FREQCAP_CHECK(covered == data.size(), file, ": tensors cover ", covered, " bytes but the data section has ",
                data.size(), " bytes (tensors must tile the data section exactly)");
}

template <class T>
constexpr const char* element_name() {
  if constexpr (std::is_same_v<T, float>) return "float";
  else if constexpr (std::is_same_v<T, double>) return "double";
  else if constexpr (std::is_same_v<T, f16>) return "f16";
  else if constexpr (std::is_same_v<T, bf16>) return "bf16";
  else if constexpr (std::is_same_v<T, std::int64_t>) return "int64";
  else if constexpr (std::is_same_v<T, std::int32_t>) return "int32";
  else if constexpr (std::is_same_v<T, std::uint8_t>) return "uint8";
  else return "this element type";
}

template <class S>
S load_le(const std::byte* p) {
  S v;
  std::memcpy(&v, p, sizeof(S));
  return v;
}

template <class T, class S, class F>
void convert_loop(const std::byte* src, T* dst, std::size_t n, F&& f) {
  for (std::size_t i = 0; i < n; ++i) dst[i] = f(load_le<S>(src + i * sizeof(S)));
}

/// float-like targets from a float value (RNE when narrowing).
template <class T>
T float_to(float v) {
  if constexpr (std::is_same_v<T, f16> || std::is_same_v<T, bf16>) return T(v);
  else return static_cast<T>(v);
}

/// Converts n stored elements of `dtype` at src (any alignment) into dst.
template <class T>
void convert_from_safetensors(SafetensorsDtype dtype, const std::byte* src, T* dst, std::size_t n,
                              const std::string& where) {
  using D = SafetensorsDtype;
  if (dtype == safetensors_dtype_of<T>()) {
    if (n) std::memcpy(static_cast<void*>(dst), src, n * sizeof(T));
    return;
  }
  constexpr bool float_target = std::is_floating_point_v<T> || is_half_v<T>;
  if constexpr (float_target) {
    switch (dtype) {
      case D::F32: return convert_loop<T, float>(src, dst, n, [](float v) { return float_to<T>(v); });
      case D::F16: return convert_loop<T, f16>(src, dst, n, [](f16 v) { return float_to<T>(to_float(v)); });
      case D::BF16: return convert_loop<T, bf16>(src, dst, n, [](bf16 v) { return float_to<T>(to_float(v)); });
      case D::F64:  // one correct rounding, also to f16 / bf16
        return convert_loop<T, double>(src, dst, n, [](double v) {
          if constexpr (std::is_same_v<T, f16>) return to_f16_from_double(v);
          else if constexpr (std::is_same_v<T, bf16>) return to_bf16_from_double(v);
          else return static_cast<T>(v);
        });
      default:
        fail(where, "dtype ", dtype_name(dtype), " cannot be read as ", element_name<T>(),
             " (float targets accept F32, F16, BF16, F64)");
    }
  } else {
    // Integer targets: lossless widening only.
    auto widen = [&](auto tag) {
      using S = decltype(tag);
      if constexpr (std::cmp_greater_equal(std::numeric_limits<S>::min(), std::numeric_limits<T>::min()) &&
                    std::cmp_less_equal(std::numeric_limits<S>::max(), std::numeric_limits<T>::max())) {
        convert_loop<T, S>(src, dst, n, [](S v) { return static_cast<T>(v); });
      } else {
        fail(where, "dtype ", dtype_name(dtype), " cannot be read as ", element_name<T>(), " without narrowing");
      }
    };
    switch (dtype) {
      case D::BOOL:
      case D::U8: return widen(std::uint8_t{});
      case D::I8: return widen(std::int8_t{});
      case D::I16: return widen(std::int16_t{});
      case D::U16: return widen(std::uint16_t{});
      case D::I32: return widen(std::int32_t{});
      case D::U32: return widen(std::uint32_t{});
      case D::I64: return widen(std::int64_t{});
      case D::U64: return widen(std::uint64_t{});
      default:
        fail(where, "dtype ", dtype_name(dtype), " cannot be read as ", element_name<T>(),
             " (integer targets accept integer dtypes that widen losslessly)");
    }
  }
}

}  // namespace freqcap::detail
