// Reading and writing safetensors files: an 8-byte little-endian header
// length N, N bytes of JSON header ({"name": {"dtype", "shape",
// "data_offsets"}, "__metadata__": {str: str}}), then the data section.
// SafetensorsFile memory-maps a file read-only and validates it as strictly as
// the reference implementation (tensors tile the data section exactly, in
// offset order, no gaps or overlaps; byte counts match shape x dtype), then
// converts tensors to Tensor<T> on request. save_safetensors writes the layout
// the reference writer produces (tensors sorted by dtype alignment, then name;
// header padded with spaces to 8 bytes) through an atomic rename. Every error
// is a freqcap::Error naming the file and, where there is one, the tensor.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "freqcap/core/error.hpp"
#include "freqcap/core/fp16.hpp"
#include "freqcap/core/tensor.hpp"
#include "freqcap/io/atomic_file.hpp"
#include "freqcap/io/safetensors_detail.hpp"
#include "freqcap/io/safetensors_dtype.hpp"

namespace freqcap {

static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

/// An open, validated, memory-mapped safetensors file. Move-only; the
/// mapping (and every TensorInfo::bytes span) lives as long as the object.
class SafetensorsFile {
 public:
  struct TensorInfo {
    SafetensorsDtype dtype;
    Shape shape;
    std::span<const std::byte> bytes;  ///< the tensor's bytes inside the mapping
  };

  /// Maps and validates `path`; throws freqcap::Error naming the file (and
  /// the tensor) on any problem.
  static SafetensorsFile open(const std::filesystem::path& path) {
    SafetensorsFile f;
    f.path_ = path.string();
    f.map_ = std::make_unique<detail::MappedFile>(path);
    detail::parse_safetensors_header(f.path_, f.map_->bytes(), f.entries_, f.metadata_, f.data_);
    for (std::size_t i = 0; i < f.entries_.size(); ++i) f.index_[f.entries_[i].name] = i;
    return f;
  }

  const std::string& path() const { return path_; }
  /// The `__metadata__` map (empty when the file has none).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  /// Tensor names in data-offset order.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    out.reserve(entries_.size());
    for (const auto& e : entries_) out.push_back(e.name);
    return out;
  }
  std::size_t size() const { return entries_.size(); }
  bool contains(const std::string& name) const { return index_.count(name) != 0; }

  /// dtype, shape and bytes of one tensor.
  TensorInfo info(const std::string& name) const {
    const auto& e = entry(name);
    return {e.dtype, e.shape, data_.subspan(e.begin, e.end - e.begin)};
  }

  /// The tensor `name` as a contiguous Tensor<T>. Float targets (float,
  /// double, f16, bf16) accept F32/F16/BF16/F64 (rounding to nearest even when
  /// narrowing); integer targets accept their own dtype and narrower integer
  /// dtypes that widen losslessly. Anything else is an error naming the tensor.
  template <class T>
  Tensor<T> get(const std::string& name) const {
    const auto& e = entry(name);
    Tensor<T> out(e.shape);
    detail::convert_from_safetensors<T>(e.dtype, data_.data() + e.begin, out.data(),
                                        static_cast<std::size_t>(out.numel()), where(e.name));
    return out;
  }

  /// Reads tensor `name` into `dst`, whose shape must equal the file's (the
  /// error names the tensor and both shapes). dst may be strided.
  template <class T>
  void load_into(const std::string& name, Tensor<T>& dst) const {
    const auto& e = entry(name);
    FREQCAP_CHECK(e.shape == dst.shape(), where(name), "shape ", shape_str(e.shape),
                  " in the file, but the destination has shape ", shape_str(dst.shape()));
    if (dst.is_contiguous()) {
      detail::convert_from_safetensors<T>(e.dtype, data_.data() + e.begin, dst.data(),
                                          static_cast<std::size_t>(dst.numel()), where(name));
    } else {
      dst.copy_from(get<T>(name));
    }
  }

  /// Every tensor converted to T, by name.
  template <class T>
  std::map<std::string, Tensor<T>> get_all() const {
    std::map<std::string, Tensor<T>> out;
    for (const auto& e : entries_) out.emplace(e.name, get<T>(e.name));
    return out;
  }

 private:
  SafetensorsFile() = default;

  std::string where(const std::string& name) const { return path_ + ": tensor '" + name + "': "; }

  const detail::SafetensorsEntry& entry(const std::string& name) const {
    const auto it = index_.find(name);
    if (it == index_.end()) {
      std::string some;
      for (std::size_t i = 0; i < entries_.size() && i < 8; ++i) some += (i ? ", " : "") + entries_[i].name;
      if (entries_.size() > 8) some += ", ...";
      detail::fail(path_, ": no tensor named '", name, "' (the file has ", entries_.size(),
                   " tensors: ", some, ")");
    }
    return entries_[it->second];
  }

  std::string path_;
  std::unique_ptr<detail::MappedFile> map_;
  std::span<const std::byte> data_;
  std::vector<detail::SafetensorsEntry> entries_;  // sorted by data offset
  std::map<std::string, std::size_t> index_;
  std::map<std::string, std::string> metadata_;
};

