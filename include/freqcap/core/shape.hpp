// Shapes and strides: the small integer vectors every tensor carries, with the
// helpers that check and combine them (numel, contiguous strides, broadcasting,
// axis normalisation). Errors name the shapes involved.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "freqcap/core/error.hpp"

namespace freqcap {

using Shape = std::vector<std::int64_t>;
using Strides = std::vector<std::int64_t>;

/// "[2, 3, 4]"
inline std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(s[i]);
  }
  return out + "]";
}

/// Number of elements of a shape; the empty shape is a scalar (1 element).
inline std::int64_t numel_of(const Shape& s) {
  std::int64_t n = 1;
  for (auto d : s) {
    FREQCAP_CHECK(d >= 0, "negative dimension in shape ", shape_str(s));
    n *= d;
  }
  return n;
}

/// Row-major (C-order) strides, in elements.
inline Strides contiguous_strides(const Shape& s) {
  Strides st(s.size());
  std::int64_t acc = 1;
  for (std::size_t i = s.size(); i-- > 0;) {
    st[i] = acc;
    acc *= s[i] > 0 ? s[i] : 1;
  }
  return st;
}

/// Maps a possibly negative axis into [0, ndim); throws when out of range.
inline std::size_t normalize_axis(std::int64_t axis, std::size_t ndim) {
  const auto n = static_cast<std::int64_t>(ndim);
  FREQCAP_CHECK(axis >= -n && axis < n, "axis ", axis, " out of range for a tensor of ", ndim,
                " dimensions");
  return static_cast<std::size_t>(axis < 0 ? axis + n : axis);
}

/// NumPy broadcasting of two shapes; the error names both.
inline Shape broadcast_shapes(const Shape& a, const Shape& b) {
  const std::size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const std::int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    FREQCAP_CHECK(da == db || da == 1 || db == 1, "shapes ", shape_str(a), " and ", shape_str(b),
                  " cannot be broadcast together");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

/// Strides that read a tensor of shape `s` (strides `st`) as if it had the
/// broadcast shape `to`: broadcast dimensions get stride 0.
inline Strides broadcast_strides(const Shape& s, const Strides& st, const Shape& to) {
  Strides out(to.size(), 0);
  const std::size_t lead = to.size() - s.size();
  for (std::size_t i = 0; i < s.size(); ++i) out[lead + i] = s[i] == 1 ? 0 : st[i];
  return out;
}

}  // namespace freqcap
