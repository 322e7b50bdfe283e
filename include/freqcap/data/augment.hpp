// The seed paper's training augmentation (its Algorithm 1: Keras
// RandomContrast(0.05), RandomTranslation(0.1, 0.1), RandomZoom(+-0.1, +-0.1),
// RandomRotation(+-0.1)) on float images [C, H, W] or batches [N, C, H, W]
// (data/image.hpp's layout, values in [0, 1]). augment_image() applies
// explicit AugmentParams; Augmenter draws them per image from a portable,
// seeded xoshiro256** stream (core/random.hpp's Rng) whose state() can be
// checkpointed and resumed.
//
// Keras semantics followed (TF 2.x / Keras 2.x preprocessing layers):
//  - contrast: c ~ U[1-f, 1+f); per channel (x - mean) * c + mean, mean over
//    H x W of that channel. Keras 2.x then clips to [0, 255], the valid range
//    of the seed's 0..255 images; ours are 0..1, so we clip to
//    [value_min, value_max] = [0, 1] (set clip = false to keep raw values).
//    We draw c per image, as the layer documentation states; Keras 2.x's
//    implementation (tf.image.stateless_random_contrast) drew one c per call.
//  - translation: dy ~ U[-h, h) * H, dx ~ U[-w, w) * W pixels; positive moves
//    the content down / right (output(x, y) = input(x - dx, y - dy)).
//  - zoom: zy ~ 1 + U[-z, z), zx likewise (or zx = zy when zoom_w is nullopt,
//    Keras's width_factor=None); zoom > 1 samples a larger area, i.e. a
//    positive factor zooms OUT, about the centre ((W-1)/2, (H-1)/2).
//  - rotation: angle ~ U[-f, f) * 2 pi, positive = counter-clockwise on
//    screen, about the centre ((W-1)/2, (H-1)/2) (Keras get_rotation_matrix).
//  - resampling: bilinear, fill_mode "reflect" (d c b a | a b c d | d c b a),
//    which for ImageProjectiveTransformV3 equals bilinear interpolation on the
//    symmetrically extended pixel grid (reflect_index below).
// By default the three geometric maps are composed (translate o zoom o
// rotate, the seed's layer order) into ONE affine map applied in one pass:
// one bilinear blur instead of three, a third of the work, and identical
// interior pixels up to interpolation. Only the border fill differs from
// Keras's three passes (it reflects the composite, not reflections of
// reflections); `sequential = true` reproduces Keras's three passes exactly.
// No OpenMP inside: safe to call from prefetch worker threads.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <vector>

#include "freqcap/core/error.hpp"
#include "freqcap/core/random.hpp"
#include "freqcap/core/tensor.hpp"

