// The captioner end to end on a tiny Fashion Scenes set: model files round
// trip (fp32 exactly, fp16 within rounding), beam 1 equals greedy, a fixed
// batch is overfit to near-zero loss, an interrupted run resumed from its
// checkpoint ends with the uninterrupted run's weights, and bad input (a
// missing image, an empty caption list, an over-long caption, a model file
// of another kind or format) gives clear errors or counted warnings.
#include <catch2/catch.hpp>


#include <sstream>

#include "freqcap/data/scenes.hpp"
#include "freqcap/model/trainer.hpp"
#include "support.hpp"

namespace freqcap_test_captioner {  // own scope: the unity build joins test files

using namespace freqcap;
using freqcap::testing::TempDir;

namespace {

/// A small but real configuration: the scenes backbone at 64x64 (4x4 tokens).
model::CaptionerConfig tiny_config() {
  model::CaptionerConfig c = model::scenes_config();
  c.image_size = 64;
  c.embed_dim = 32;
  c.num_heads = 2;
  c.key_dim = 16;
  c.ff_dim = 48;
  return c;
}

/// A Fashion Scenes set of 16 / 4 / 4 images, made once per test run.
const std::filesystem::path& tiny_scenes() {
  static TempDir dir("captioner_scenes");
  static bool made = false;
  if (!made) {
    scenes::MakeScenesOptions o;
    o.out_dir = dir.path;
    o.train = 16;
    o.val = 4;
    o.test = 4;
    o.seed = 7;
    scenes::make_scenes(o);
    made = true;
  }
  return dir.path;
}

std::unique_ptr<model::Captioner> tiny_model(const model::CaptionDataset& train, std::uint64_t seed = 3) {
  manual_seed(seed);
  return std::make_unique<model::Captioner>(tiny_config(), Vocabulary::build(model::all_captions(train), 100));
}

double max_weight_diff(const model::Captioner& a, const model::Captioner& b) {
  const auto da = a.state_dict(), db = b.state_dict();
  REQUIRE(da.size() == db.size());
  double m = 0;
  for (const auto& [name, t] : da)
    m = std::max(m, static_cast<double>(max_abs_diff(nn::as_tensor<float>(t), nn::as_tensor<float>(db.at(name)))));
  return m;
}

}  // namespace

TEST_CASE("captioner model file round trips in fp32 and fp16", "[captioner]") {
  const auto train = model::read_caption_dataset(tiny_scenes() / "train.json");
  auto net = tiny_model(train);
  TempDir tmp("captioner_file");
  model::save_captioner(tmp / "m.safetensors", *net);
  auto back = model::load_captioner(tmp / "m.safetensors");
  CHECK(max_weight_diff(*net, *back) == 0.0);
  CHECK(back->vocabulary().words() == net->vocabulary().words());
  CHECK(back->config().to_json() == net->config().to_json());
  model::save_captioner(tmp / "h.safetensors", *net, true);
  auto half = model::load_captioner(tmp / "h.safetensors");
  CHECK(max_weight_diff(*net, *half) < 2e-3);  // |w| < 2 here, fp16 keeps 11 bits
  CHECK(std::filesystem::file_size(tmp / "h.safetensors") < std::filesystem::file_size(tmp / "m.safetensors"));
  // Same weights -> same captions.
  const Tensor<float> imgs = model::load_image_batch(train, {0, 1, 2});
  net->eval();
  CHECK(net->caption_images(imgs) == back->caption_images(imgs));
}

TEST_CASE("captioner: beam 1 equals greedy; beam K returns one caption per image", "[captioner]") {
  const auto train = model::read_caption_dataset(tiny_scenes() / "train.json");
  auto net = tiny_model(train, 11);
  net->eval();
  const Tensor<float> tokens = net->image_tokens(net->preprocess(model::load_image_batch(train, {0, 1, 2, 3, 4})));
  model::GenerateOptions g;
  const auto greedy = net->generate(tokens, g);
  g.beam = 1;
  CHECK(net->generate(tokens, g) == greedy);
  g.beam = 3;
  CHECK(net->generate(tokens, g).size() == 5);
  // Batched decoding equals one image at a time.
  g.beam = 1;
  g.batch = 1;
  CHECK(net->generate(tokens, g) == greedy);
}

TEST_CASE("captioner overfits a fixed small batch to near-zero loss", "[captioner]") {
  const auto train = model::read_caption_dataset(tiny_scenes() / "train.json");
  auto net = tiny_model(train);
  // One caption per image: with all five the first words are ambiguous given
  // the image, and the loss floor is that entropy, not zero.
  const auto enc = model::encode_captions(train, net->vocabulary(), net->max_tokens(), 1);
  const std::vector<std::int64_t> idx{0, 1, 2, 3};
  net->eval();
  const Tensor<float> tokens = net->image_tokens(net->preprocess(model::load_image_batch(train, idx)));
  for (auto& [n, p] : net->backbone().named_parameters()) p.set_requires_grad(false);
  std::vector<Var<float>> params;
  for (auto& [n, p] : net->named_parameters())
    if (p.requires_grad()) params.push_back(p);
  nn::Adam adam(params, nn::AdamOptions(3e-3));
  const auto inputs = model::gather_captions(enc.inputs, idx);
  const auto targets = model::gather_captions(enc.targets, idx);
  const auto mask = model::gather_captions(enc.mask, idx);
  std::mt19937 rng(5);
  auto eval_loss = [&] {
    NoGradGuard ng;
    net->eval();
    return masked_cross_entropy(net->caption_logits(net->encode(Var<float>(tokens), rng), inputs, rng), targets, mask).item();
  };
  const double before = eval_loss();
  for (int step = 0; step < 300; ++step) {
    net->train();
    net->backbone().eval();
    adam.zero_grad();
    auto loss = masked_cross_entropy(net->caption_logits(net->encode(Var<float>(tokens), rng), inputs, rng), targets, mask);
    loss.backward();
    adam.step();
  }
  const double after = eval_loss();
  INFO("loss before " << before << ", after " << after);
  CHECK(before > 2.0);
  CHECK(after < 0.05);
}

TEST_CASE("captioner: a run resumed from its checkpoint ends with the uninterrupted run's weights", "[captioner][slow]") {
  const auto dir = tiny_scenes();
  const auto train = model::read_caption_dataset(dir / "train.json");
  const auto val = model::read_caption_dataset(dir / "val.json");
  TempDir tmp("captioner_resume");
  model::TrainOptions opt;
  opt.epochs = 3;
  opt.batch = 4;
  opt.lr = 2e-3;
  opt.warmup = 3;
  opt.patience = 0;
  opt.seed = 9;
  std::ostringstream log;

  opt.out = tmp / "full.safetensors";
  auto full = tiny_model(train);
  model::train_captioner(*full, train, &val, opt, log);

  opt.out = tmp / "part.safetensors";
  opt.stop_after = 1;
  auto part = tiny_model(train);
  model::train_captioner(*part, train, &val, opt, log);
  part.reset();  // the "killed" process is gone; only its files remain
  opt.stop_after = 0;
  const auto ckpt = model::checkpoint_path(opt.out);
  auto resumed = model::load_captioner(ckpt, "model.");
  const auto extras = model::read_checkpoint_extras(ckpt);
  CHECK(extras.state.epoch == 1);
  model::train_captioner(*resumed, train, &val, opt, log, &extras);

  auto a = model::load_captioner(tmp / "full.safetensors");
  auto b = model::load_captioner(tmp / "part.safetensors");
  CHECK(max_weight_diff(*a, *b) <= 1e-6);
  CHECK(max_weight_diff(*full, *resumed) <= 1e-6);
  // The log holds one row per epoch over both runs.
  std::ifstream csv(model::log_path(opt.out));
  std::string line;
  int rows = 0;
  while (std::getline(csv, line)) ++rows;
  CHECK(rows == 1 + 3);
}

TEST_CASE("captioner data: bad input is reported clearly", "[captioner]") {
  TempDir tmp("captioner_bad");
  const auto dir = tiny_scenes();
  const std::string img = (dir / "images" / "train_000000.png").string();
  SECTION("a missing image names the JSON and the image") {
    testing::write_bytes(tmp / "t.json", "{\"" + img + "\": [\"a red bag\"], \"nope.png\": [\"a red bag\"]}");
    CHECK_THROWS_WITH(model::read_caption_dataset(tmp / "t.json"),
                      Catch::Contains("t.json") && Catch::Contains("nope.png") && Catch::Contains("does not exist"));
  }
  SECTION("an empty caption list") {
    testing::write_bytes(tmp / "t.json", "{\"" + img + "\": []}");
    CHECK_THROWS_WITH(model::read_caption_dataset(tmp / "t.json"), Catch::Contains("no reference captions"));
  }
  SECTION("an empty caption") {
    testing::write_bytes(tmp / "t.json", "{\"" + img + "\": [\"a red bag\", \" ... \"]}");
    CHECK_THROWS_WITH(model::read_caption_dataset(tmp / "t.json"), Catch::Contains("caption 1") && Catch::Contains("empty"));
  }
  SECTION("captions longer than seq_len are truncated and counted") {
    std::string longer = "a";
    for (int i = 0; i < 30; ++i) longer += " red";
    testing::write_bytes(tmp / "t.json", "{\"" + img + "\": [\"a red bag\", \"" + longer + "\"]}");
    const auto d = model::read_caption_dataset(tmp / "t.json");
    const auto v = Vocabulary::build(model::all_captions(d), 50);
    const auto e = model::encode_captions(d, v, 24, 2);
    CHECK(e.truncated == 1);
    CHECK(e.targets.data()[2 * 24 - 1] != v.end_id());  // cut: no room for <end>
  }
  SECTION("model files of another kind or an older format are refused") {
    const auto train = model::read_caption_dataset(dir / "train.json");
    auto net = tiny_model(train);
    save_state_dict(tmp / "backbone.safetensors", net->backbone());
    CHECK_THROWS_WITH(model::load_captioner(tmp / "backbone.safetensors"), Catch::Contains("not a freqcap captioner"));
    auto meta = model::captioner_metadata(*net);
    auto j = nlohmann::json::parse(meta[model::kConfigKey]);
    j["format"] = 0;
    meta[model::kConfigKey] = j.dump();
    save_state_dict(tmp / "old.safetensors", *net, meta);
    CHECK_THROWS_WITH(model::load_captioner(tmp / "old.safetensors"), Catch::Contains("format 0"));
    j.erase("format");
    meta[model::kConfigKey] = j.dump();
    save_state_dict(tmp / "older.safetensors", *net, meta);
    CHECK_THROWS_WITH(model::load_captioner(tmp / "older.safetensors"), Catch::Contains("no format version"));
    // A config that says 3 decoder blocks where the file holds 1: every missing weight is listed.
    j["format"] = model::kCaptionerFormat;
    j["dec_layers"] = 3;
    meta[model::kConfigKey] = j.dump();
    save_state_dict(tmp / "mismatch.safetensors", *net, meta);
    CHECK_THROWS_WITH(model::load_captioner(tmp / "mismatch.safetensors"),
                      Catch::Contains("mismatch.safetensors") && Catch::Contains("missing"));
  }
}

TEST_CASE("captioner: augmented images with a jointly trained backbone go through the worker-thread loader",
          "[captioner][slow]") {
  const auto dir = tiny_scenes();
  const auto train = model::read_caption_dataset(dir / "train.json");
  TempDir tmp("captioner_joint");
  model::TrainOptions opt;
  opt.epochs = 1;
  opt.batch = 8;
  opt.augment = true;
  opt.train_backbone = true;
  opt.loader_threads = 2;
  opt.patience = 0;
  opt.seed = 4;
  std::ostringstream log;
  auto run = [&](const char* name) {
    opt.out = tmp / name;
    auto net = tiny_model(train);
    const auto before = net->backbone().state_dict();
    std::vector<Tensor<float>> kept;
    for (const auto& [n, t] : before) kept.push_back(nn::as_tensor<float>(t).clone());
    const auto r = model::train_captioner(*net, train, nullptr, opt, log);
    REQUIRE(r.epochs.size() == 1);
    CHECK(std::isfinite(r.epochs[0].train_loss));
    // The backbone moved (it was trained) and its BatchNorm statistics too.
    double moved = 0;
    std::size_t i = 0;
    for (const auto& [n, t] : net->backbone().state_dict())
      moved = std::max(moved, static_cast<double>(max_abs_diff(nn::as_tensor<float>(t), kept[i++])));
    CHECK(moved > 0.0);
    return net;
  };
  auto a = run("a.safetensors");
  auto b = run("b.safetensors");
  // Same seed, two loader threads: the same augmented batches, the same weights.
  CHECK(max_weight_diff(*a, *b) == 0.0);
}

#if defined(FREQCAP_HAVE_EXAMPLES) && FREQCAP_HAVE_EXAMPLES
TEST_CASE("freqcap-train, freqcap-caption and freqcap-predict run end to end and fail cleanly",
          "[captioner][examples][slow]") {
  const auto dir = tiny_scenes();
  TempDir tmp("captioner_programs");
  const std::string bin = std::string(FREQCAP_EXAMPLES_DIR) + "/";
  const auto out = tmp / "out.txt";
  auto run = [&](const std::string& cmd) { return testing::run_program(cmd, out); };
  const std::string model = (tmp / "m.safetensors").string();
  const auto [rc, text] = run("'" + bin + "freqcap-train' --data '" + dir.string() + "' --out '" + model +
                              "' --image-size 64 --embed-dim 32 --heads 2 --key-dim 16 --ff-dim 48 --epochs 2 --batch 8 "
                              "--threads 1 --val-bleu 4");
  INFO(text);
  REQUIRE(rc == 0);
  CHECK(text.find("epoch 2/2") != std::string::npos);
  CHECK(std::filesystem::exists(model));
  CHECK(std::filesystem::exists(model + ".ckpt"));
  CHECK(testing::read_bytes(model + ".csv").find("epoch,train_loss") == 0);

  const std::string img0 = (dir / "images" / "test_000000.png").string(), img1 = (dir / "images" / "test_000001.png").string();
  const auto [rc_c, text_c] = run("'" + bin + "freqcap-caption' --model '" + model + "' --beam 2 --threads 1 '" + img0 + "' '" + img1 + "'");
  INFO(text_c);
  CHECK(rc_c == 0);
  CHECK(text_c.find(img0 + "\t") == 0);
  CHECK(text_c.find("\n" + img1 + "\t") != std::string::npos);

  const std::string pred = (tmp / "prediction.json").string();
  const auto [rc_p, text_p] = run("'" + bin + "freqcap-predict' --model '" + model + "' --test '" + (dir / "test.json").string() +
                                  "' --out '" + pred + "' --threads 1");
  INFO(text_p);
  CHECK(rc_p == 0);
  const CaptionSet p = read_prediction_captions(pred);
  CHECK(p.size() == 4);
  CHECK(p[0].path == "images/test_000000.png");

  // Bad input: a missing image, and a backbone file given as a model.
  const auto [rc_m, text_m] = run("'" + bin + "freqcap-caption' --model '" + model + "' '" + (tmp / "nope.png").string() + "'");
  CHECK(rc_m == 1);
  CHECK(text_m.find("error: ") != std::string::npos);
  CHECK(text_m.find("nope.png") != std::string::npos);
  const auto [rc_k, text_k] = run("'" + bin + "freqcap-predict' --model '" + model + ".ckpt' --test '" + (dir / "test.json").string() +
                                  "' --out '" + pred + "'");
  CHECK(rc_k == 1);
  CHECK(text_k.find("training checkpoint") != std::string::npos);
}
#endif

}  // namespace freqcap_test_captioner
