// Zigzag ranking of the coefficients of an N-d DCT tensor, as Frequency
// Regularization defines it: coefficients are ranked by index sum
// i0 + i1 + ... (low frequencies first), ties broken by smaller i0, then
// smaller i1, and so on. ZigzagMask::keep_first(shape, K) keeps ranks 0..K-1.
// Nothing of size N is stored: a mask is (shape, K) plus the first excluded
// index, found by counting index tuples per sum level (a small DP), so
// membership, rank, the K-th index and the bounding box of the kept set are
// cheap even for a 4096 x 9216 weight.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <vector>

#include "freqcap/core/tensor.hpp"

namespace freqcap::dct {

using Index = std::vector<std::int64_t>;

namespace detail {

/// counts[a][s] = number of index tuples (i_a, ..., i_{d-1}) within the shape
/// whose sum is s; counts[d] = {1}.
inline std::vector<std::vector<std::int64_t>> level_counts(const Shape& shape) {
  const std::size_t d = shape.size();
  std::vector<std::vector<std::int64_t>> c(d + 1);
  c[d] = {1};
  for (std::size_t a = d; a-- > 0;) {
    const auto& nxt = c[a + 1];
    const std::int64_t n = shape[a];
    const std::size_t len = nxt.size() + std::size_t(n) - 1;
    std::vector<std::int64_t> prefix(nxt.size() + 1, 0);
    for (std::size_t s = 0; s < nxt.size(); ++s) prefix[s + 1] = prefix[s] + nxt[s];
    c[a].assign(len, 0);
    for (std::size_t s = 0; s < len; ++s) {
      // sum over j in [0, n-1] of nxt[s - j]
      const std::int64_t hi = std::min<std::int64_t>(std::int64_t(s), std::int64_t(nxt.size()) - 1);
      const std::int64_t lo = std::max<std::int64_t>(0, std::int64_t(s) - (n - 1));
      c[a][s] = hi >= lo ? prefix[std::size_t(hi) + 1] - prefix[std::size_t(lo)] : 0;
    }
  }
  return c;
}

inline std::int64_t count_at(const std::vector<std::int64_t>& c, std::int64_t s) {
  return s >= 0 && s < std::int64_t(c.size()) ? c[std::size_t(s)] : 0;
}

}  // namespace detail

/// Rank of index `idx` in the zigzag order of `shape` (0 = the DC coefficient).
inline std::int64_t zigzag_rank(const Shape& shape, const Index& idx) {
  FREQCAP_CHECK(idx.size() == shape.size(), "zigzag_rank: index of ", idx.size(), " values for shape ",
                shape_str(shape));
  const auto c = detail::level_counts(shape);
  std::int64_t s = 0;
  for (std::size_t a = 0; a < idx.size(); ++a) {
    FREQCAP_CHECK(idx[a] >= 0 && idx[a] < shape[a], "zigzag_rank: index out of range for shape ", shape_str(shape));
    s += idx[a];
  }
  std::int64_t rank = 0;
  for (std::int64_t l = 0; l < s; ++l) rank += detail::count_at(c[0], l);
  std::int64_t rem = s;
  for (std::size_t a = 0; a < idx.size(); ++a) {
    for (std::int64_t j = 0; j < idx[a]; ++j) rank += detail::count_at(c[a + 1], rem - j);
    rem -= idx[a];
  }
  return rank;
}

/// The index of rank `rank` in the zigzag order of `shape`.
inline Index zigzag_index(const Shape& shape, std::int64_t rank) {
  const auto c = detail::level_counts(shape);
  const std::int64_t n = numel_of(shape);
  FREQCAP_CHECK(rank >= 0 && rank < n, "zigzag_index: rank ", rank, " out of range for shape ", shape_str(shape));
  std::int64_t s = 0;
  while (rank >= detail::count_at(c[0], s)) rank -= detail::count_at(c[0], s++);
  Index idx(shape.size());
  for (std::size_t a = 0; a < shape.size(); ++a) {
    std::int64_t j = 0;
    for (;; ++j) {
      const std::int64_t cnt = detail::count_at(c[a + 1], s - j);
      if (rank < cnt) break;
      rank -= cnt;
    }
    idx[a] = j;
    s -= j;
  }
  return idx;
}

/// Calls fn(flat_offset) for the first `count` coefficients of `shape` in
/// zigzag order (row-major flat offsets). O(count * ndim).
template <class F>
void for_each_in_zigzag_order(const Shape& shape, std::int64_t count, F&& fn) {
  const std::size_t d = shape.size();
  const Strides st = contiguous_strides(shape);
  std::vector<std::int64_t> rest_max(d + 1, 0);  // largest sum of axes a.. within the shape
  for (std::size_t a = d; a-- > 0;) rest_max[a] = rest_max[a + 1] + shape[a] - 1;
  std::int64_t done = 0;
  // Lexicographic enumeration of the tuples of one sum level, pruned so every branch yields.
  std::function<void(std::size_t, std::int64_t, std::int64_t)> rec = [&](std::size_t a, std::int64_t rem,
                                                                          std::int64_t off) {
    if (done >= count) return;
    if (a == d) {
      fn(off);
      ++done;
      return;
    }
    const std::int64_t lo = std::max<std::int64_t>(0, rem - rest_max[a + 1]);
    const std::int64_t hi = std::min<std::int64_t>(shape[a] - 1, rem);
    for (std::int64_t j = lo; j <= hi && done < count; ++j) rec(a + 1, rem - j, off + j * st[a]);
  };
  if (d == 0) {
    if (count > 0) fn(0);
    return;
  }
  for (std::int64_t s = 0; s <= rest_max[0] && done < count; ++s) rec(0, s, 0);
}

/// The keep-first-K mask of a coefficient tensor: ranks 0..K-1 kept.
class ZigzagMask {
 public:
  ZigzagMask() = default;

