// Fashion Scenes v1 (data/scenes.hpp, scene_render.hpp, scene_items.hpp):
// captions against independent per-template regexes, scene invariants
// (distinct classes, on-canvas, non-overlap, layout relations), split
// sources, byte-identical determinism, PNG round trip, bilinear scaling
// against a floating-point reference, caption parsing and item recall.
#include <catch2/catch.hpp>

#include <cmath>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "freqcap/data/image.hpp"
#include "freqcap/data/scenes.hpp"
#include "support.hpp"

// Inside freqcap::scenes so that Layout means scenes::Layout, not core's tensor Layout.
namespace freqcap::scenes {

using freqcap::testing::TempDir;

namespace {

const char* const kFm = "/usr/share/datasets/fashion-mnist";

// Independent regexes, written from SCENES.md: C a colour, N any noun, M any synonym.
const std::string C = "(red|green|blue|yellow|white|purple|pink)";
const std::string N = "(top|pair of trousers|pullover|dress|coat|sandal|shirt|sneaker|bag|ankle boot)";
const std::string M = "(tee|pair of pants|sweater|gown|jacket|slipper|blouse|shoe|handbag|boot)";

std::vector<std::string> template_patterns(Layout l) {
  const std::string cn = C + " " + N, cm = C + " " + M;
  switch (l) {
    case Layout::single:
      return {"a " + cn, "a " + cm + " on a black background", "there is a " + cn + " in the picture",
              "a picture of a single " + cm, "one " + cn + " alone"};
    case Layout::horizontal:
      return {"a " + cn + " to the left of a " + cn, "a " + cm + " to the right of a " + cm,
              "a " + cn + " next to a " + cn, "two items a " + cm + " and a " + cm,
              "a " + cn + " and a " + cn + " side by side"};
    case Layout::vertical:
      return {"a " + cn + " above a " + cn, "a " + cm + " below a " + cm, "a " + cn + " on top of a " + cn,
              "two items a " + cm + " and a " + cm, "a " + cn + " stacked over a " + cn};
    case Layout::row:
      return {"a " + cn + " a " + cn + " and a " + cn, "three items a " + cm + " a " + cm + " and a " + cm,
              "a " + cn + " to the left of a " + cn + " and a " + cn, "a row of a " + cm + " a " + cm + " and a " + cm,
              "a " + cn + " between a " + cn + " and a " + cn};
  }
  return {};
}

void check_scene(const Scene& s) {
  const std::size_t k = s.items.size();
  REQUIRE(k >= 1);
  REQUIRE(k <= 3);
  CHECK((k == 1) == (s.layout == Layout::single));
  CHECK((k == 3) == (s.layout == Layout::row));
  std::set<int> labels;
  for (const auto& it : s.items) {
    labels.insert(it.label);
    CHECK(it.scale >= 1.0);
    CHECK(it.scale <= 1.5);
    CHECK(it.size == static_cast<int>(std::lround(28 * it.scale)));
    CHECK(it.x >= 0);
    CHECK(it.y >= 0);
    CHECK(it.x + it.size <= kCanvasSize);
    CHECK(it.y + it.size <= kCanvasSize);
    CHECK(it.colour >= 0);
    CHECK(it.colour < 7);
  }
  CHECK(labels.size() == k);
  for (std::size_t i = 0; i + 1 < k; ++i) {
    const auto &a = s.items[i], &b = s.items[i + 1];
    if (s.layout == Layout::vertical) CHECK(a.y + a.size <= b.y);  // A entirely above B
    else CHECK(a.x + a.size <= b.x);                                // A entirely left of B
  }
  for (std::size_t i = 0; i < k; ++i)
    for (std::size_t j = i + 1; j < k; ++j) {
      const auto &a = s.items[i], &b = s.items[j];
      const bool apart = a.x + a.size <= b.x || b.x + b.size <= a.x || a.y + a.size <= b.y || b.y + b.size <= a.y;
      CHECK(apart);
    }
}

Scene make(Layout l, std::vector<std::pair<int, int>> colour_label) {
  Scene s;
  s.layout = l;
  for (auto [c, lab] : colour_label) {
    SceneItem it;
    it.colour = c;
    it.label = lab;
    s.items.push_back(it);
  }
  return s;
}

}  // namespace

TEST_CASE("scenes: tables and RNG", "[scenes]") {
  CHECK(std::string(colours()[0].name) == "red");
  CHECK(std::string(colours()[6].name) == "pink");
  CHECK(int(colours()[5].r) == 160);
  CHECK(std::string(class_words()[9].noun) == "ankle boot");
  CHECK(std::string(class_words()[1].synonym) == "pair of pants");
  // xoshiro256** seeded by splitmix64(42): first outputs from an independent
  // Python implementation of the published algorithms (fixed forever: sets depend on them).
  Rng a(42);
  CHECK(a.next_u64() == 0x15780b2e0c2ec716ULL);
  CHECK(a.next_u64() == 0x6104d9866d113a7eULL);
  CHECK(a.next_u64() == 0xae17533239e499a1ULL);
  Rng r(1);
  std::array<int, 7> hist{};
  for (int i = 0; i < 70000; ++i) hist[static_cast<std::size_t>(r.uniform_int(7))]++;
  for (int h : hist) CHECK(std::abs(h - 10000) < 500);
  for (int i = 0; i < 1000; ++i) {
    const double u = r.uniform_real();
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
  }
}

TEST_CASE("scenes: bilinear scale_item matches a floating-point align_corners=False reference", "[scenes]") {
  const auto fm = load_fashion_mnist(kFm, "test");
  for (double s : {1.0, 1.07, 1.25, 1.3333, 1.5}) {
    const std::uint8_t* g = fm.images.data() + 3 * 784;
    const auto out = scale_item(g, s);
    const int n = static_cast<int>(std::lround(28 * s));
    REQUIRE(out.dim(0) == n);
    REQUIRE(out.dim(1) == n);
    for (int y = 0; y < n; ++y)
      for (int x = 0; x < n; ++x) {
        auto src = [&](int d) { return std::max(0.0, (d + 0.5) * 28.0 / n - 0.5); };
        const double sy = src(y), sx = src(x);
        const int y0 = int(sy), x0 = int(sx), y1 = std::min(y0 + 1, 27), x1 = std::min(x0 + 1, 27);
        const double fy = sy - y0, fx = sx - x0;
        const double v = (1 - fy) * ((1 - fx) * g[y0 * 28 + x0] + fx * g[y0 * 28 + x1]) +
                         fy * ((1 - fx) * g[y1 * 28 + x0] + fx * g[y1 * 28 + x1]);
        // exact integer rounding vs double: equal except at an exact .5 tie
        REQUIRE(std::abs(double(out(y, x)) - v) <= 0.5 + 1e-9);
      }
    if (s == 1.0)
      for (int i = 0; i < 784; ++i) REQUIRE(out.data()[i] == g[i]);
  }
  // tint: round(grey / 255 * colour)
  for (int g = 0; g < 256; ++g)
    for (int c : {0, 40, 160, 235, 255}) REQUIRE(int(tint(std::uint8_t(g), std::uint8_t(c))) == int(std::lround(g / 255.0 * c + 1e-9)));
}

TEST_CASE("scenes: sampled scenes keep the invariants and captions match their templates", "[scenes]") {
  const auto fm = load_fashion_mnist(kFm, "train");
  const ItemPool pool = make_pool(fm, 0, 55000);
  std::array<int, 4> layouts{};
  std::array<std::vector<std::regex>, 4> regexes;
  for (Layout l : {Layout::single, Layout::horizontal, Layout::vertical, Layout::row})
    for (const auto& p : template_patterns(l)) regexes[static_cast<std::size_t>(l)].emplace_back(p);
  for (std::int64_t i = 0; i < 600; ++i) {
    Rng rng(scene_seed(3, Split::train, i));
    const Scene s = sample_scene(rng, pool);
    check_scene(s);
    ++layouts[static_cast<std::size_t>(s.layout)];
    const auto caps = scene_captions(s);
    REQUIRE(caps.size() == 5);
    CHECK(std::set<std::string>(caps.begin(), caps.end()).size() == 5);
    const auto& pats = regexes[static_cast<std::size_t>(s.layout)];
    for (std::size_t t = 0; t < 5; ++t) {
      INFO(caps[t]);
      CHECK(std::regex_match(caps[t], pats[t]));
      // a caption matches no other template of its layout
      for (std::size_t u = 0; u < 5; ++u)
        if (u != t) CHECK_FALSE(std::regex_match(caps[t], pats[u]));
      CHECK(parse_scene_items(caps[t]).size() == s.items.size());
    }
  }
  for (int c : layouts) CHECK(c > 100);  // all four layouts occur, roughly 1/3, 1/6, 1/6, 1/3
}

TEST_CASE("scenes: parse_scene_items round-trips all 15 templates", "[scenes]") {
  const std::vector<Scene> scenes = {
      make(Layout::single, {{4, 9}}),
      make(Layout::horizontal, {{0, 1}, {6, 9}}),
      make(Layout::vertical, {{2, 7}, {2, 8}}),
      make(Layout::row, {{3, 1}, {5, 9}, {1, 0}}),
      make(Layout::row, {{0, 5}, {6, 2}, {4, 3}}),
  };
  for (const auto& s : scenes) {
    std::vector<NamedItem> want;
    for (const auto& it : s.items) want.push_back({it.colour, it.label});
    for (const auto& c : scene_captions(s)) {
      INFO(c);
      CHECK(parse_scene_items(c) == want);
    }
  }
  // every class, noun and synonym, with every colour
  for (int l = 0; l < 10; ++l)
    for (int c = 0; c < 7; ++c) {
      const auto caps = scene_captions(make(Layout::single, {{c, l}}));
      for (const auto& cap : caps) CHECK(parse_scene_items(cap) == std::vector<NamedItem>{{c, l}});
    }
  CHECK(parse_scene_items("a black dog on a mat").empty());
}

TEST_CASE("scenes: item_recall on hand-made cases", "[scenes]") {
  const auto h = scene_captions(make(Layout::horizontal, {{0, 9}, {2, 1}}));  // red ankle boot, blue trousers
  const auto one = scene_captions(make(Layout::single, {{4, 7}}));             // white sneaker
  const auto row = scene_captions(make(Layout::row, {{1, 0}, {3, 8}, {6, 4}}));  // green top, yellow bag, pink coat
  CaptionSet refs = {{"a.png", h}, {"b.png", one}, {"c.png", row}, {"d.png", {"no items here"}}};
  CaptionSet preds = {
      {"a.png", {"a red boot next to a green pair of trousers"}},  // synonym hit, wrong colour miss
      {"b.png", {"a white shoe"}},                                 // synonym hit
      {"c.png", {"a green top and a yellow bag"}},                 // pink coat missing
  };
  ItemRecall r = item_recall(refs, preds);
  CHECK(r.images == 3);
  CHECK(r.skipped == 1);
  CHECK(r.items == 6);
  CHECK(r.recalled == 4);
  CHECK(r.fraction == Approx(4.0 / 6.0));
  CHECK(r.items_by_k[1] == 1);
  CHECK(r.recalled_by_k[1] == 1);
  CHECK(r.fraction_k(2) == Approx(0.5));
  CHECK(r.fraction_k(3) == Approx(2.0 / 3.0));
  // word boundaries: "red topper" is not "red top"; an item named twice counts once
  refs = {{"x.png", scene_captions(make(Layout::single, {{0, 0}}))}};
  preds = {{"x.png", {"a red topper"}}};
  CHECK(item_recall(refs, preds).recalled == 0);
  preds = {{"x.png", {"a red top and a red tee"}}};
  CHECK(item_recall(refs, preds).recalled == 1);
  // a missing prediction recalls nothing
  CHECK(item_recall(refs, {}).recalled == 0);
  CHECK(item_recall(refs, {}).items == 1);
  CHECK(format_item_recall(r).rfind("item recall: 0.6667 (4/6 items; k=1 1.0000", 0) == 0);
}

TEST_CASE("scenes: make_scenes writes deterministic, split-pure sets", "[scenes]") {
  TempDir a("scenes_a"), b("scenes_b"), c("scenes_c");
  MakeScenesOptions o;
  o.fashion_mnist_dir = kFm;
  o.train = 30;
  o.val = 10;
  o.test = 10;
  o.seed = 11;
  o.out_dir = a.path;
  make_scenes(o);
  o.out_dir = b.path;
  make_scenes(o);
  o.out_dir = c.path;
  o.seed = 12;
  make_scenes(o);

  const auto train = load_fashion_mnist(kFm, "train");
  const auto test = load_fashion_mnist(kFm, "test");
  for (const char* split : {"train", "val", "test"}) {
    const std::string json = std::string(split) + ".json";
    CHECK(freqcap::testing::read_bytes(a / json) == freqcap::testing::read_bytes(b / json));
    CHECK(freqcap::testing::read_bytes(a / json) != freqcap::testing::read_bytes(c / json));
    const CaptionSet set = read_reference_captions((a / json).string());
    const std::int64_t n = std::string(split) == "train" ? 30 : 10;
    REQUIRE(std::int64_t(set.size()) == n);
    const Split sp = std::string(split) == "train" ? Split::train : std::string(split) == "val" ? Split::val : Split::test;
    const ItemPool pool = sp == Split::test ? make_pool(test, 0, 10000)
                          : sp == Split::val ? make_pool(train, 55000, 60000)
                                             : make_pool(train, 0, 55000);
    const std::vector<Scene> scenes = sample_split(11, sp, n, pool);
    for (std::int64_t i = 0; i < n; ++i) {
      const auto& e = set[static_cast<std::size_t>(i)];
      const Scene& s = scenes[static_cast<std::size_t>(i)];
      CHECK(e.path == scene_image_name(sp, i));
      CHECK(e.captions == scene_captions(s));
      for (const auto& it : s.items) {
        if (sp == Split::train) CHECK(it.source_index < 55000);
        if (sp == Split::val) CHECK(it.source_index >= 55000);
        if (sp == Split::test) CHECK(it.source_index < 10000);
      }
      const std::string png = e.path;
      CHECK(freqcap::testing::read_bytes(a / png) == freqcap::testing::read_bytes(b / png));
      // read back == render_scene, exactly
      const auto img = load_image(a / png);
      const auto want = render_scene(s, sp == Split::test ? test : train);
      REQUIRE(img.shape() == Shape{3, kCanvasSize, kCanvasSize});
      std::int64_t diff = 0, lit = 0;
      for (std::int64_t q = 0; q < want.numel(); ++q) {
        diff += std::lround(img.data()[q] * 255.0f) != want.data()[q];
        lit += want.data()[q] != 0;
      }
      CHECK(diff == 0);
      CHECK(lit > 0);
    }
  }
  // a different val count leaves train unchanged
  TempDir d("scenes_d");
  o.out_dir = d.path;
  o.seed = 11;
  o.val = 3;
  o.test = 0;
  make_scenes(o);
  CHECK(freqcap::testing::read_bytes(d / "test.json") == "{}\n");
  CHECK(freqcap::testing::read_bytes(a / "train.json") == freqcap::testing::read_bytes(d / "train.json"));
  CHECK(freqcap::testing::read_bytes(a / "images/train_000029.png") ==
        freqcap::testing::read_bytes(d / "images/train_000029.png"));
  // errors
  o.out_dir = d.path;
  o.fashion_mnist_dir = d / "nowhere";
  CHECK_THROWS_WITH(make_scenes(o), Catch::Contains("Fashion-MNIST folder not found"));
  o.fashion_mnist_dir = kFm;
  o.train = -1;
  CHECK_THROWS_WITH(make_scenes(o), Catch::Contains("must not be negative"));
}

}  // namespace freqcap::scenes
