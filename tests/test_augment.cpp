// data/augment.hpp: Keras-style contrast/translation/zoom/rotation against
// hand-computed images, the reflect fill against a hand-written table and
// against TF's ImageProjectiveTransformV3 algorithm (reflect the continuous
// coordinate, clamp, bilinear with zero fill) re-implemented here, and the
// seeded Augmenter stream (reproducible, resumable, batch == per image).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

#include "freqcap/data/augment.hpp"

namespace freqcap_test_augment {  // own scope: the unity build joins test files

using namespace freqcap;

namespace {

Tensor<float> random_image(Shape s, std::uint64_t seed) {
  Rng rng(seed);
  Tensor<float> t(s);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = static_cast<float>(rng.uniform_real());
  return t;
}

/// [1, H, W] with values 10 * row + col.
Tensor<float> grid_image(std::int64_t H, std::int64_t W) {
  Tensor<float> t(Shape{1, H, W});
  for (std::int64_t r = 0; r < H; ++r)
    for (std::int64_t c = 0; c < W; ++c) t(0, r, c) = static_cast<float>(10 * r + c);
  return t;
}

double max_abs_diff(const Tensor<float>& a, const Tensor<float>& b) {
  REQUIRE(a.shape() == b.shape());
  double m = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(double(a.data()[i]) - b.data()[i]));
  return m;
}

// TF's MapCoordinate<FILL_REFLECT> for a continuous coordinate.
float tf_reflect(float in, std::int64_t len) {
  if (in < 0) {
    if (len <= 1) return 0;
    const std::int64_t sz2 = 2 * len;
    if (in < sz2) in = float(sz2 * static_cast<std::int64_t>(-in / sz2)) + in;
    in = (in < -len) ? in + sz2 : -in - 1;
  } else if (in > len - 1) {
    if (len <= 1) return 0;
    const std::int64_t sz2 = 2 * len;
    in -= float(sz2 * static_cast<std::int64_t>(in / sz2));
    if (in >= len) in = sz2 - in - 1;
  }
  return std::clamp(in, 0.0f, float(len - 1));
}

// TF's bilinear projective sampling with fill_mode reflect, fill_value 0.
Tensor<float> tf_warp(const Tensor<float>& src, const detail::Affine& a) {
  const std::int64_t C = src.dim(0), H = src.dim(1), W = src.dim(2);
  Tensor<float> out(src.shape());
  auto read = [&](std::int64_t k, std::int64_t y, std::int64_t x) {
    return (y >= 0 && y < H && x >= 0 && x < W) ? src(k, y, x) : 0.0f;
  };
  for (std::int64_t y = 0; y < H; ++y)
    for (std::int64_t x = 0; x < W; ++x) {
      const float ix = tf_reflect(float(a[0] * x + a[1] * y + a[2]), W);
      const float iy = tf_reflect(float(a[3] * x + a[4] * y + a[5]), H);
      const float x0 = std::floor(ix), y0 = std::floor(iy), x1 = x0 + 1, y1 = y0 + 1;
      for (std::int64_t k = 0; k < C; ++k) {
        const auto X0 = std::int64_t(x0), X1 = std::int64_t(x1), Y0 = std::int64_t(y0), Y1 = std::int64_t(y1);
        const float top = (x1 - ix) * read(k, Y0, X0) + (ix - x0) * read(k, Y0, X1);
        const float bot = (x1 - ix) * read(k, Y1, X0) + (ix - x0) * read(k, Y1, X1);
        out(k, y, x) = (y1 - iy) * top + (iy - y0) * bot;
      }
    }
  return out;
}

}  // namespace

TEST_CASE("reflect_index matches the d c b a | a b c d | d c b a table", "[augment]") {
  // n = 4, i = -9 .. 12, written out by hand.
  const std::vector<std::int64_t> want4 = {0, 0, 1, 2, 3, 3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0, 0, 1, 2, 3, 3};
  for (std::int64_t i = -9; i <= 12; ++i) CHECK(reflect_index(i, 4) == want4[std::size_t(i + 9)]);
  // n = 2: ... 1 0 | 0 1 | 1 0 | 0 1 ...
  const std::vector<std::int64_t> want2 = {0, 1, 1, 0, 0, 1, 1, 0, 0};  // i = -4 .. 4
  for (std::int64_t i = -4; i <= 4; ++i) CHECK(reflect_index(i, 2) == want2[std::size_t(i + 4)]);
  for (std::int64_t i : {-7, -1, 0, 1, 5}) CHECK(reflect_index(i, 1) == 0);
  CHECK(reflect_index(-1000001, 7) == 5);   // -1000001 = -71429 * 14 + 5
  CHECK(reflect_index(-999999, 7) == 6);    // = -71429 * 14 + 7, reflected: 13 - 7
}