  /// Keeps the K lowest-ranked coefficients of `shape` (1 <= K <= numel).
  static ZigzagMask keep_first(const Shape& shape, std::int64_t k) {
    ZigzagMask m;
    m.shape_ = shape;
    m.numel_ = numel_of(shape);
    FREQCAP_CHECK(k >= 0 && k <= m.numel_, "ZigzagMask::keep_first: K = ", k, " for shape ", shape_str(shape),
                  " (", m.numel_, " coefficients)");
    m.kept_ = k;
    m.box_ = shape;
    if (k < m.numel_) {
      m.first_excluded_ = zigzag_index(shape, k);
      std::int64_t s = 0;
      for (auto v : m.first_excluded_) s += v;
      m.level_ = s;
      // Kept: every index of sum < s, plus a prefix of level s.
      const bool partial = k > 0 && zigzag_rank(shape, zigzag_first_of_level(shape, s)) < k;
      const std::int64_t reach = partial ? s : s - 1;  // largest index sum that is kept
      for (std::size_t a = 0; a < shape.size(); ++a) m.box_[a] = std::min<std::int64_t>(shape[a], std::max<std::int64_t>(reach + 1, 0));
    }
    return m;
  }

  const Shape& shape() const { return shape_; }
  /// K, the number of kept coefficients.
  std::int64_t kept() const { return kept_; }
  std::int64_t numel() const { return numel_; }
  bool full() const { return kept_ == numel_; }
  /// Per-axis extent of a box [0, box[a]) holding every kept coefficient.
  const Shape& box() const { return box_; }

  /// Whether the coefficient at `idx` is kept.
  bool contains(const Index& idx) const {
    if (full()) return true;
    std::int64_t s = 0;
    for (auto v : idx) s += v;
    if (s != level_) return s < level_;
    return std::lexicographical_compare(idx.begin(), idx.end(), first_excluded_.begin(), first_excluded_.end());
  }

  /// Calls fn(full_offset, box_offset, length) for every run of kept
  /// coefficients along the last axis that is not 1 (row-major offsets into
  /// shape() and into box()); runs come in row-major order. O(rows of the box
  /// + K). Trailing axes of size 1 (a 1x1 convolution's [O, I, 1, 1]) change
  /// neither offsets nor index sums, so runs go along the axis before them
  /// instead of being one coefficient each.
  template <class F>
  void for_each_kept_run(F&& fn) const {
    std::size_t d = shape_.size();
    if (kept_ == 0) return;
    if (d == 0) return fn(std::int64_t(0), std::int64_t(0), std::int64_t(1));
    while (d > 1 && shape_[d - 1] == 1) --d;
    const std::int64_t n_last = shape_[d - 1];
    const auto first_d = [d](const Shape& s) { return Shape(s.begin(), s.begin() + std::ptrdiff_t(d)); };
    const Strides sf = contiguous_strides(first_d(shape_)), sb = contiguous_strides(first_d(box_));
    Index pre(d - 1, 0);
    for (std::size_t a = 0; a + 1 < d; ++a)
      if (box_[a] == 0) return;
    for (;;) {
      std::int64_t p = 0, of = 0, ob = 0;
      for (std::size_t a = 0; a + 1 < d; ++a) p += pre[a], of += pre[a] * sf[a], ob += pre[a] * sb[a];
      std::int64_t len;
      if (full()) {
        len = n_last;
      } else {
        const std::int64_t room = level_ - p;  // last-axis indices j < room have sum < level
        len = std::clamp<std::int64_t>(room, 0, n_last);
        if (room >= 0 && room < n_last &&
            std::lexicographical_compare(pre.begin(), pre.end(), first_excluded_.begin(),
                                         first_excluded_.begin() + std::ptrdiff_t(d - 1)))
          ++len;  // (pre, room) is on the cut level and comes before the first excluded index
      }
      if (len > 0) fn(of, ob, len);
      std::size_t a = d - 1;
      for (; a-- > 0;) {
        if (++pre[a] < box_[a]) break;
        pre[a] = 0;
      }
      if (a == std::size_t(-1)) return;
    }
  }

