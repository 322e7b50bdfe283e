// backbones/: parity with torchvision (weights exported and reference
// outputs computed at test time by tools/reference_outputs.py into
// <build>/parity/, one torch run per model), parameter counts against
// torchvision's, the weight loader's errors, minimum input sizes, SE's
// scale op gradient and stochastic depth statistics.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <utility>
#include <string>
#include <vector>

#include "freqcap/autograd/gradcheck.hpp"
#include "freqcap/backbones/factory.hpp"
#include "freqcap/core/threads.hpp"
#include "freqcap/data/image.hpp"  // with test_image.cpp: two TUs with freqcap's static stb must link
#include "freqcap/data/preprocess.hpp"
#include "support.hpp"

#ifndef FREQCAP_SOURCE_DIR
#define FREQCAP_SOURCE_DIR "."
#endif
#ifndef FREQCAP_BINARY_DIR
#define FREQCAP_BINARY_DIR "."
#endif

namespace freqcap_test_backbones {  // own scope: the unity build joins test files

using namespace freqcap;
using namespace freqcap::backbones;
namespace fs = std::filesystem;

namespace {

fs::path parity_dir() { return fs::path(FREQCAP_BINARY_DIR) / "parity"; }

using testing::max_abs;
using testing::relative_error;

// Runs tools/reference_outputs.py for `model` unless its outputs exist.
void ensure_reference(const std::string& model, const std::string& shapes) {
  const fs::path dir = parity_dir();
  testing::run_reference_tool("reference_outputs.py",
                              "--model " + model + " --out-dir '" + dir.string() + "' --shapes " + shapes,
                              dir / (model + ".log"), dir / (model + ".done"));
}

// Compares `net_name` (default: model) with torchvision's `model` on every
// reference input; an FR variant gets the dense weights through a DCT.
void check_parity(const std::string& model, const std::string& shapes, const std::string& net_name = "") {
  ensure_reference(model, shapes);
  auto net = make_backbone(net_name.empty() ? model : net_name);
  load_backbone_weights(*net, parity_dir() / (model + ".weights.safetensors"));
  net->eval();
  const SafetensorsFile ref = SafetensorsFile::open(parity_dir() / (model + ".reference.safetensors"));
  // Parameter count as torchvision reports it.
  CHECK(std::to_string(net->parameter_count()) == ref.metadata().at("parameter_count"));
  std::size_t n_shapes = 1;
  for (char c : shapes) n_shapes += c == ',';
  for (std::size_t i = 0; i < n_shapes; ++i) {
    const std::string k = std::to_string(i);
    const Tensor<float> x = ref.get<float>("input_" + k);
    NoGradGuard ng;
    const Var<float> f = net->features(Var<float>(x));
    const Var<float> logits = net->classify(f);
    const double ef = relative_error(f.value(), ref.get<float>("features_" + k));
    const double el = relative_error(logits.value(), ref.get<float>("logits_" + k));
    INFO(model << " input " << shape_str(x.shape()) << ": features error " << ef << ", logits error " << el
               << " (relative to max |ref|)");
    CHECK(ef <= 1e-4);
    CHECK(el <= 1e-4);
  }
}

}  // namespace

TEST_CASE("alexnet parity with torchvision", "[backbones][parity][slow]") {
  check_parity("alexnet", "2x224x224,1x160x96");
}
TEST_CASE("resnet50 parity with torchvision", "[backbones][parity][slow]") {
  check_parity("resnet50", "2x224x224,1x160x96");
}
TEST_CASE("mobilenet_v2 parity with torchvision", "[backbones][parity][slow]") {
  check_parity("mobilenet_v2", "2x224x224,1x160x96");
}
TEST_CASE("efficientnet_b0 parity with torchvision", "[backbones][parity][slow]") {
  check_parity("efficientnet_b0", "2x224x224,1x160x96,1x299x299");
}
TEST_CASE("efficientnet_b1 parity with torchvision", "[backbones][parity][slow]") {
  check_parity("efficientnet_b1", "2x224x224,1x160x96");
}

// The FR variants share the dense references: the same tree, dense weights
// loaded through a DCT (all coefficients kept) reproduce torchvision.
TEST_CASE("alexnet_fr parity with torchvision through a DCT of the dense weights", "[backbones][parity][slow]") {
  check_parity("alexnet", "2x224x224,1x160x96", "alexnet_fr");
}
TEST_CASE("efficientnet_b0_fr parity with torchvision through a DCT of the dense weights",
          "[backbones][parity][slow]") {
  check_parity("efficientnet_b0", "2x224x224,1x160x96,1x299x299", "efficientnet_b0_fr");
}

TEST_CASE("FR variants keep torchvision's names and put FR layers where the seed does", "[backbones]") {
  auto dense = make_backbone("efficientnet_b0");
  auto fr = make_backbone("efficientnet_b0_fr");
  const auto a = dense->state_dict().keys(), b = fr->state_dict().keys();
  CHECK(a == b);
  CHECK(dense->parameter_count() == fr->parameter_count());
  std::vector<std::string> fr_names;
  for (const auto& [name, layer] : dct::fr_layers(*fr)) fr_names.push_back(name);
  // Every convolution (SE's too) and the classifier's linear (Algorithm 3).
  std::size_t convs = 0;
  for (const auto& [name, m] : dense->named_modules())
    if (dynamic_cast<nn::Conv2d*>(m.get())) ++convs;
  CHECK(fr_names.size() == convs + 1);
  CHECK(std::find(fr_names.begin(), fr_names.end(), "features.1.0.block.1.fc1") != fr_names.end());
  CHECK(std::find(fr_names.begin(), fr_names.end(), "features.0.0") != fr_names.end());
  CHECK(std::find(fr_names.begin(), fr_names.end(), "features.2.1.block.3.0") != fr_names.end());
  CHECK(std::find(fr_names.begin(), fr_names.end(), "classifier.1") != fr_names.end());
  AlexNet alex_fr(10, 0.5, dct::FROptions());
  CHECK(alex_fr.name() == "alexnet_fr");
  CHECK(dct::fr_layers(alex_fr).size() == 8);  // 5 convolutions + 3 linears (Algorithm 2)
}

TEST_CASE("dense weights compress into an FR backbone after training", "[backbones]") {
  // A dense MobileNet-sized check is enough: EfficientNet-B0 dense -> FR, all
  // coefficients kept, then a quarter of each layer's coefficients.
  manual_seed(11);
  auto dense = make_backbone("efficientnet_b0", 10);
  dense->eval();
  const fs::path path = fs::temp_directory_path() / "freqcap_test_backbones_dense_b0.safetensors";
  save_state_dict(path, *dense, {{"model", "efficientnet_b0"}});
  auto fr = std::make_shared<EfficientNet>("efficientnet_b0_fr", 1.0, 1.0, 10, 0.2, 0.2, dct::FROptions());
  load_backbone_weights(*fr, path);
  fr->eval();
  Tensor<float> x(Shape{1, 3, 64, 64});
  std::mt19937 rng(1);
  std::normal_distribution<float> nd;
  for (std::int64_t i = 0; i < x.numel(); ++i) x.data()[i] = nd(rng);
  const Tensor<float> ref = dense->predict(x);
  CHECK(relative_error(fr->predict(x), ref) <= 1e-4);
  // Post-training compression: keep 25% of every FR layer's coefficients.
  for (auto& [name, layer] : dct::fr_layers(*fr)) layer->set_kept(std::max<std::int64_t>(1, layer->coefficient_count() / 4));
  const Tensor<float> compressed = fr->predict(x);
  const double err = relative_error(compressed, ref);
  CHECK(std::isfinite(err));
  CHECK(err > 1e-4);  // the truncation is in effect
  // Loading the coefficient file of the FR model back gives the same outputs.
  const fs::path coef = fs::temp_directory_path() / "freqcap_test_backbones_coef_b0.safetensors";
  save_state_dict(coef, *fr, {{"model", "efficientnet_b0_fr"}});
  auto fr2 = std::make_shared<EfficientNet>("efficientnet_b0_fr", 1.0, 1.0, 10, 0.2, 0.2, dct::FROptions());
  load_backbone_weights(*fr2, coef);
  for (auto& [name, layer] : dct::fr_layers(*fr2)) layer->set_kept(std::max<std::int64_t>(1, layer->coefficient_count() / 4));
  fr2->eval();
  CHECK(relative_error(fr2->predict(x), compressed) == 0.0);
  fs::remove(path);
  fs::remove(coef);
}

TEST_CASE("backbone weight loading lists missing, unexpected and mis-shaped tensors in one error", "[backbones]") {
  auto net = make_backbone("mobilenet_v2");
  nn::StateDict dict;
  for (const auto& [name, t] : net->state_dict())
    std::visit([&, &name = name](const auto& v) { dict.insert(name, v.clone()); }, t);
  nn::StateDict bad;
  for (const auto& [name, t] : dict) {
    if (name == "features.3.conv.1.1.running_var") continue;  // missing
    if (name == "classifier.1.bias") {
      bad.insert(name, Tensor<float>(Shape{999}));  // mis-shaped
      continue;
    }
    bad.insert(name, t);
  }
  bad.insert("features.99.weight", Tensor<float>(Shape{3}));  // unexpected
  const fs::path path = fs::temp_directory_path() / "freqcap_test_backbones_bad.safetensors";
  save_state_dict(path, bad);
  const Tensor<float> before = net->state_dict().get<float>("classifier.1.weight").clone();
  try {
    load_backbone_weights(*net, path);
    FAIL("no error");
  } catch (const Error& e) {
    const std::string msg = e.what();
    INFO(msg);
    CHECK(msg.find(path.string()) != std::string::npos);
    CHECK(msg.find("features.3.conv.1.1.running_var") != std::string::npos);
    CHECK(msg.find("features.99.weight") != std::string::npos);
    CHECK(msg.find("classifier.1.bias") != std::string::npos);
    CHECK(msg.find("[999]") != std::string::npos);
  }
  // Nothing was modified.
  const Tensor<float> after = net->state_dict().get<float>("classifier.1.weight");
  CHECK(std::equal(before.data(), before.data() + before.numel(), after.data()));
  fs::remove(path);
}

TEST_CASE("a weight file for another backbone is reported as such", "[backbones]") {
  auto mobilenet = make_backbone("mobilenet_v2");
  auto effnet = make_backbone("efficientnet_b0");
  const fs::path plain = fs::temp_directory_path() / "freqcap_test_backbones_other.safetensors";
  const fs::path tagged = fs::temp_directory_path() / "freqcap_test_backbones_tagged.safetensors";
  save_state_dict(plain, *mobilenet);
  save_state_dict(tagged, *mobilenet, {{"model", "mobilenet_v2"}});
  CHECK_THROWS_WITH(load_backbone_weights(*effnet, plain),
                    Catch::Contains("not a state dict for 'efficientnet_b0'") && Catch::Contains("another backbone"));
  CHECK_THROWS_WITH(load_backbone_weights(*effnet, tagged),
                    Catch::Contains("weights for 'mobilenet_v2', not for 'efficientnet_b0'"));
  CHECK_NOTHROW(load_backbone_weights(*mobilenet, tagged));
  fs::remove(plain);
  fs::remove(tagged);
}

TEST_CASE("inputs smaller than a backbone's minimum raise a clear error", "[backbones]") {
  AlexNet net;
  net.eval();
  // AlexNet's features need 63 px: conv 11/4 -> 15 -> pool 7 -> pool 3 -> pool 1.
  const Tensor<float> ok(Shape{1, 3, 63, 70});
  CHECK(net.extract_features(ok).shape() == Shape{1, 256, 1, 1});
  CHECK_THROWS_WITH(net.extract_features(Tensor<float>(Shape{1, 3, 62, 100})),
                    Catch::Contains("alexnet") && Catch::Contains("62x100") && Catch::Contains("63"));
  CHECK_THROWS_WITH(net.predict(Tensor<float>(Shape{1, 3, 100, 40})), Catch::Contains("40"));
  CHECK_THROWS_WITH(net.predict(Tensor<float>(Shape{1, 1, 100, 100})), Catch::Contains("[N, 3, H, W]"));
  CHECK_THROWS_WITH(make_backbone("vgg16"), Catch::Contains("unknown backbone 'vgg16'"));
}

TEST_CASE("feature maps have the documented shapes and inference keeps no graph", "[backbones]") {
  for (const auto& name : {"mobilenet_v2", "efficientnet_b0"}) {
    auto net = make_backbone(name);
    net->eval();
    const Tensor<float> x(Shape{1, 3, 64, 96}, 0.5f);
    NoGradGuard ng;
    const Var<float> f = net->features(Var<float>(x));
    CHECK(f.shape() == Shape{1, net->feature_channels(), 2, 3});
    CHECK(f.node()->parents.empty());
    CHECK(!f.requires_grad());
    CHECK(net->classify(f).shape() == Shape{1, 1000});
  }
}

TEST_CASE("backbones start from torchvision's initialisation", "[backbones]") {
  manual_seed(5);
  auto std_of = [](const Tensor<float>& t) {
    double s = 0, s2 = 0;
    for (std::int64_t i = 0; i < t.numel(); ++i) s += t.data()[i], s2 += double(t.data()[i]) * t.data()[i];
    const double n = double(t.numel()), m = s / n;
    return std::sqrt(s2 / n - m * m);
  };
  ResNet50 resnet;
  // kaiming_normal_(fan_out): std = sqrt(2 / (out * kh * kw)).
  const Tensor<float> w = resnet.layers[3]->at<Bottleneck>(0)->conv2->weight.value();  // [512, 512, 3, 3]
  CHECK(std_of(w) == Approx(std::sqrt(2.0 / (512 * 9))).epsilon(0.01));
  auto effnet = efficientnet_b0();
  const Tensor<float> fc = effnet->classifier->at<nn::Linear>(1)->weight.value();  // U(+-1/sqrt(1000))
  CHECK(std_of(fc) == Approx(1.0 / std::sqrt(1000.0) / std::sqrt(3.0)).epsilon(0.01));
  CHECK(max_abs(effnet->classifier->at<nn::Linear>(1)->bias.value()) == 0.0);
  MobileNetV2 mobilenet;
  CHECK(std_of(mobilenet.classifier->at<nn::Linear>(1)->weight.value()) == Approx(0.01).epsilon(0.01));
}

TEST_CASE("a decoded image runs through preprocessing and a backbone", "[backbones]") {
  const Tensor<float> img = load_image(fs::path(FREQCAP_SOURCE_DIR) / "tests" / "fixtures" / "image" / "gradient.png");
  const Tensor<float> x = fixed_size_preprocess(96)(img);
  auto net = make_backbone("mobilenet_v2");
  net->eval();
  const Tensor<float> f = net->extract_features(x.reshape(Shape{1, 3, 96, 96}));
  CHECK(f.shape() == Shape{1, 1280, 3, 3});
  CHECK(std::isfinite(max_abs(f)));
}

/// Random BatchNorm statistics and affine terms (not the 1 / 0 of a fresh layer).
void randomise(nn::BatchNorm2d& bn, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (std::int64_t c = 0; c < bn.running_mean.numel(); ++c) {
    bn.running_mean.data()[c] = u(rng);
    bn.running_var.data()[c] = 0.5f + 0.5f * (u(rng) + 1.0f);
    bn.weight.value().data()[c] = 1.0f + 0.5f * u(rng);
    bn.bias.value().data()[c] = 0.5f * u(rng);
  }
}

TEST_CASE("Conv2dNormActivation folds BatchNorm into the convolution for inference only", "[backbones]") {
  // Random BN statistics and affine terms (not the 1 / 0 of a fresh layer),
  // every activation, stride 1 and 2, a depthwise one: the folded inference
  // forward equals the three modules run in turn within 1e-5 of the output
  // scale (they round differently: w * a summed against a * sum w).
  const ConvBNActOptions cases[] = {
      ConvBNActOptions(5, 12, 3).act(Act::relu),
      ConvBNActOptions(5, 12, 3).stride(2).act(Act::relu6),
      ConvBNActOptions(8, 8, 3).groups(8).act(Act::silu),
      ConvBNActOptions(5, 7, 1).act(Act::none),
  };
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (const ConvBNActOptions& o : cases) {
    INFO("activation " << int(o.act()) << ", stride " << o.stride() << ", groups " << o.groups());
    auto block = conv_bn_act(o);
    auto bn = block->at<nn::BatchNorm2d>(1);
    REQUIRE(bn);
    randomise(*bn, rng);
    block->train(false);
    Tensor<float> x(Shape{2, o.in(), 9, 10});
    for (std::int64_t i = 0; i < x.numel(); ++i) x.data()[i] = u(rng);
    Tensor<float> folded, chained;
    CHECK_FALSE(block->folds_batch_norm());  // a graph is being recorded
    {
      NoGradGuard ng;
      CHECK(block->folds_batch_norm());
      folded = block->forward(Var<float>(x)).value();
      Var<float> h(x);
      for (std::size_t i = 0; i < block->size(); ++i) h = (*block)[i]->forward(h);
      chained = h.value();
    }
    REQUIRE(folded.shape() == chained.shape());
    CHECK(relative_error(folded, chained) <= 1e-5);
    // With a graph the block runs its three modules in turn; in training too.
    const Tensor<float> with_graph = block->forward(Var<float>(x, true)).value();
    CHECK(relative_error(with_graph, chained) == 0.0);
    block->train(true);
    NoGradGuard ng;
    CHECK_FALSE(block->folds_batch_norm());
  }
}

TEST_CASE("an FR Conv2dNormActivation folds its eval reconstruction and follows coefficient changes", "[backbones]") {
  // The FR convolution keeps 40 of its 540 coefficients. In eval mode
  // without a graph the block folds BatchNorm into IDCT(C * M), equal to the
  // three modules in turn within 1e-5 of the output scale; after a kept
  // coefficient changes, the fold uses the new reconstruction.
  auto block = conv_bn_act(ConvBNActOptions(6, 10, 3).act(Act::silu).fr(dct::FROptions{}));
  auto fr = block->at<dct::FRConv2d>(0);
  auto bn = block->at<nn::BatchNorm2d>(1);
  REQUIRE(fr);
  REQUIRE(bn);
  fr->set_kept(40);
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  randomise(*bn, rng);
  Tensor<float> x(Shape{2, 6, 8, 9});
  for (std::int64_t i = 0; i < x.numel(); ++i) x.data()[i] = u(rng);
  // In training mode nothing folds, and reading the parts takes no schedule step.
  {
    NoGradGuard ng;
    CHECK_FALSE(block->folds_batch_norm());
    const std::int64_t step = fr->step();
    const ConvParts parts = conv_parts(*fr);
    CHECK(fr->step() == step);
    CHECK(relative_error(parts.weight, fr->reconstructed_weight()) == 0.0);
  }
  block->train(false);
  CHECK_FALSE(block->folds_batch_norm());  // a graph is being recorded
  NoGradGuard ng;
  REQUIRE(block->folds_batch_norm());
  auto chained = [&] {
    Var<float> h(x);
    for (std::size_t i = 0; i < block->size(); ++i) h = (*block)[i]->forward(h);
    return h.value();
  };
  const Tensor<float> before = block->forward(Var<float>(x)).value();
  CHECK(relative_error(before, chained()) <= 1e-5);
  // Change the first kept coefficient (index 0 ranks first): the cached
  // reconstruction is dropped and the fold follows.
  fr->weight.value().data()[0] += 0.5f;
  const Tensor<float> after = block->forward(Var<float>(x)).value();
  CHECK(relative_error(after, before) > 1e-3);
  CHECK(relative_error(after, chained()) <= 1e-5);
  CHECK(fr->kept() == 40);
}

TEST_CASE("folded Conv+BN of a large layer is folded and packed over the threads with the bits of one thread", "[backbones]") {
  // 256 x 64 x 3 x 3 = 147,456 weights: enough for folded_conv_bn to fold,
  // and pack_conv_weights to pack, over the threads. The result equals the
  // modules in turn (1e-5 of the scale), and a one-thread run to the bit.
  auto block = conv_bn_act(ConvBNActOptions(64, 256, 3).act(Act::relu));
  auto bn = block->at<nn::BatchNorm2d>(1);
  REQUIRE(bn);
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  randomise(*bn, rng);
  block->train(false);
  Tensor<float> x(Shape{1, 64, 12, 12});
  for (std::int64_t i = 0; i < x.numel(); ++i) x.data()[i] = u(rng);
  // With a graph it refuses to fold by hand.
  auto conv = block->at<nn::Conv2d>(0);
  REQUIRE(conv);
  CHECK_THROWS_AS(folded_conv_bn(conv_parts(*conv), *bn, Var<float>(x), kernels::Act::relu), Error);
  NoGradGuard ng;
  const Tensor<float> folded = block->forward(Var<float>(x)).value();
  Var<float> h(x);
  for (std::size_t i = 0; i < block->size(); ++i) h = (*block)[i]->forward(h);
  CHECK(relative_error(folded, h.value()) <= 1e-5);
  const int threads = freqcap::num_threads();
  freqcap::set_num_threads(1);
  const Tensor<float> one = block->forward(Var<float>(x)).value();
  freqcap::set_num_threads(threads);
  CHECK(relative_error(one, folded) == 0.0);
}

TEST_CASE("make_divisible follows torchvision's rounding", "[backbones]") {
  // _make_divisible(v, 8): nearest multiple of 8, at least 8, never < 0.9 v.
  CHECK(make_divisible(32.0) == 32);
  CHECK(make_divisible(24.0 * 0.75) == 24);  // 18 -> 16, below 0.9 * 18 -> 24
  CHECK(make_divisible(3.0) == 8);
  CHECK(make_divisible(1280.0 * 1.4) == 1792);
}

TEST_CASE("scale_channels gradient matches finite differences", "[backbones][autograd]") {
  std::mt19937 rng(3);
  std::normal_distribution<double> nd;
  Tensor<double> x(Shape{2, 3, 4, 5}), s(Shape{2, 3, 1, 1});
  for (std::int64_t i = 0; i < x.numel(); ++i) x.data()[i] = nd(rng);
  for (std::int64_t i = 0; i < s.numel(); ++i) s.data()[i] = nd(rng);
  const auto r = gradcheck([](const std::vector<Var<double>>& in) { return scale_channels(in[0], in[1]); },
                           {Var<double>(x, true), Var<double>(s, true)});
  INFO(r.message);
  CHECK(r.ok);
}

TEST_CASE("stochastic depth drops whole samples in training and is the identity in eval", "[backbones]") {
  StochasticDepth sd(0.25);
  const std::int64_t N = 4000;
  const Var<float> x(Tensor<float>(Shape{N, 2, 1, 3}, 1.0f));
  sd.train();
  const Tensor<float> y = sd.forward(x).value();
  std::int64_t kept = 0;
  for (std::int64_t n = 0; n < N; ++n) {
    const float v = y.data()[n * 6];
    for (int i = 1; i < 6; ++i) REQUIRE(y.data()[n * 6 + i] == v);  // one decision per sample
    REQUIRE((v == 0.0f || std::abs(v - 1.0f / 0.75f) < 1e-6f));
    kept += v != 0.0f;
  }
  // Binomial(4000, 0.75): sd = 27.4; allow 5 sd.
  CHECK(std::abs(double(kept) - 3000.0) < 137.0);
  sd.eval();
  CHECK(sd.forward(x).node() == x.node());
}

#if defined(FREQCAP_HAVE_EXAMPLES) && FREQCAP_HAVE_EXAMPLES
TEST_CASE("freqcap-classify prints the top-5 classes of an image and fails cleanly on bad input",
          "[backbones][examples]") {
  const fs::path dir = fs::temp_directory_path() / "freqcap_test_backbones_classify";
  fs::create_directories(dir);
  const fs::path weights = dir / "mobilenet_v2.safetensors", out = dir / "out.txt";
  auto net = make_backbone("mobilenet_v2");
  save_state_dict(weights, *net, {{"model", "mobilenet_v2"}});
  const std::string exe = std::string(FREQCAP_EXAMPLES_DIR) + "/freqcap-classify";
  const std::string image = std::string(FREQCAP_SOURCE_DIR) + "/tests/fixtures/image/";
  auto run = [&](const std::string& args) {
    return testing::run_program("'" + exe + "' --threads 1 --weights '" + weights.string() + "' " + args, out);
  };
  const auto [rc, text] = run("'" + image + "gradient.png' '" + image + "gradient.jpg'");
  INFO(text);
  CHECK(rc == 0);
  CHECK(text.find("gradient.png\n  1\t") != std::string::npos);
  CHECK(text.find("gradient.jpg\n  1\t") != std::string::npos);
  CHECK(text.find("  5\t") != std::string::npos);
  const auto [rc_bad, text_bad] = run("'" + image + "truncated.png'");
  CHECK(rc_bad != 0);
  CHECK(text_bad.find("error: ") != std::string::npos);
  CHECK(text_bad.find("truncated.png") != std::string::npos);
  fs::remove_all(dir);
}
#endif

}  // namespace freqcap_test_backbones