/// A tensor to be written: dtype, shape and a way to produce its bytes.
/// Built implicitly from a Tensor<T> (T in float, double, int32_t, int64_t,
/// uint8_t, f16, bf16; shares its storage, copies only a strided tensor);
/// as_f16 / as_bf16 store a float tensor at half precision (RNE).
class TensorRef {
 public:
  template <class T>
  TensorRef(const Tensor<T>& t)  // NOLINT: implicit on purpose
      : dtype_(safetensors_dtype_of<T>()), shape_(t.shape()) {
    auto keep = std::make_shared<Tensor<T>>(t.contiguous());
    nbytes_ = static_cast<std::size_t>(keep->numel()) * sizeof(T);
    produce_ = [keep, n = nbytes_](AtomicFileWriter& w) { w.write(keep->data(), n); };
  }

  /// A float tensor stored as F16.
  static TensorRef as_f16(const Tensor<float>& t) { return narrowed<f16>(t); }
  /// A float tensor stored as BF16.
  static TensorRef as_bf16(const Tensor<float>& t) { return narrowed<bf16>(t); }

  /// Custom producer: `fill(dst)` writes exactly numel(shape) x dtype_size
  /// bytes to dst. Used for data that is not in a Tensor (and by tests).
  TensorRef(SafetensorsDtype dtype, Shape shape, std::function<void(std::byte* dst)> fill)
      : dtype_(dtype), shape_(std::move(shape)) {
    nbytes_ = static_cast<std::size_t>(numel_of(shape_)) * dtype_size(dtype_);
    produce_ = [fill = std::move(fill), n = nbytes_](AtomicFileWriter& w) {
      std::vector<std::byte> buf(n);
      fill(buf.data());
      w.write(buf.data(), n);
    };
  }

  SafetensorsDtype dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  std::size_t nbytes() const { return nbytes_; }
  /// Appends the tensor's bytes to w.
  void write_to(AtomicFileWriter& w) const { produce_(w); }

 private:
  TensorRef() = default;

  template <class H>
  static TensorRef narrowed(const Tensor<float>& t) {
    TensorRef r;
    r.dtype_ = safetensors_dtype_of<H>();
    r.shape_ = t.shape();
    auto keep = std::make_shared<Tensor<float>>(t.contiguous());
    const auto n = static_cast<std::size_t>(keep->numel());
    r.nbytes_ = n * sizeof(H);
    r.produce_ = [keep, n](AtomicFileWriter& w) {
      constexpr std::size_t chunk = 1 << 14;
      std::vector<H> buf(std::min(n, chunk));
      for (std::size_t i = 0; i < n; i += chunk) {
        const std::size_t m = std::min(chunk, n - i);
        if constexpr (std::is_same_v<H, f16>) to_f16(keep->data() + i, buf.data(), m);
        else to_bf16(keep->data() + i, buf.data(), m);
        w.write(buf.data(), m * sizeof(H));
      }
    };
    return r;
  }

  SafetensorsDtype dtype_ = SafetensorsDtype::F32;
  Shape shape_;
  std::size_t nbytes_ = 0;
  std::function<void(AtomicFileWriter&)> produce_;
};

/// The header bytes (JSON padded with spaces to a multiple of 8) for tensors
/// laid out in `order`, with data offsets assigned in that order.
inline std::string safetensors_header(const std::vector<std::pair<std::string, TensorRef>>& tensors,
                                      const std::vector<std::size_t>& order,
                                      const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::size_t offset = 0;
  for (std::size_t i : order) {
    const auto& [name, ref] = tensors[i];
    nlohmann::ordered_json entry = nlohmann::ordered_json::object();
    entry["dtype"] = std::string(dtype_name(ref.dtype()));
    entry["shape"] = ref.shape();
    entry["data_offsets"] = {offset, offset + ref.nbytes()};
    offset += ref.nbytes();
    header[name] = std::move(entry);
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

/// Writes `tensors` (name, tensor) and string metadata to `path` atomically.
/// Names must be unique and not "__metadata__". Layout follows the reference
/// writer: sorted by descending dtype alignment, then by name.
inline void save_safetensors(const std::filesystem::path& path,
                             const std::vector<std::pair<std::string, TensorRef>>& tensors,
                             const std::map<std::string, std::string>& metadata = {}) {
  const std::string file = path.string();
  std::vector<std::size_t> order(tensors.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (tensors[a].second.dtype() != tensors[b].second.dtype())
      return tensors[a].second.dtype() > tensors[b].second.dtype();
    return tensors[a].first < tensors[b].first;
  });
  std::vector<std::string> names;
  for (const auto& t : tensors) {
    FREQCAP_CHECK(t.first != "__metadata__", file, ": '__metadata__' cannot be a tensor name");
    names.push_back(t.first);
  }
  std::sort(names.begin(), names.end());
  const auto dup = std::adjacent_find(names.begin(), names.end());
  FREQCAP_CHECK(dup == names.end(), file, ": tensor '", (dup == names.end() ? "" : *dup),
                "' given twice");
  std::string header;
  try {
    header = safetensors_header(tensors, order, metadata);
  } catch (const nlohmann::json::exception& e) {
    detail::fail(file, ": cannot encode the header (names and metadata must be UTF-8): ", e.what());
  }
  write_file_atomic(path, [&](AtomicFileWriter& w) {
    const auto n = static_cast<std::uint64_t>(header.size());
    w.write(&n, sizeof(n));
    w.write(header);
    for (std::size_t i : order) {
      const auto& [name, ref] = tensors[i];
      const std::size_t before = w.size();
      ref.write_to(w);
      FREQCAP_CHECK(w.size() - before == ref.nbytes(), file, ": tensor '", name, "': wrote ",
                    w.size() - before, " bytes, expected ", ref.nbytes());
    }
  });
}

}  // namespace freqcap
