// Pooling and reshaping modules with PyTorch's semantics: MaxPool2d,
// AvgPool2d (kernel, stride defaulting to the kernel, padding, ceil_mode,
// count_include_pad), AdaptiveAvgPool2d and Flatten (start_dim 1 .. end_dim -1).
#pragma once

#include <cstdint>
#include <optional>

#include "freqcap/autograd/ops_pool.hpp"
#include "freqcap/autograd/ops_shape.hpp"
#include "freqcap/nn/conv.hpp"
#include "freqcap/nn/module.hpp"

namespace freqcap::nn {

/// `Pool2dOptions(3).stride(2).padding(1)`; an unset stride is the kernel size.
struct Pool2dOptions {
  Pool2dOptions(Size2 kernel_size) : kernel_size_(kernel_size) {}  // NOLINT
  FREQCAP_OPTION(Size2, kernel_size);
  FREQCAP_OPTION(std::optional<Size2>, stride);
  FREQCAP_OPTION(Size2, padding) = 0;
  FREQCAP_OPTION(Size2, dilation) = 1;
  FREQCAP_OPTION(bool, ceil_mode) = false;
  FREQCAP_OPTION(bool, count_include_pad) = true;  ///< AvgPool2d only

  Pool2dParams params() const {
    Pool2dParams p;
    p.kernel_h = kernel_size_.h;
    p.kernel_w = kernel_size_.w;
    p.stride_h = stride_ ? stride_->h : kernel_size_.h;
    p.stride_w = stride_ ? stride_->w : kernel_size_.w;
    p.padding_h = padding_.h;
    p.padding_w = padding_.w;
    p.dilation_h = dilation_.h;
    p.dilation_w = dilation_.w;
    p.ceil_mode = ceil_mode_;
    p.count_include_pad = count_include_pad_;
    return p;
  }
};

/// x [N, C, H, W] -> [N, C, Ho, Wo], the maximum of each window.
class MaxPool2d : public UnaryModule {
 public:
  explicit MaxPool2d(const Pool2dOptions& options) : UnaryModule("MaxPool2d"), options_(options) {}
  Var<float> forward(const Var<float>& x) override { return max_pool2d(x, options_.params()); }
  const Pool2dOptions& options() const { return options_; }

 private:
  Pool2dOptions options_;
};

/// x [N, C, H, W] -> [N, C, Ho, Wo], the mean of each window.
class AvgPool2d : public UnaryModule {
 public:
  explicit AvgPool2d(const Pool2dOptions& options) : UnaryModule("AvgPool2d"), options_(options) {
    FREQCAP_CHECK(options.dilation().h == 1 && options.dilation().w == 1, "AvgPool2d: dilation must be 1");
  }
  Var<float> forward(const Var<float>& x) override { return avg_pool2d(x, options_.params()); }
  const Pool2dOptions& options() const { return options_; }

 private:
  Pool2dOptions options_;
};

/// x [N, C, H, W] -> [N, C, out_h, out_w] (PyTorch's adaptive bins).
class AdaptiveAvgPool2d : public UnaryModule {
 public:
  explicit AdaptiveAvgPool2d(Size2 output_size) : UnaryModule("AdaptiveAvgPool2d"), size_(output_size) {}
  Var<float> forward(const Var<float>& x) override { return adaptive_avg_pool2d(x, size_.h, size_.w); }
  Size2 output_size() const { return size_; }

 private:
  Size2 size_;
};

/// Merges dimensions start_dim..end_dim (inclusive, negative from the end):
/// [N, C, H, W] -> [N, C*H*W] with the defaults.
class Flatten : public UnaryModule {
 public:
  explicit Flatten(std::int64_t start_dim = 1, std::int64_t end_dim = -1)
      : UnaryModule("Flatten"), start_(start_dim), end_(end_dim) {}
  Var<float> forward(const Var<float>& x) override {
    if (x.ndim() == 0) return reshape(x, Shape{1});
    const auto s = static_cast<std::int64_t>(normalize_axis(start_, x.ndim()));
    const auto e = static_cast<std::int64_t>(normalize_axis(end_, x.ndim()));
    FREQCAP_CHECK(s <= e, "Flatten: start_dim ", start_, " comes after end_dim ", end_, " for input ",
                  shape_str(x.shape()));
    Shape out(x.shape().begin(), x.shape().begin() + s);
    std::int64_t merged = 1;
    for (std::int64_t i = s; i <= e; ++i) merged *= x.shape()[static_cast<std::size_t>(i)];
    out.push_back(merged);
    out.insert(out.end(), x.shape().begin() + e + 1, x.shape().end());
    return reshape(x, out);
  }

 private:
  std::int64_t start_, end_;
};

}  // namespace freqcap::nn
