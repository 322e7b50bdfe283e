// Fashion Scenes v1 rendering (see /work/shared/SCENES.md and docs/scenes.md):
// the colour table, the class words, the scene description (layout + items),
// bilinear scaling of a 28x28 Fashion-MNIST item, tinting and pasting onto a
// black 128x128 RGB canvas, and a uint8 PNG writer. All pixel arithmetic is
// exact integer arithmetic, so a scene renders to the same bytes on every
// platform and compiler (no floating-point rounding or FMA contraction).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string_view>
#include <vector>

#include "freqcap/core/error.hpp"
#include "freqcap/core/tensor.hpp"
#include "freqcap/data/fashion_mnist.hpp"
#include "freqcap/data/image.hpp"
#include "freqcap/io/atomic_file.hpp"

namespace freqcap::scenes {

inline constexpr int kCanvasSize = 128;
inline constexpr int kItemSize = 28;

struct Colour {
  const char* name;
  std::uint8_t r, g, b;
};

/// The seven colours in spec order: red green blue yellow white purple pink.
inline const std::array<Colour, 7>& colours() {
  static const std::array<Colour, 7> k = {{{"red", 230, 40, 40},
                                           {"green", 40, 200, 60},
                                           {"blue", 50, 90, 230},
                                           {"yellow", 235, 215, 40},
                                           {"white", 235, 235, 235},
                                           {"purple", 160, 60, 200},
                                           {"pink", 240, 120, 180}}};
  return k;
}

struct ClassWords {
  const char* noun;
  const char* synonym;
};

/// Noun and synonym per Fashion-MNIST label 0..9.
inline const std::array<ClassWords, 10>& class_words() {
  static const std::array<ClassWords, 10> k = {{{"top", "tee"},
                                                {"pair of trousers", "pair of pants"},
                                                {"pullover", "sweater"},
                                                {"dress", "gown"},
                                                {"coat", "jacket"},
                                                {"sandal", "slipper"},
                                                {"shirt", "blouse"},
                                                {"sneaker", "shoe"},
                                                {"bag", "handbag"},
                                                {"ankle boot", "boot"}}};
  return k;
}

/// k=1: single; k=2: horizontal (A left of B) or vertical (A above B); k=3: row A, B, C.
enum class Layout { single, horizontal, vertical, row };

/// One item: its index in the source split, label 0..9, colour index into
/// colours(), scale s in [1.0, 1.5], top-left corner (x, y) on the canvas and
/// side size = round(28 s) in pixels.
struct SceneItem {
  std::int64_t source_index = 0;
  int label = 0;
  int colour = 0;
  double scale = 1.0;
  int x = 0, y = 0, size = kItemSize;
};

/// A scene: its layout and items in A, B, C order.
struct Scene {
  Layout layout = Layout::single;
  std::vector<SceneItem> items;
};

/// Side of a 28x28 item scaled by s: round(28 s), halves away from zero.
inline int scaled_size(double s) { return static_cast<int>(std::lround(kItemSize * s)); }

/// Scales a 28x28 grey item (row-major uint8) by s with bilinear interpolation
/// -> [h, w] uint8, h = w = round(28 s). Convention: PyTorch's
/// interpolate(mode="bilinear", align_corners=False, antialias=False) with an
/// explicit output size: source coordinate = (dst + 0.5) * 28 / h - 0.5,
/// clamped below at 0, right/bottom neighbour clamped to 27; the weighted sum
/// is computed exactly in integers and rounded half up to uint8.
inline Tensor<std::uint8_t> scale_item(const std::uint8_t* grey28, double s) {
  FREQCAP_CHECK(grey28 != nullptr, "scale_item: null image");
  FREQCAP_CHECK(std::isfinite(s) && s > 0.0, "scale_item: scale ", s, " is not positive");
  const int n = scaled_size(s);
  FREQCAP_CHECK(n >= 1 && n <= 4 * kCanvasSize, "scale_item: scale ", s, " gives a ", n, "x", n, " item");
  // Source coordinate as the fraction num / den, den = 2n (exact).
  const std::int64_t den = 2 * std::int64_t(n);
  std::vector<int> i0(static_cast<std::size_t>(n)), i1(i0.size());
  std::vector<std::int64_t> frac(i0.size());
  for (int d = 0; d < n; ++d) {
    std::int64_t num = (2 * std::int64_t(d) + 1) * kItemSize - n;
    if (num < 0) num = 0;
    const auto k = static_cast<std::size_t>(d);
    i0[k] = static_cast<int>(num / den);
    frac[k] = num % den;
    i1[k] = std::min(i0[k] + 1, kItemSize - 1);
  }
  Tensor<std::uint8_t> out = Tensor<std::uint8_t>::empty(Shape{n, n});
  const std::int64_t den2 = den * den;
  for (int y = 0; y < n; ++y) {
    const auto ky = static_cast<std::size_t>(y);
    const std::uint8_t* r0 = grey28 + i0[ky] * kItemSize;
    const std::uint8_t* r1 = grey28 + i1[ky] * kItemSize;
    const std::int64_t fy = frac[ky];
    for (int x = 0; x < n; ++x) {
      const auto kx = static_cast<std::size_t>(x);
      const std::int64_t fx = frac[kx];
      const std::int64_t top = (den - fx) * r0[i0[kx]] + fx * r0[i1[kx]];
      const std::int64_t bot = (den - fx) * r1[i0[kx]] + fx * r1[i1[kx]];
      const std::int64_t v = (den - fy) * top + fy * bot;  // in [0, 255 den^2]
      out.data()[std::int64_t(y) * n + x] = static_cast<std::uint8_t>((2 * v + den2) / (2 * den2));
    }
  }
  return out;
}

/// Tinted value of one grey pixel: round(grey / 255 * channel), halves up (exact).
inline std::uint8_t tint(std::uint8_t grey, std::uint8_t channel) {
  return static_cast<std::uint8_t>((2 * int{grey} * int{channel} + 255) / 510);
}

/// Tints item [h, w] with colour c and writes it at top-left (x, y) of canvas
/// [3, H, W] uint8 (CHW). Overwrites the item's whole h x w box, background
/// pixels included (items of a scene never overlap, so this equals pasting
/// only the non-zero pixels on the black canvas). The box must lie on the canvas.
inline void paste_item(Tensor<std::uint8_t>& canvas, const Tensor<std::uint8_t>& item, const Colour& c, int x,
                       int y) {
  FREQCAP_CHECK(canvas.ndim() == 3 && canvas.dim(0) == 3 && canvas.is_contiguous(),
                "paste_item: canvas must be a contiguous [3, H, W] tensor, got ", shape_str(canvas.shape()));
  FREQCAP_CHECK(item.ndim() == 2 && item.is_contiguous(), "paste_item: item must be a contiguous [h, w] tensor, got ",
                shape_str(item.shape()));
  const std::int64_t H = canvas.dim(1), W = canvas.dim(2), h = item.dim(0), w = item.dim(1);
  FREQCAP_CHECK(x >= 0 && y >= 0 && x + w <= W && y + h <= H, "paste_item: a ", h, "x", w, " item at (", x, ", ",
                y, ") does not fit on a ", H, "x", W, " canvas");
  const std::array<std::uint8_t, 3> rgb = {c.r, c.g, c.b};
  for (std::int64_t ch = 0; ch < 3; ++ch)
    for (std::int64_t r = 0; r < h; ++r) {
      std::uint8_t* dst = canvas.data() + (ch * H + y + r) * W + x;
      const std::uint8_t* src = item.data() + r * w;
      for (std::int64_t q = 0; q < w; ++q) dst[q] = tint(src[q], rgb[static_cast<std::size_t>(ch)]);
    }
}

/// Renders a scene from its source split -> [3, 128, 128] uint8 RGB (CHW), black background.
inline Tensor<std::uint8_t> render_scene(const Scene& scene, const FashionMnist& source) {
  Tensor<std::uint8_t> canvas(Shape{3, kCanvasSize, kCanvasSize});
  const std::int64_t n = source.images.dim(0);
  FREQCAP_CHECK(source.images.is_contiguous() && source.images.ndim() == 3 && source.images.dim(1) == kItemSize &&
                    source.images.dim(2) == kItemSize,
                "render_scene: source images must be [N, 28, 28], got ", shape_str(source.images.shape()));
  for (const SceneItem& it : scene.items) {
    FREQCAP_CHECK(it.source_index >= 0 && it.source_index < n, "render_scene: source index ", it.source_index,
                  " outside the split's ", n, " images");
    FREQCAP_CHECK(it.colour >= 0 && it.colour < int(colours().size()), "render_scene: colour ", it.colour,
                  " is not in 0..6");
    const Tensor<std::uint8_t> img = scale_item(source.images.data() + it.source_index * kItemSize * kItemSize,
                                                it.scale);
    FREQCAP_CHECK(img.dim(0) == it.size, "render_scene: item size ", it.size, " disagrees with scale ", it.scale);
    paste_item(canvas, img, colours()[static_cast<std::size_t>(it.colour)], it.x, it.y);
  }
  return canvas;
}

// PNG files: data/image.hpp save_png (uint8 overload, exact pixels).

}  // namespace freqcap::scenes