  /// The mask as a 0/1 tensor of `shape`.
  template <class T>
  Tensor<T> to_tensor() const {
    Tensor<T> m(shape_, T(0));
    for_each_kept_run([&](std::int64_t of, std::int64_t, std::int64_t len) { std::fill_n(m.data() + of, len, T(1)); });
    return m;
  }

  /// Multiplies the kept coefficients of `c` (shape()) restricted to box()
  /// into a new contiguous [box] tensor; excluded ones become 0.
  template <class T>
  Tensor<T> masked_box(const Tensor<T>& c) const {
    FREQCAP_CHECK(c.shape() == shape_, "ZigzagMask: coefficients ", shape_str(c.shape()), " for a mask of ",
                  shape_str(shape_));
    const Tensor<T> cc = c.contiguous();
    Tensor<T> out(box_, T(0));
    for_each_kept_run([&](std::int64_t of, std::int64_t ob, std::int64_t len) {
      std::copy_n(cc.data() + of, len, out.data() + ob);
    });
    return out;
  }

  /// The inverse of masked_box: a zero tensor of shape() with the kept
  /// entries of `box` (shape box()) scattered into place.
  template <class T>
  Tensor<T> scatter_box(const Tensor<T>& box) const {
    FREQCAP_CHECK(box.shape() == box_, "ZigzagMask: box ", shape_str(box.shape()), " expected ", shape_str(box_));
    const Tensor<T> bc = box.contiguous();
    Tensor<T> out(shape_, T(0));
    for_each_kept_run([&](std::int64_t of, std::int64_t ob, std::int64_t len) {
      std::copy_n(bc.data() + ob, len, out.data() + of);
    });
    return out;
  }

  /// c * mask as a new contiguous tensor of shape().
  template <class T>
  Tensor<T> apply(const Tensor<T>& c) const {
    if (full()) return c.clone();
    FREQCAP_CHECK(c.shape() == shape_, "ZigzagMask: coefficients ", shape_str(c.shape()), " for a mask of ",
                  shape_str(shape_));
    const Tensor<T> cc = c.contiguous();
    Tensor<T> out(shape_, T(0));
    for_each_kept_run([&](std::int64_t of, std::int64_t, std::int64_t len) {
      std::copy_n(cc.data() + of, len, out.data() + of);
    });
    return out;
  }

  /// The kept coefficients of `c` in row-major (not rank) order: [K]. Cheap;
  /// for comparing two coefficient tensors under the same mask.
  template <class T>
  Tensor<T> gather_kept_rowmajor(const Tensor<T>& c) const {
    const Tensor<T> cc = c.contiguous();
    Tensor<T> out = Tensor<T>::empty({kept_});
    std::int64_t i = 0;
    for_each_kept_run([&](std::int64_t of, std::int64_t, std::int64_t len) {
      std::copy_n(cc.data() + of, len, out.data() + i);
      i += len;
    });
    return out;
  }

  /// The kept coefficients of `c` in rank order: [K].
  template <class T>
  Tensor<T> gather_kept(const Tensor<T>& c) const {
    const Tensor<T> cc = c.contiguous();
    Tensor<T> out = Tensor<T>::empty({kept_});
    std::int64_t i = 0;
    for_each_in_zigzag_order(shape_, kept_, [&](std::int64_t off) { out.data()[i++] = cc.data()[off]; });
    return out;
  }

  /// A zero tensor of shape() holding `kept` ([K], rank order) at the kept positions.
  template <class T>
  Tensor<T> scatter_kept(const Tensor<T>& kept) const {
    FREQCAP_CHECK(kept.numel() == kept_, "ZigzagMask: ", kept.numel(), " kept values for K = ", kept_);
    const Tensor<T> kc = kept.contiguous();
    Tensor<T> out(shape_, T(0));
    std::int64_t i = 0;
    for_each_in_zigzag_order(shape_, kept_, [&](std::int64_t off) { out.data()[off] = kc.data()[i++]; });
    return out;
  }

 private:
  static Index zigzag_first_of_level(const Shape& shape, std::int64_t s) {
    // Lexicographically smallest index of sum s: fill from the last axis.
    Index idx(shape.size(), 0);
    for (std::size_t a = shape.size(); a-- > 0 && s > 0;) {
      idx[a] = std::min<std::int64_t>(shape[a] - 1, s);
      s -= idx[a];
    }
    return idx;
  }

  Shape shape_;
  std::int64_t numel_ = 0;
  std::int64_t kept_ = 0;
  Index first_excluded_;
  std::int64_t level_ = 0;
  Shape box_;
};

}  // namespace freqcap::dct