namespace freqcap {

/// Ranges to draw from (Keras factors) and how to apply them.
struct AugmentOptions {
  double contrast = 0.05;                // c ~ U[1 - contrast, 1 + contrast)
  double translate_h = 0.1;              // dy ~ U[-h, h) * H
  double translate_w = 0.1;              // dx ~ U[-w, w) * W
  double zoom = 0.1;                     // zy ~ 1 + U[-zoom, zoom)
  std::optional<double> zoom_w = 0.1;    // zx ~ 1 + U[-zoom_w, zoom_w); nullopt: zx = zy
  double rotation = 0.1;                 // angle ~ U[-rotation, rotation) * 2 pi
  bool clip = true;                      // clip after contrast, as Keras 2.x
  float value_min = 0.0f, value_max = 1.0f;
  bool sequential = false;               // three resampling passes (Keras) instead of one
};

/// One image's draw. Zero/one values everywhere are the identity.
struct AugmentParams {
  double contrast = 1.0;     // contrast factor c
  double translate_y = 0.0;  // fraction of H, + moves content down
  double translate_x = 0.0;  // fraction of W, + moves content right
  double zoom_y = 0.0;       // Keras zoom factor: 1 + zoom_y scales sampling, + zooms out
  double zoom_x = 0.0;
  double angle = 0.0;        // radians, + is counter-clockwise
};

/// Keras/scipy "reflect" index into [0, n): ... d c b a | a b c d | d c b a ...
/// (the edge pixel is repeated). Any integer i, n >= 1.
inline std::int64_t reflect_index(std::int64_t i, std::int64_t n) {
  if (i >= 0 && i < n) return i;
  if (n <= 1) return 0;
  const std::int64_t p = 2 * n;
  std::int64_t m = i % p;
  if (m < 0) m += p;
  return m < n ? m : p - 1 - m;
}

namespace detail {

/// Output -> input pixel map: in_x = a[0] x + a[1] y + a[2], in_y = a[3] x + a[4] y + a[5]
/// (the first six entries of a Keras/TF projective transform with c0 = c1 = 0).
using Affine = std::array<double, 6>;

/// m o n: first n, then m, on output coordinates (the 3x3 product m * n).
inline Affine compose(const Affine& m, const Affine& n) {
  return {m[0] * n[0] + m[1] * n[3], m[0] * n[1] + m[1] * n[4], m[0] * n[2] + m[1] * n[5] + m[2],
          m[3] * n[0] + m[4] * n[3], m[3] * n[1] + m[4] * n[4], m[3] * n[2] + m[4] * n[5] + m[5]};
}

inline Affine translation_map(const AugmentParams& p, std::int64_t H, std::int64_t W) {
  return {1, 0, -p.translate_x * double(W), 0, 1, -p.translate_y * double(H)};
}
inline Affine zoom_map(const AugmentParams& p, std::int64_t H, std::int64_t W) {
  const double zx = 1.0 + p.zoom_x, zy = 1.0 + p.zoom_y;
  return {zx, 0, (double(W) - 1) / 2 * (1 - zx), 0, zy, (double(H) - 1) / 2 * (1 - zy)};
}
inline Affine rotation_map(const AugmentParams& p, std::int64_t H, std::int64_t W) {
  const double c = std::cos(p.angle), s = std::sin(p.angle), w1 = double(W) - 1, h1 = double(H) - 1;
  return {c, -s, (w1 - (c * w1 - s * h1)) / 2, s, c, (h1 - (s * w1 + c * h1)) / 2};
}
inline bool is_identity(const Affine& a) { return a == Affine{1, 0, 0, 0, 1, 0}; }

/// In-place warp of `channels` planes [H, W] with bilinear sampling over the
/// reflect-extended grid; `tmp` is scratch of one image's size.
inline void warp(float* img, std::int64_t channels, std::int64_t H, std::int64_t W, const Affine& a,
                 std::vector<float>& tmp) {
  const std::int64_t hw = H * W;
  tmp.assign(img, img + channels * hw);
  for (std::int64_t y = 0; y < H; ++y)
    for (std::int64_t x = 0; x < W; ++x) {
      const double ix = a[0] * double(x) + a[1] * double(y) + a[2];
      const double iy = a[3] * double(x) + a[4] * double(y) + a[5];
      const double fx0 = std::floor(ix), fy0 = std::floor(iy);
      const float fx = float(ix - fx0), fy = float(iy - fy0);
      const auto x0 = static_cast<std::int64_t>(fx0), y0 = static_cast<std::int64_t>(fy0);
      const std::int64_t c0 = reflect_index(x0, W), c1 = reflect_index(x0 + 1, W);
      const std::int64_t r0 = reflect_index(y0, H) * W, r1 = reflect_index(y0 + 1, H) * W;
      for (std::int64_t k = 0; k < channels; ++k) {
        const float* s = tmp.data() + k * hw;
        const float top = (1 - fx) * s[r0 + c0] + fx * s[r0 + c1];
        const float bot = (1 - fx) * s[r1 + c0] + fx * s[r1 + c1];
        img[k * hw + y * W + x] = (1 - fy) * top + fy * bot;
      }
    }
}

inline void augment_planes(float* img, std::int64_t C, std::int64_t H, std::int64_t W, const AugmentParams& p,
                           const AugmentOptions& how, std::vector<float>& tmp) {
  const std::int64_t hw = H * W;
  if (p.contrast != 1.0) {
    for (std::int64_t k = 0; k < C; ++k) {
      float* ch = img + k * hw;
      double sum = 0;
      for (std::int64_t i = 0; i < hw; ++i) sum += ch[i];
      const double mean = sum / double(hw);
      for (std::int64_t i = 0; i < hw; ++i) {
        float v = static_cast<float>((double(ch[i]) - mean) * p.contrast + mean);
        if (how.clip) v = std::clamp(v, how.value_min, how.value_max);
        ch[i] = v;
      }
    }
  }
  const Affine t = translation_map(p, H, W), z = zoom_map(p, H, W), r = rotation_map(p, H, W);
  if (how.sequential) {
    for (const Affine* m : {&t, &z, &r})
      if (!is_identity(*m)) warp(img, C, H, W, *m, tmp);
  } else {
    const Affine m = compose(compose(t, z), r);
    if (!is_identity(m)) warp(img, C, H, W, m, tmp);
  }
}

/// Runs fn(plane pointer, C, H, W, image index) over an image or a batch, in place.
template <class F>
void for_each_image(Tensor<float>& t, const char* who, F&& fn) {
  FREQCAP_CHECK((t.ndim() == 3 || t.ndim() == 4) && t.numel() > 0, who,
                ": expects an image [C, H, W] or a batch [N, C, H, W], got ", shape_str(t.shape()));
  Tensor<float> x = t.contiguous();
  const std::int64_t n = t.ndim() == 4 ? t.dim(0) : 1, C = t.dim(-3), H = t.dim(-2), W = t.dim(-1);
  for (std::int64_t i = 0; i < n; ++i) fn(x.data() + i * C * H * W, C, H, W, i);
  if (!x.shares_storage(t)) t.copy_from(x);
}
}  // namespace detail

/// Applies one draw `p` in place to an image [C, H, W] or to every image of a
/// batch [N, C, H, W]: contrast, then translation o zoom o rotation (one pass,
/// or three if how.sequential). Only `how`'s clip/value range/sequential are used.
inline void augment_image(Tensor<float>& image_or_batch, const AugmentParams& p, const AugmentOptions& how = {}) {
  std::vector<float> tmp;
  detail::for_each_image(image_or_batch, "augment_image",
                         [&](float* img, std::int64_t C, std::int64_t H, std::int64_t W, std::int64_t) {
                           detail::augment_planes(img, C, H, W, p, how, tmp);
                         });
}

/// Seeded random augmentation: each image gets its own AugmentParams drawn in
/// a fixed order (contrast, translate_y, translate_x, zoom_y, zoom_x, angle;
/// six draws per image always), so the stream is reproducible and resumable.
class Augmenter {
 public:
  using State = std::array<std::uint64_t, 4>;

