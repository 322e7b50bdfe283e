// Tensor<T>: an N-d array over shared, 64-byte aligned storage (an xtensor
// `uvector`), with shape, strides, offset and a layout tag. Views (reshape of
// contiguous data, permute, transpose, slice, select, expand) share storage;
// clone() and contiguous() copy when they must. Element types: float, double,
// int32_t, int64_t, uint8_t, and the storage-only f16 / bf16.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <memory>
#include <new>
#include <numeric>
#include <vector>

#include <xtensor/xadapt.hpp>
#include <xtensor/xstorage.hpp>

#include "freqcap/core/error.hpp"
#include "freqcap/core/memory.hpp"
#include "freqcap/core/shape.hpp"

namespace freqcap {

/// Memory layout tag. Strides always say where elements are; the tag tells
/// kernels which blocked/channels-last fast paths a [N, C, H, W] tensor fits.
enum class Layout : std::uint8_t { strided, channels_last };

/// Allocator handing out 64-byte aligned blocks (cache line, one AVX-512
/// vector); large blocks as core/memory.hpp describes.
template <class T>
struct AlignedAllocator {
  using value_type = T;
  AlignedAllocator() = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(detail::allocate_block(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { detail::free_block(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const AlignedAllocator<U>&) const noexcept { return true; }
};

template <class T>
using Storage = xt::uvector<T, AlignedAllocator<T>>;

template <class T>
class Tensor {
 public:
  using value_type = T;

  /// An empty tensor of shape [0].
  Tensor() : Tensor(Shape{0}) {}

  /// A zero-filled contiguous tensor.
  explicit Tensor(Shape shape, T fill = T{})
      : storage_(std::make_shared<Storage<T>>(static_cast<std::size_t>(numel_of(shape)))),
        shape_(std::move(shape)),
        strides_(contiguous_strides(shape_)) {
    std::fill(storage_->begin(), storage_->end(), fill);
  }

  /// A contiguous tensor whose elements are left uninitialised, for outputs
  /// that are about to be overwritten in full (saves a memset per op).
  static Tensor empty(Shape shape) { return Tensor(std::move(shape), uninitialized_tag{}); }

  /// A contiguous tensor holding `values` (row-major); sizes must agree.
  static Tensor from_vector(Shape shape, const std::vector<T>& values) {
    FREQCAP_CHECK(static_cast<std::int64_t>(values.size()) == numel_of(shape), "from_vector: ",
                  values.size(), " values for shape ", shape_str(shape));
    Tensor t = empty(std::move(shape));
    std::copy(values.begin(), values.end(), t.data());
    return t;
  }
  static Tensor from(Shape shape, std::initializer_list<T> values) {
    return from_vector(std::move(shape), std::vector<T>(values));
  }
  static Tensor scalar(T v) { return Tensor(Shape{}, v); }

  // --- shape -------------------------------------------------------------
  const Shape& shape() const { return shape_; }
  const Strides& strides() const { return strides_; }
  std::size_t ndim() const { return shape_.size(); }
  std::int64_t dim(std::int64_t axis) const { return shape_[normalize_axis(axis, ndim())]; }
  std::int64_t numel() const { return numel_of(shape_); }
  std::int64_t offset() const { return offset_; }
  Layout layout() const { return layout_; }
  void set_layout(Layout l) { layout_ = l; }
  bool defined() const { return storage_ != nullptr; }

  bool is_contiguous() const {
    std::int64_t acc = 1;
    for (std::size_t i = ndim(); i-- > 0;) {
      if (shape_[i] != 1 && strides_[i] != acc) return false;
      acc *= shape_[i];
    }
    return true;
  }

  // --- data --------------------------------------------------------------
  /// Pointer to the first element (storage start + offset).
  T* data() { return storage_->data() + offset_; }
  const T* data() const { return storage_->data() + offset_; }
  /// True when both tensors view the same storage block.
  bool shares_storage(const Tensor& o) const { return storage_ == o.storage_; }

  /// Element access by a full index; negative indices are not accepted.
  template <class... I>
  T& operator()(I... idx) {
    return data()[flat_index({static_cast<std::int64_t>(idx)...})];
  }
  template <class... I>
  const T& operator()(I... idx) const {
    return data()[flat_index({static_cast<std::int64_t>(idx)...})];
  }
  T& at(const std::vector<std::int64_t>& idx) { return data()[flat_index(idx)]; }
  const T& at(const std::vector<std::int64_t>& idx) const { return data()[flat_index(idx)]; }

  /// The value of a one-element tensor.
  T item() const {
    FREQCAP_CHECK(numel() == 1, "item() needs one element, tensor has shape ", shape_str(shape_));
    return *data();
  }

  /// All elements in row-major order.
  std::vector<T> to_vector() const {
    std::vector<T> out(static_cast<std::size_t>(numel()));
    std::size_t k = 0;
    for_each_offset([&](std::int64_t off) { out[k++] = data()[off]; });
    return out;
  }

  /// Calls fn(offset) for every element in row-major order (offset from data()).
  template <class F>
  void for_each_offset(F&& fn) const {
    const std::int64_t n = numel();
    if (n == 0) return;
    if (is_contiguous()) {
      for (std::int64_t i = 0; i < n; ++i) fn(i);
      return;
    }
    std::vector<std::int64_t> idx(ndim(), 0);
    std::int64_t off = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      fn(off);
      for (std::size_t d = ndim(); d-- > 0;) {
        if (++idx[d] < shape_[d]) {
          off += strides_[d];
          break;
        }
        off -= strides_[d] * (shape_[d] - 1);
        idx[d] = 0;
      }
    }
  }

  // --- copies ------------------------------------------------------------
  /// A contiguous copy that owns its storage.
  Tensor clone() const {
    Tensor out = empty(shape_);
    std::size_t k = 0;
    T* dst = out.data();
    for_each_offset([&](std::int64_t off) { dst[k++] = data()[off]; });
    out.layout_ = layout_;
    return out;
  }
  /// This tensor when already contiguous (shares storage), else a copy.
  Tensor contiguous() const { return is_contiguous() ? *this : clone(); }

  /// Copies src's elements into this tensor's (possibly strided) memory.
  void copy_from(const Tensor& src) {
    FREQCAP_CHECK(src.shape_ == shape_, "copy_from: shape ", shape_str(src.shape_), " into ",
                  shape_str(shape_));
    const std::vector<T> vals = src.to_vector();
    std::size_t k = 0;
    T* dst = data();
    for_each_offset([&](std::int64_t off) { dst[off] = vals[k++]; });
  }
  void fill(T v) {
    T* dst = data();
    for_each_offset([&](std::int64_t off) { dst[off] = v; });
  }

  // --- views -------------------------------------------------------------
  /// Same elements in a new shape; one dimension may be -1. A view when this
  /// tensor is contiguous, a copy otherwise.
  Tensor reshape(Shape s) const {
    std::int64_t known = 1, infer = -1;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == -1) {
        FREQCAP_CHECK(infer < 0, "reshape: more than one -1 in ", shape_str(s));
        infer = static_cast<std::int64_t>(i);
      } else {
        known *= s[i];
      }
    }
    if (infer >= 0) {
      FREQCAP_CHECK(known != 0 && numel() % known == 0, "reshape: cannot reshape ",
                    shape_str(shape_), " into ", shape_str(s));
      s[static_cast<std::size_t>(infer)] = numel() / known;
    }
    FREQCAP_CHECK(numel_of(s) == numel(), "reshape: cannot reshape ", shape_str(shape_), " into ",
                  shape_str(s));
    Tensor out = contiguous();
    out.shape_ = std::move(s);
    out.strides_ = contiguous_strides(out.shape_);
    out.layout_ = Layout::strided;
    return out;
  }

