// Image preprocessing for the backbones, with torchvision's semantics:
// bilinear resize (antialiased when shrinking, exactly as
// torch.nn.functional.interpolate(mode="bilinear", antialias=True,
// align_corners=False), which is what torchvision's Resize(antialias=True)
// and PIL do), Resize(int)'s shorter-side rule, CenterCrop's offsets, and
// per-channel mean/std normalisation (ImageNet's by default). Images are
// float tensors [C, H, W] or batches [N, C, H, W].
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "freqcap/core/tensor.hpp"

namespace freqcap {

inline constexpr std::array<float, 3> imagenet_mean = {0.485f, 0.456f, 0.406f};
inline constexpr std::array<float, 3> imagenet_std = {0.229f, 0.224f, 0.225f};

namespace detail {
// Source window and normalised triangle-filter weights of every output index
// along one axis (ref: ATen's _compute_indices_min_size_weights_aa).
struct AxisWeights {
  std::vector<std::int64_t> start, size;
  std::vector<float> w;  // out * max_size weights
  std::int64_t max_size = 0;
};

inline AxisWeights bilinear_weights(std::int64_t in, std::int64_t out, bool antialias) {
  AxisWeights a;
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  const bool aa = antialias && scale > 1.0;
  const double support = aa ? scale : 1.0;
  const double invscale = aa ? 1.0 / scale : 1.0;
  a.max_size = static_cast<std::int64_t>(std::ceil(support)) * 2 + 1;
  a.start.resize(out);
  a.size.resize(out);
  a.w.assign(static_cast<std::size_t>(out * a.max_size), 0.0f);
  for (std::int64_t i = 0; i < out; ++i) {
    const double center = scale * (static_cast<double>(i) + 0.5);
    if (!aa) {
      // Plain bilinear (align_corners=False): source clamped at 0, two taps.
      const double src = std::max(center - 0.5, 0.0);
      const std::int64_t i0 = std::min(static_cast<std::int64_t>(src), in - 1);
      const std::int64_t i1 = std::min(i0 + 1, in - 1);
      const double l1 = src - static_cast<double>(i0);
      a.start[i] = i0;
      a.size[i] = i1 == i0 ? 1 : 2;
      a.w[i * a.max_size] = static_cast<float>(i1 == i0 ? 1.0 : 1.0 - l1);
      if (i1 != i0) a.w[i * a.max_size + 1] = static_cast<float>(l1);
      continue;
    }
    const std::int64_t xmin = std::max<std::int64_t>(static_cast<std::int64_t>(center - support + 0.5), 0);
    const std::int64_t xsize = std::min<std::int64_t>(static_cast<std::int64_t>(center + support + 0.5), in) - xmin;
    double total = 0;
    std::vector<double> w(static_cast<std::size_t>(xsize));
    for (std::int64_t j = 0; j < xsize; ++j) {
      const double t = std::abs((static_cast<double>(j + xmin) - center + 0.5) * invscale);
      w[j] = t < 1.0 ? 1.0 - t : 0.0;
      total += w[j];
    }
    a.start[i] = xmin;
    a.size[i] = xsize;
    for (std::int64_t j = 0; j < xsize; ++j)
      a.w[i * a.max_size + j] = static_cast<float>(total != 0.0 ? w[j] / total : w[j]);
  }
  return a;
}
}  // namespace detail

/// Bilinear resize of img [C, H, W] or [N, C, H, W] to out_h x out_w
/// (align_corners=False). With antialias, an axis that shrinks uses a
/// triangle filter widened by the scale, as torch's interpolate(antialias=True).
inline Tensor<float> resize_bilinear(const Tensor<float>& img, std::int64_t out_h, std::int64_t out_w,
                                     bool antialias = true) {
  FREQCAP_CHECK(img.ndim() == 3 || img.ndim() == 4, "resize_bilinear: expected [C, H, W] or [N, C, H, W], got ",
                shape_str(img.shape()));
  FREQCAP_CHECK(out_h > 0 && out_w > 0, "resize_bilinear: output size ", out_h, "x", out_w, " must be positive");
  const std::int64_t H = img.dim(-2), W = img.dim(-1);
  FREQCAP_CHECK(H > 0 && W > 0, "resize_bilinear: empty image ", shape_str(img.shape()));
  const std::int64_t planes = img.numel() / (H * W);
  const Tensor<float> x = img.contiguous();
  const auto wx = detail::bilinear_weights(W, out_w, antialias);
  const auto wy = detail::bilinear_weights(H, out_h, antialias);
  Shape out_shape = img.shape();
  out_shape[out_shape.size() - 2] = out_h;
  out_shape[out_shape.size() - 1] = out_w;
  Tensor<float> out = Tensor<float>::empty(out_shape);
  std::vector<float> tmp(static_cast<std::size_t>(H * out_w));
  for (std::int64_t p = 0; p < planes; ++p) {
    const float* src = x.data() + p * H * W;
    for (std::int64_t r = 0; r < H; ++r)  // width first, as ATen does
      for (std::int64_t o = 0; o < out_w; ++o) {
        const float* wt = &wx.w[o * wx.max_size];
        const float* s = src + r * W + wx.start[o];
        float acc = 0;
        for (std::int64_t j = 0; j < wx.size[o]; ++j) acc += wt[j] * s[j];
        tmp[r * out_w + o] = acc;
      }
    float* dst = out.data() + p * out_h * out_w;
    for (std::int64_t o = 0; o < out_h; ++o) {
      const float* wt = &wy.w[o * wy.max_size];
      for (std::int64_t c = 0; c < out_w; ++c) {
        float acc = 0;
        for (std::int64_t j = 0; j < wy.size[o]; ++j) acc += wt[j] * tmp[(wy.start[o] + j) * out_w + c];
        dst[o * out_w + c] = acc;
      }
    }
  }
  return out;
}

/// torchvision's Resize(size) with one int: the shorter side becomes `size`,
/// the longer one int(size * long / short).
inline Tensor<float> resize_shorter(const Tensor<float>& img, std::int64_t size, bool antialias = true) {
  FREQCAP_CHECK(img.ndim() >= 2 && size > 0, "resize_shorter: bad image ", shape_str(img.shape()), " or size ", size);
  const std::int64_t H = img.dim(-2), W = img.dim(-1);
  if (W <= H) return resize_bilinear(img, size * H / W, size, antialias);
  return resize_bilinear(img, size, size * W / H, antialias);
}

/// torchvision's CenterCrop((h, w)): top = round((H - h) / 2), left likewise
/// (round half to even, as Python's round). The crop must fit.
inline Tensor<float> center_crop(const Tensor<float>& img, std::int64_t h, std::int64_t w) {
  FREQCAP_CHECK(img.ndim() >= 2, "center_crop: bad image ", shape_str(img.shape()));
  const std::int64_t H = img.dim(-2), W = img.dim(-1);
  FREQCAP_CHECK(h > 0 && w > 0 && h <= H && w <= W, "center_crop: crop ", h, "x", w, " does not fit image ",
                shape_str(img.shape()));
  const auto top = static_cast<std::int64_t>(std::nearbyint((H - h) / 2.0));
  const auto left = static_cast<std::int64_t>(std::nearbyint((W - w) / 2.0));
  const auto nd = static_cast<std::int64_t>(img.ndim());
  return img.slice(nd - 2, top, top + h).slice(nd - 1, left, left + w).contiguous();
}

/// (img - mean[c]) / std[c] per channel of [C, H, W] or [N, C, H, W].
inline Tensor<float> normalize(const Tensor<float>& img, const std::vector<float>& mean, const std::vector<float>& stdev) {
  FREQCAP_CHECK(img.ndim() == 3 || img.ndim() == 4, "normalize: expected [C, H, W] or [N, C, H, W], got ",
                shape_str(img.shape()));
  const std::int64_t C = img.dim(-3), hw = img.dim(-1) * img.dim(-2);
  FREQCAP_CHECK(static_cast<std::int64_t>(mean.size()) == C && static_cast<std::int64_t>(stdev.size()) == C,
                "normalize: ", mean.size(), " means and ", stdev.size(), " stds for ", C, " channels");
  Tensor<float> out = img.contiguous().clone();
  float* p = out.data();
  for (std::int64_t q = 0; q < img.numel() / hw; ++q) {
    const float m = mean[q % C], inv = 1.0f / stdev[q % C];
    for (std::int64_t i = 0; i < hw; ++i) p[q * hw + i] = (p[q * hw + i] - m) * inv;
  }
  return out;
}

/// Normalises with ImageNet's mean and std.
inline Tensor<float> imagenet_normalize(const Tensor<float>& img) {
  return normalize(img, {imagenet_mean.begin(), imagenet_mean.end()}, {imagenet_std.begin(), imagenet_std.end()});
}

/// One preprocessing recipe: optional shorter-side resize, or a resize to a
/// fixed H x W, optional centre crop, then ImageNet normalisation.
struct Preprocess {
  std::optional<std::int64_t> resize_shorter;      ///< torchvision Resize(int)
  std::optional<std::array<std::int64_t, 2>> size;  ///< Resize((h, w)); wins over resize_shorter
  std::optional<std::array<std::int64_t, 2>> crop;  ///< CenterCrop((h, w))
  bool antialias = true;
  bool normalize = true;