  Augmenter(AugmentOptions opts, std::uint64_t seed) : opts_(opts), rng_(seed) {
    const double zw = opts_.zoom_w.value_or(opts_.zoom);
    FREQCAP_CHECK(in(opts_.contrast, 0, 1) && in(opts_.translate_h, 0, 1) && in(opts_.translate_w, 0, 1) &&
                      in(opts_.zoom, 0, 0.999) && in(zw, 0, 0.999) && in(opts_.rotation, 0, 1),
                  "Augmenter: factors must be finite with contrast, translate_h, translate_w, rotation in [0, 1] "
                  "and zoom in [0, 1); got contrast=", opts_.contrast, " translate_h=", opts_.translate_h,
                  " translate_w=", opts_.translate_w, " zoom=", opts_.zoom, " zoom_w=", zw,
                  " rotation=", opts_.rotation);
    FREQCAP_CHECK(!opts_.clip || opts_.value_min <= opts_.value_max, "Augmenter: value_min ", opts_.value_min,
                  " > value_max ", opts_.value_max);
  }

  /// Draws the next image's parameters (advances the stream by six draws).
  AugmentParams sample() {
    const AugmentOptions& o = opts_;
    constexpr double two_pi = 6.283185307179586476925286766559;
    AugmentParams p;
    p.contrast = rng_.uniform_real(1 - o.contrast, 1 + o.contrast);
    p.translate_y = rng_.uniform_real(-o.translate_h, o.translate_h);
    p.translate_x = rng_.uniform_real(-o.translate_w, o.translate_w);
    p.zoom_y = rng_.uniform_real(-o.zoom, o.zoom);
    const double zx = rng_.uniform_real(-o.zoom_w.value_or(0.0), o.zoom_w.value_or(0.0));
    p.zoom_x = o.zoom_w ? zx : p.zoom_y;
    p.angle = rng_.uniform_real(-o.rotation, o.rotation) * two_pi;
    return p;
  }

  /// Augments an image [C, H, W] or each image of a batch [N, C, H, W] (in
  /// order, one draw each) in place.
  void apply(Tensor<float>& image_or_batch) {
    detail::for_each_image(image_or_batch, "Augmenter::apply",
                           [&](float* img, std::int64_t C, std::int64_t H, std::int64_t W, std::int64_t) {
                             detail::augment_planes(img, C, H, W, sample(), opts_, tmp_);
                           });
  }

  /// The stream position: four words; set_state() resumes exactly there.
  State state() const { return rng_.state(); }
  void set_state(const State& s) {
    FREQCAP_CHECK(s[0] | s[1] | s[2] | s[3], "Augmenter::set_state: the all-zero state is not a valid xoshiro256 state");
    rng_.set_state(s);
  }
  const AugmentOptions& options() const { return opts_; }

 private:
  static bool in(double v, double lo, double hi) { return std::isfinite(v) && v >= lo && v <= hi; }
  AugmentOptions opts_;
  Rng rng_;
  std::vector<float> tmp_;
};

}  // namespace freqcap