TEST_CASE("augment_image: zero parameters are exactly the identity", "[augment]") {
  const Tensor<float> img = random_image(Shape{3, 7, 9}, 1);
  for (bool seq : {false, true}) {
    Tensor<float> x = img.clone();
    AugmentOptions how;
    how.sequential = seq;
    augment_image(x, AugmentParams{}, how);
    CHECK(x.to_vector() == img.to_vector());
  }
  AugmentParams zoom0;
  zoom0.zoom_x = zoom0.zoom_y = 0.0;
  Tensor<float> x = img.clone();
  augment_image(x, zoom0);
  CHECK(x.to_vector() == img.to_vector());

  // An Augmenter whose factors are all zero draws identity parameters.
  Augmenter aug(AugmentOptions{0, 0, 0, 0, 0.0, 0}, 42);
  Tensor<float> batch = random_image(Shape{2, 3, 5, 6}, 2), b2 = batch.clone();
  aug.apply(b2);
  CHECK(b2.to_vector() == batch.to_vector());
}

TEST_CASE("augment_image: integer translation shifts with a reflected border", "[augment]") {
  Tensor<float> x = grid_image(4, 4);
  AugmentParams p;
  p.translate_x = 0.25;   // dx = +1 pixel: content moves right
  p.translate_y = -0.25;  // dy = -1 pixel: content moves up
  augment_image(x, p);
  // out(r, c) = in(r + 1, c - 1); column -1 reflects to 0, row 4 to 3.
  const std::vector<float> want = {10, 10, 11, 12, 20, 20, 21, 22, 30, 30, 31, 32, 30, 30, 31, 32};
  CHECK(x.to_vector() == want);
}

TEST_CASE("augment_image: zoom about the centre, positive factor zooms out", "[augment]") {
  SECTION("zoom in x2 (factor -0.5): bilinear between grid values") {
    Tensor<float> x = grid_image(5, 5);
    AugmentParams p;
    p.zoom_x = p.zoom_y = -0.5;  // in = 0.5 * out + 1
    augment_image(x, p);
    for (int r = 0; r < 5; ++r)
      for (int c = 0; c < 5; ++c) CHECK(x(0, r, c) == Approx(10 * (0.5 * r + 1) + 0.5 * c + 1).margin(1e-5));
  }
  SECTION("zoom out x2 (factor +1 on width only): reflected samples") {
    Tensor<float> x = grid_image(2, 5);
    AugmentParams p;
    p.zoom_x = 1.0;  // in_x = 2 * out_x - 2: -2, 0, 2, 4, 6 -> columns 1, 0, 2, 4, 3
    augment_image(x, p);
    const std::vector<float> want = {1, 0, 2, 4, 3, 11, 10, 12, 14, 13};
    CHECK(max_abs_diff(x, Tensor<float>::from_vector(Shape{1, 2, 5}, want)) == 0.0);
  }
}

TEST_CASE("augment_image: +90 degrees is np.rot90 (counter-clockwise)", "[augment]") {
  const std::int64_t n = 6;
  const Tensor<float> img = random_image(Shape{3, n, n}, 7);
  Tensor<float> x = img.clone();
  AugmentParams p;
  p.angle = std::numbers::pi / 2;
  augment_image(x, p);
  Tensor<float> want(img.shape());
  for (std::int64_t k = 0; k < 3; ++k)
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < n; ++j) want(k, i, j) = img(k, j, n - 1 - i);  // top row <- right column
  CHECK(max_abs_diff(x, want) < 1e-5);
  // -90 degrees is the clockwise turn.
  Tensor<float> y = img.clone();
  p.angle = -std::numbers::pi / 2;
  augment_image(y, p);
  for (std::int64_t k = 0; k < 3; ++k)
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < n; ++j) want(k, i, j) = img(k, n - 1 - j, i);
  CHECK(max_abs_diff(y, want) < 1e-5);
}

TEST_CASE("augment_image: warp equals TF's reflect + bilinear algorithm", "[augment]") {
  const Tensor<float> img = random_image(Shape{2, 9, 13}, 11);
  AugmentParams p;
  p.translate_x = 0.17;
  p.translate_y = -0.23;
  p.zoom_x = 0.3;
  p.zoom_y = -0.08;
  p.angle = 0.5;
  const detail::Affine m = detail::compose(
      detail::compose(detail::translation_map(p, 9, 13), detail::zoom_map(p, 9, 13)), detail::rotation_map(p, 9, 13));
  Tensor<float> x = img.clone();
  augment_image(x, p);
  CHECK(max_abs_diff(x, tf_warp(img, m)) < 1e-5);

  // Keras's three passes, each against the TF reference.
  Tensor<float> seq = img.clone();
  AugmentOptions how;
  how.sequential = true;
  augment_image(seq, p, how);
  const Tensor<float> ref =
      tf_warp(tf_warp(tf_warp(img, detail::translation_map(p, 9, 13)), detail::zoom_map(p, 9, 13)),
              detail::rotation_map(p, 9, 13));
  CHECK(max_abs_diff(seq, ref) < 1e-5);
}

