// Named tensors for state dicts: AnyTensor holds either a float tensor (the
// parameters and most buffers) or an int64 tensor (BatchNorm's
// num_batches_tracked, optimizer step counts), and TensorDict is an ordered
// name -> AnyTensor list with a lookup index. Modules and optimizers export
// their state as a TensorDict (dotted PyTorch names, PyTorch's order), and
// io/state_dict.hpp saves one as safetensors (F32 and I64, as PyTorch writes).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "freqcap/core/tensor_ops.hpp"

namespace freqcap::nn {

/// A float32 or int64 tensor.
using AnyTensor = std::variant<Tensor<float>, Tensor<std::int64_t>>;

inline const Shape& shape_of(const AnyTensor& t) {
  return std::visit([](const auto& x) -> const Shape& { return x.shape(); }, t);
}
inline bool is_int64(const AnyTensor& t) { return std::holds_alternative<Tensor<std::int64_t>>(t); }
/// "float32" or "int64", for messages.
inline const char* dtype_str(const AnyTensor& t) { return is_int64(t) ? "int64" : "float32"; }

/// The tensor as element type T (float or int64_t); a copy when it converts,
/// the same storage when it does not.
template <class T>
Tensor<T> as_tensor(const AnyTensor& t) {
  if (const auto* p = std::get_if<Tensor<T>>(&t)) return *p;
  return std::visit([](const auto& x) { return cast<T>(x); }, t);
}

/// A contiguous copy that owns its storage.
inline AnyTensor clone(const AnyTensor& t) {
  return std::visit([](const auto& x) -> AnyTensor { return x.clone(); }, t);
}

/// Copies src into dst's memory (shapes must agree), converting the element
/// type as torch's copy_ does. dst keeps its storage, so handles to it see the new values.
inline void copy_into(AnyTensor& dst, const AnyTensor& src) {
  std::visit([&](auto& d) {
    using T = typename std::decay_t<decltype(d)>::value_type;
    d.copy_from(as_tensor<T>(src));
  }, dst);
}

/// An ordered list of named tensors with lookup by name. Names are unique.
class TensorDict {
 public:
  using Item = std::pair<std::string, AnyTensor>;

  /// Appends `name`; throws when the name is already present.
  void insert(std::string name, AnyTensor t) {
    FREQCAP_CHECK(index_.count(name) == 0, "TensorDict: tensor '", name, "' inserted twice");
    index_.emplace(name, items_.size());
    items_.emplace_back(std::move(name), std::move(t));
  }
  /// Inserts or replaces `name` (a new name goes last).
  void set(const std::string& name, AnyTensor t) {
    const auto it = index_.find(name);
    if (it == index_.end()) insert(name, std::move(t));
    else items_[it->second].second = std::move(t);
  }
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  const AnyTensor& at(const std::string& name) const {
    const auto it = index_.find(name);
    FREQCAP_CHECK(it != index_.end(), "TensorDict: no tensor named '", name, "'");
    return items_[it->second].second;
  }
  /// The tensor `name` as element type T (float or int64_t).
  template <class T>
  Tensor<T> get(const std::string& name) const {
    return as_tensor<T>(at(name));
  }
  /// Removes `name` if present (keeps the order of the rest).
  void erase(const std::string& name) {
    const auto it = index_.find(name);
    if (it == index_.end()) return;
    items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(it->second));
    index_.clear();
    for (std::size_t i = 0; i < items_.size(); ++i) index_.emplace(items_[i].first, i);
  }

  std::vector<std::string> keys() const {
    std::vector<std::string> out;
    out.reserve(items_.size());
    for (const auto& it : items_) out.push_back(it.first);
    return out;
  }
  std::size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  const std::vector<Item>& items() const { return items_; }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }

 private:
  std::vector<Item> items_;
  std::unordered_map<std::string, std::size_t> index_;
};

/// A module's state dict: parameters and persistent buffers by dotted name.
using StateDict = TensorDict;

}  // namespace freqcap::nn