  /// Reorders dimensions: out.shape[i] = shape[perm[i]]. A view.
  Tensor permute(const std::vector<std::int64_t>& perm) const {
    FREQCAP_CHECK(perm.size() == ndim(), "permute: ", perm.size(), " axes for shape ",
                  shape_str(shape_));
    std::vector<bool> seen(ndim(), false);
    Tensor out = *this;
    for (std::size_t i = 0; i < perm.size(); ++i) {
      const auto a = normalize_axis(perm[i], ndim());
      FREQCAP_CHECK(!seen[a], "permute: axis ", perm[i], " repeated");
      seen[a] = true;
      out.shape_[i] = shape_[a];
      out.strides_[i] = strides_[a];
    }
    out.layout_ = Layout::strided;
    return out;
  }

  /// Swaps two dimensions. A view.
  Tensor transpose(std::int64_t a, std::int64_t b) const {
    std::vector<std::int64_t> perm(ndim());
    std::iota(perm.begin(), perm.end(), 0);
    std::swap(perm[normalize_axis(a, ndim())], perm[normalize_axis(b, ndim())]);
    return permute(perm);
  }

  /// Elements start, start+step, ... < stop along `axis` (PyTorch-style
  /// clamping of start/stop, negative values count from the end). A view.
  Tensor slice(std::int64_t axis, std::int64_t start, std::int64_t stop, std::int64_t step = 1) const {
    const auto a = normalize_axis(axis, ndim());
    FREQCAP_CHECK(step > 0, "slice: step must be positive, got ", step);
    const std::int64_t n = shape_[a];
    if (start < 0) start += n;
    if (stop < 0) stop += n;
    start = std::clamp<std::int64_t>(start, 0, n);
    stop = std::clamp<std::int64_t>(stop, start, n);
    Tensor out = *this;
    out.offset_ += start * strides_[a];
    out.shape_[a] = (stop - start + step - 1) / step;
    out.strides_[a] = strides_[a] * step;
    return out;
  }