  /// img [3, H, W] in [0, 1] -> the network input [3, h, w].
  Tensor<float> operator()(const Tensor<float>& img) const {
    Tensor<float> x = img;
    if (size) x = resize_bilinear(x, (*size)[0], (*size)[1], antialias);
    else if (resize_shorter) x = freqcap::resize_shorter(x, *resize_shorter, antialias);
    if (crop) x = center_crop(x, (*crop)[0], (*crop)[1]);
    return normalize ? imagenet_normalize(x) : x.contiguous();
  }
};

/// torchvision's evaluation recipe for a backbone's ImageNet weights (resize
/// the shorter side to 256 (EfficientNet-B1: 255), centre crop 224 (B1: 240)),
/// with bilinear resizing throughout.
inline Preprocess imagenet_eval_preprocess(const std::string& backbone) {
  Preprocess p;
  const bool b1 = backbone.rfind("efficientnet_b1", 0) == 0;
  p.resize_shorter = b1 ? 255 : 256;
  p.crop = b1 ? std::array<std::int64_t, 2>{240, 240} : std::array<std::int64_t, 2>{224, 224};
  return p;
}

/// The seed paper's recipe: resize to size x size (299 by default), normalise.
inline Preprocess fixed_size_preprocess(std::int64_t size = 299) {
  Preprocess p;
  p.size = std::array<std::int64_t, 2>{size, size};
  return p;
}

}  // namespace freqcap