TEST_CASE("augment_image: one composed pass equals three passes when no blur is involved", "[augment]") {
  const Tensor<float> img = random_image(Shape{3, 8, 8}, 5);
  AugmentParams p;
  p.translate_x = 2.0 / 8;
  p.translate_y = -3.0 / 8;
  p.angle = std::numbers::pi / 2;
  Tensor<float> one = img.clone(), three = img.clone();
  AugmentOptions how;
  augment_image(one, p, how);
  how.sequential = true;
  augment_image(three, p, how);
  CHECK(max_abs_diff(one, three) < 1e-5);
}

TEST_CASE("augment_image: contrast formula per channel, clipped as Keras 2.x", "[augment]") {
  // Channel 0 mean 0.3, channel 1 mean 0.375.
  const Tensor<float> img = Tensor<float>::from(Shape{2, 2, 2}, {0.1f, 0.2f, 0.3f, 0.6f, 0.1f, 0.2f, 0.3f, 0.9f});
  AugmentParams p;
  p.contrast = 1.5;
  Tensor<float> x = img.clone();
  AugmentOptions how;
  how.clip = false;
  augment_image(x, p, how);
  const std::vector<float> raw = {0.0f, 0.15f, 0.3f, 0.75f, -0.0375f, 0.1125f, 0.2625f, 1.1625f};
  for (std::size_t i = 0; i < raw.size(); ++i) CHECK(x.data()[i] == Approx(raw[i]).margin(1e-6));
  x = img.clone();
  augment_image(x, p);  // default: clip to [0, 1]
  const std::vector<float> clipped = {0.0f, 0.15f, 0.3f, 0.75f, 0.0f, 0.1125f, 0.2625f, 1.0f};
  for (std::size_t i = 0; i < clipped.size(); ++i) CHECK(x.data()[i] == Approx(clipped[i]).margin(1e-6));
}

TEST_CASE("augment_image rejects bad shapes by name", "[augment]") {
  Tensor<float> bad(Shape{4, 4});
  CHECK_THROWS_WITH(augment_image(bad, AugmentParams{}), Catch::Contains("augment_image") && Catch::Contains("[4, 4]"));
  CHECK_THROWS_AS(Augmenter(AugmentOptions{1.5}, 1), Error);
}

TEST_CASE("Augmenter draws within the Keras ranges", "[augment]") {
  Augmenter aug(AugmentOptions{}, 3);
  double mean_angle = 0;
  for (int i = 0; i < 2000; ++i) {
    const AugmentParams p = aug.sample();
    REQUIRE((p.contrast >= 0.95 && p.contrast < 1.05));
    REQUIRE((std::abs(p.translate_x) <= 0.1 && std::abs(p.translate_y) <= 0.1));
    REQUIRE((std::abs(p.zoom_x) <= 0.1 && std::abs(p.zoom_y) <= 0.1));
    REQUIRE(std::abs(p.angle) <= 0.1 * 2 * std::numbers::pi);
    mean_angle += p.angle / 2000;
  }
  CHECK(std::abs(mean_angle) < 0.05);  // sd of the mean ~ 0.36 / sqrt(2000) = 0.008
  AugmentOptions tied;
  tied.zoom_w = std::nullopt;
  Augmenter t(tied, 3);
  const AugmentParams p = t.sample();
  CHECK(p.zoom_x == p.zoom_y);
}

TEST_CASE("Augmenter: seeded, resumable, batch == per image", "[augment]") {
  const Tensor<float> batch = random_image(Shape{4, 3, 11, 10}, 9);
  auto run = [&](std::uint64_t seed) {
    Tensor<float> b = batch.clone();
    Augmenter(AugmentOptions{}, seed).apply(b);
    return b.to_vector();
  };
  CHECK(run(123) == run(123));
  CHECK(run(123) != run(124));
  CHECK(run(123) != batch.to_vector());

  // Per image with one stream == the whole batch at once.
  Augmenter per(AugmentOptions{}, 123);
  std::vector<float> joined;
  for (std::int64_t i = 0; i < 4; ++i) {
    Tensor<float> img = batch.select(0, i).clone();
    per.apply(img);
    const auto v = img.to_vector();
    joined.insert(joined.end(), v.begin(), v.end());
  }
  CHECK(joined == run(123));

  // state() / set_state(): a fresh Augmenter with another seed resumes exactly.
  Augmenter a(AugmentOptions{}, 77);
  Tensor<float> warm = batch.clone();
  a.apply(warm);
  const Augmenter::State s = a.state();
  Tensor<float> next1 = batch.clone();
  a.apply(next1);
  Augmenter b(AugmentOptions{}, 5);
  b.set_state(s);
  Tensor<float> next2 = batch.clone();
  b.apply(next2);
  CHECK(next1.to_vector() == next2.to_vector());
  CHECK_THROWS_AS(b.set_state(Augmenter::State{0, 0, 0, 0}), Error);
}

}  // namespace freqcap_test_augment
