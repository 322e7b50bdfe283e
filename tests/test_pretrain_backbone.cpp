// Tests of the Fashion Scenes backbone (backbones/scenes_cnn.hpp) and its
// pretraining on single items (model/pretrain_backbone.hpp): feature-map
// shapes, the factory name, that a few steps lower the loss, a short real
// pretraining on Debian's Fashion-MNIST, item drawing as the scenes renderer
// draws, and a save / load round trip with identical logits.
#include <catch2/catch.hpp>

#include <cmath>

#include "freqcap/backbones/factory.hpp"
#include "freqcap/io/state_dict.hpp"
#include "freqcap/model/pretrain_backbone.hpp"
#include "support.hpp"

namespace freqcap_test_pretrain_backbone {  // own scope: the unity build joins test files

using namespace freqcap;
using backbones::ScenesCNN;

TEST_CASE("scenes_cnn feature map: output stride 16, 128 channels, 17 logits", "[backbones]") {
  manual_seed(1);
  ScenesCNN net;
  net.eval();
  CHECK(net.name() == "scenes_cnn");
  CHECK(net.feature_channels() == 128);
  const Tensor<float> x128 = testing::randn<float>(Shape{2, 3, 128, 128}, 3);
  CHECK(net.extract_features(x128).shape() == Shape{2, 128, 8, 8});
  const Tensor<float> x64 = testing::randn<float>(Shape{1, 3, 64, 64}, 4);
  CHECK(net.extract_features(x64).shape() == Shape{1, 128, 4, 4});
  CHECK(net.predict(x64).shape() == Shape{1, 17});
  CHECK(net.extract_features(testing::randn<float>(Shape{1, 3, 16, 16}, 5)).shape() == Shape{1, 128, 1, 1});
  CHECK_THROWS_AS(net.extract_features(testing::randn<float>(Shape{1, 3, 15, 16}, 5)), Error);
  // The factory builds it with its own two heads.
  auto made = backbones::make_backbone("scenes_cnn");
  CHECK(made->name() == "scenes_cnn");
  CHECK(made->state_dict().get<float>("fc.weight").shape() == Shape{17, 128});
}

TEST_CASE("scenes_cnn heads: a few Adam steps on a tiny batch lower the loss", "[backbones]") {
  manual_seed(2);
  ScenesCNN net;
  net.train();
  const Tensor<float> x = testing::randn<float>(Shape{8, 3, 32, 32}, 7);
  Tensor<std::int64_t> yc(Shape{8}), yk(Shape{8});
  for (std::int64_t i = 0; i < 8; ++i) {
    yc.data()[i] = i % 10;
    yk.data()[i] = (3 * i) % 7;
  }
  nn::Adam opt(net.parameters(), nn::AdamOptions(3e-3));
  auto loss_of = [&] {
    const Var<float> logits = net.forward(Var<float>(x));
    return cross_entropy(backbones::item_class_logits(logits), yc) +
           cross_entropy(backbones::item_colour_logits(logits), yk);
  };
  double first = 0, last = 0;
  for (int step = 0; step < 8; ++step) {
    opt.zero_grad();
    Var<float> loss = loss_of();
    if (step == 0) first = loss.item();
    last = loss.item();
    loss.backward();
    for (const auto& p : net.parameters()) REQUIRE(p.grad().defined());
    opt.step();
  }
  INFO("loss " << first << " -> " << last);
  CHECK(std::isfinite(last));
  CHECK(last < 0.7 * first);
}

TEST_CASE("draw_single_item draws as the scenes renderer: scale, tint, paste on black", "[backbones]") {
  const FashionMnist fm = load_fashion_mnist(fashion_mnist_default_dir, "train");
  Tensor<float> x(Shape{2, 3, 64, 64});
  auto rng = model::detail::item_rng(9, 0, 1, 123);
  auto copy = rng;
  const int colour = model::draw_single_item(fm.images, 123, 64, rng, x, 1);
  // Replay the same draws by hand through the renderer.
  const double s = 1.0 + 0.5 * copy.uniform();
  CHECK(colour == static_cast<int>(copy.below(7)));
  const Tensor<std::uint8_t> item = scenes::scale_item(fm.images.data() + 123 * 784, s);
  const int px = static_cast<int>(copy.below(64 - item.dim(0) + 1)), py = static_cast<int>(copy.below(64 - item.dim(0) + 1));
  Tensor<std::uint8_t> ref(Shape{3, 64, 64});
  scenes::paste_item(ref, item, scenes::colours()[static_cast<std::size_t>(colour)], px, py);
  double max_err = 0, sum = 0;
  for (std::int64_t i = 0; i < ref.numel(); ++i) {
    max_err = std::max(max_err, std::abs(double(x.data()[3 * 64 * 64 + i]) - ref.data()[i] / 255.0));
    sum += x.data()[i];  // slot 0 untouched
  }
  CHECK(max_err < 1e-7);
  CHECK(sum == 0.0);
}

TEST_CASE("pretrain_scenes_backbone: a short run learns colour, saves and reloads", "[backbones]") {
  manual_seed(3);
  ScenesCNN net;
  model::PretrainOptions o;
  o.epochs = 3;
  o.lr = 1e-2;
  o.train_items = 384;
  o.val_items = 200;
  o.batch = 32;
  o.canvas = 48;
  o.warmup_steps = 4;
  o.seed = 11;
  int epochs_heard = 0;
  const model::PretrainResult r = model::pretrain_scenes_backbone(net, o, [&](const model::PretrainEpoch& e) {
    ++epochs_heard;
    CHECK(e.items == 384);
    CHECK(std::isfinite(e.loss));
  });
  CHECK(epochs_heard == 3);
  CHECK(r.epochs == 3);
  CHECK(r.steps == 36);
  CHECK(r.items == 1152);
  CHECK(r.val_class_accuracy >= 0.0);
  CHECK(r.val_class_accuracy <= 1.0);
  // Colour is easy: far above chance (1/7) after 36 small steps (0.97 seen); class above chance (1/10; 0.3 seen).
  CHECK(r.val_colour_accuracy > 0.6);
  CHECK(r.val_colour_accuracy <= 1.0);
  CHECK(r.val_class_accuracy > 0.2);
  CHECK_FALSE(net.is_training());
  // The validation numbers are reproducible from the returned net.
  const FashionMnist fm = load_fashion_mnist(fashion_mnist_default_dir, "train");
  std::vector<std::int64_t> val(200);
  for (std::int64_t i = 0; i < 200; ++i) val[static_cast<std::size_t>(i)] = model::kSceneTrainItems + i;
  const auto [vc, vk] = model::single_item_accuracy(net, fm, val, 48, 11);
  CHECK(vc == r.val_class_accuracy);
  CHECK(vk == r.val_colour_accuracy);

  testing::TempDir dir("pretrain_backbone");
  const auto path = dir.path / "scenes_cnn.safetensors";
  save_state_dict(path, net, {{"model", net.name()}});
  auto loaded = backbones::make_backbone("scenes_cnn");
  backbones::load_backbone_weights(*loaded, path);
  loaded->eval();
  const Tensor<float> x = testing::randn<float>(Shape{2, 3, 128, 128}, 21);
  const Tensor<float> a = net.predict(x), b = loaded->predict(x);
  REQUIRE(a.shape() == b.shape());
  for (std::int64_t i = 0; i < a.numel(); ++i) REQUIRE(a.data()[i] == b.data()[i]);
}

}  // namespace freqcap_test_pretrain_backbone
