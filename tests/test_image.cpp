// data/image.hpp and data/preprocess.hpp against torch/torchvision through
// the committed fixtures in tests/fixtures/image (written by
// `tools/reference_outputs.py --image-fixtures`): decoding (PNG exactly,
// JPEG within libjpeg/stb IDCT differences), bilinear resize with and
// without antialias, Resize(int), CenterCrop, normalisation, PNG round trips
// and errors naming the file.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "freqcap/data/image.hpp"
#include "freqcap/data/preprocess.hpp"
#include "freqcap/io/safetensors.hpp"

#ifndef FREQCAP_SOURCE_DIR
#define FREQCAP_SOURCE_DIR "."
#endif

namespace freqcap_test_image {  // own scope: the unity build joins test files

using namespace freqcap;
namespace fs = std::filesystem;

namespace {

fs::path fixture_dir() { return fs::path(FREQCAP_SOURCE_DIR) / "tests" / "fixtures" / "image"; }

const SafetensorsFile& fixture() {
  static const SafetensorsFile f = SafetensorsFile::open(fixture_dir() / "image.safetensors");
  return f;
}

// max |a - b| (shapes must agree).
double max_diff(const Tensor<float>& a, const Tensor<float>& b) {
  REQUIRE(shape_str(a.shape()) == shape_str(b.shape()));
  const Tensor<float> x = a.contiguous(), y = b.contiguous();
  double m = 0;
  for (std::int64_t i = 0; i < x.numel(); ++i) m = std::max(m, std::abs(double(x.data()[i]) - y.data()[i]));
  return m;
}

}  // namespace

TEST_CASE("PNG files decode exactly as torchvision.io does, grey converted to RGB", "[image]") {
  const Tensor<float> png = load_image(fixture_dir() / "gradient.png");
  CHECK(max_diff(png, fixture().get<float>("png_pixels")) == 0.0);
  const Tensor<float> grey = load_image(fixture_dir() / "grey.png");
  const Tensor<float> g = fixture().get<float>("grey_pixels");  // [1, H, W]
  REQUIRE(grey.shape() == Shape{3, g.dim(1), g.dim(2)});
  for (std::int64_t c = 0; c < 3; ++c) CHECK(max_diff(grey.select(0, c), g.select(0, 0)) == 0.0);
}

TEST_CASE("JPEG files decode within IDCT rounding of libjpeg", "[image]") {
  const Tensor<float> jpg = load_image(fixture_dir() / "gradient.jpg");
  const Tensor<float> ref = fixture().get<float>("jpg_pixels");
  // stb_image and libjpeg use different IDCT/upsampling: allow a few levels.
  CHECK(max_diff(jpg, ref) <= 8.0 / 255.0);
  double mean = 0;
  for (std::int64_t i = 0; i < ref.numel(); ++i) mean += std::abs(double(jpg.data()[i]) - ref.data()[i]);
  CHECK(mean / double(ref.numel()) <= 1.5 / 255.0);
}

TEST_CASE("undecodable or missing images raise errors naming the file", "[image]") {
  const fs::path truncated = fixture_dir() / "truncated.png";
  CHECK_THROWS_WITH(load_image(truncated), Catch::Contains(truncated.string()) && Catch::Contains("cannot decode"));
  const fs::path missing = fixture_dir() / "no_such_image.png";
  CHECK_THROWS_WITH(load_image(missing), Catch::Contains(missing.string()) && Catch::Contains("cannot open"));
  const fs::path text = fs::temp_directory_path() / "freqcap_test_image_not_an_image.jpg";
  std::ofstream(text) << "this is not an image";
  CHECK_THROWS_WITH(load_image(text), Catch::Contains(text.string()));
  fs::remove(text);
}

TEST_CASE("bilinear resize matches torch interpolate with and without antialias", "[image]") {
  const Tensor<float> x = fixture().get<float>("resize_input");
  for (const auto& [h, w] : std::vector<std::pair<int, int>>{{10, 12}, {4, 5}, {31, 40}, {25, 15}, {19, 27}, {1, 1}}) {
    for (bool aa : {true, false}) {
      const std::string key = std::string("resize_") + (aa ? "aa_" : "plain_") + std::to_string(h) + "x" + std::to_string(w);
      INFO(key);
      CHECK(max_diff(resize_bilinear(x, h, w, aa), fixture().get<float>(key)) <= 2e-6);
      // [C, H, W] works the same as a batch of one.
      CHECK(max_diff(resize_bilinear(x.select(0, 0), h, w, aa), fixture().get<float>(key).select(0, 0)) <= 2e-6);
    }
  }
}

TEST_CASE("Resize(int) and CenterCrop follow torchvision", "[image]") {
  const Tensor<float> x = fixture().get<float>("resize_input").select(0, 0);
  CHECK(max_diff(resize_shorter(x, 12), fixture().get<float>("shorter_12")) <= 2e-6);
  CHECK(max_diff(center_crop(x, 10, 12), fixture().get<float>("crop_10x12")) == 0.0);
  CHECK(max_diff(center_crop(x, 12, 18), fixture().get<float>("crop_12x18")) == 0.0);
  CHECK_THROWS_WITH(center_crop(x, 20, 10), Catch::Contains("does not fit"));
}

TEST_CASE("preprocessing normalises with ImageNet statistics", "[image]") {
  const Tensor<float> img(Shape{3, 4, 6}, 0.5f);
  const Tensor<float> y = fixed_size_preprocess(5)(img);
  REQUIRE(y.shape() == Shape{3, 5, 5});
  for (std::int64_t c = 0; c < 3; ++c)
    CHECK(y(c, 2, 3) == Approx((0.5 - imagenet_mean[c]) / imagenet_std[c]).epsilon(1e-6));
  const Tensor<float> z = imagenet_eval_preprocess("resnet50")(Tensor<float>(Shape{3, 300, 400}, 0.25f));
  CHECK(z.shape() == Shape{3, 224, 224});
  CHECK(imagenet_eval_preprocess("efficientnet_b1")(Tensor<float>(Shape{3, 300, 400})).shape() == Shape{3, 240, 240});
}

TEST_CASE("save_png round-trips 8-bit images and replaces files atomically", "[image]") {
  const Tensor<float> png = load_image(fixture_dir() / "gradient.png");
  const fs::path out = fs::temp_directory_path() / "freqcap_test_image_roundtrip.png";
  save_png(out, png);
  CHECK(max_diff(load_image(out), png) == 0.0);
  CHECK_THROWS_WITH(save_png(out, Tensor<float>(Shape{2, 4, 4})), Catch::Contains("C = 1, 3 or 4"));
  CHECK(max_diff(load_image(out), png) == 0.0);  // the failed save left the file alone
  fs::remove(out);
}

}  // namespace freqcap_test_image