  /// The sub-tensor at `index` along `axis`, with that axis removed. A view.
  Tensor select(std::int64_t axis, std::int64_t index) const {
    const auto a = normalize_axis(axis, ndim());
    FREQCAP_CHECK(index >= -shape_[a] && index < shape_[a], "select: index ", index,
                  " out of range for axis ", axis, " of shape ", shape_str(shape_));
    if (index < 0) index += shape_[a];
    Tensor out = *this;
    out.offset_ += index * strides_[a];
    out.shape_.erase(out.shape_.begin() + static_cast<std::ptrdiff_t>(a));
    out.strides_.erase(out.strides_.begin() + static_cast<std::ptrdiff_t>(a));
    return out;
  }

  /// Inserts a dimension of size 1 at `axis` (in [-ndim-1, ndim]). A view.
  Tensor unsqueeze(std::int64_t axis) const {
    const auto a = normalize_axis(axis, ndim() + 1);
    Tensor out = *this;
    const std::int64_t st = a < ndim() ? strides_[a] * shape_[a] : 1;
    out.shape_.insert(out.shape_.begin() + static_cast<std::ptrdiff_t>(a), 1);
    out.strides_.insert(out.strides_.begin() + static_cast<std::ptrdiff_t>(a), st);
    return out;
  }

  /// Reads this tensor as the broadcast shape `to` (stride 0 where expanded).
  /// A read-only view: writing through it writes shared elements.
  Tensor expand(const Shape& to) const {
    FREQCAP_CHECK(broadcast_shapes(shape_, to) == to, "expand: shape ", shape_str(shape_),
                  " cannot be expanded to ", shape_str(to));
    Tensor out = *this;
    out.strides_ = broadcast_strides(shape_, strides_, to);
    out.shape_ = to;
    return out;
  }

  /// An xtensor view over the same memory (no copy), for xtensor algorithms.
  auto xt() {
    std::vector<std::size_t> sh(shape_.begin(), shape_.end());
    std::vector<std::ptrdiff_t> st(strides_.begin(), strides_.end());
    return xt::adapt(data(), static_cast<std::size_t>(std::max<std::int64_t>(span(), 1)),
                     xt::no_ownership(), sh, st);
  }

 private:
  struct uninitialized_tag {};
  Tensor(Shape shape, uninitialized_tag)
      : storage_(std::make_shared<Storage<T>>(static_cast<std::size_t>(numel_of(shape)))),
        shape_(std::move(shape)),
        strides_(contiguous_strides(shape_)) {}

  // Number of storage elements between the first and one past the last element.
  std::int64_t span() const {
    std::int64_t s = 1;
    for (std::size_t i = 0; i < ndim(); ++i) {
      if (shape_[i] == 0) return 0;
      s += (shape_[i] - 1) * strides_[i];
    }
    return s;
  }

  std::int64_t flat_index(const std::vector<std::int64_t>& idx) const {
    FREQCAP_CHECK(idx.size() == ndim(), "index of ", idx.size(), " values into a tensor of shape ",
                  shape_str(shape_));
    std::int64_t off = 0;
    for (std::size_t i = 0; i < idx.size(); ++i) {
      FREQCAP_CHECK(idx[i] >= 0 && idx[i] < shape_[i], "index ", idx[i], " out of range for axis ",
                    i, " of shape ", shape_str(shape_));
      off += idx[i] * strides_[i];
    }
    return off;
  }

  std::shared_ptr<Storage<T>> storage_;
  Shape shape_;
  Strides strides_;
  std::int64_t offset_ = 0;
  Layout layout_ = Layout::strided;
};

}  // namespace freqcap
