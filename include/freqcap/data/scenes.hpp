// Fashion Scenes v1, the built-in captioning data set (/work/shared/SCENES.md;
// decisions in docs/scenes.md): a portable random generator, scene sampling
// (k items of distinct classes, colours, scales, layout and jitter), the five
// captions per scene, and make_scenes(), which writes a whole set
// (images/{split}_NNNNNN.png + {split}.json). Rendering lives in
// data/scene_render.hpp, caption parsing and item recall in data/scene_items.hpp.
// Every scene draws from its own stream derived from (seed, split, index), so
// a set is byte-identical for a seed on any platform and thread count, and
// changing one split's count leaves the other splits unchanged.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "freqcap/core/error.hpp"
#include "freqcap/core/random.hpp"
#include "freqcap/data/fashion_mnist.hpp"
#include "freqcap/data/scene_items.hpp"
#include "freqcap/data/scene_render.hpp"
#include "freqcap/io/atomic_file.hpp"

namespace freqcap::scenes {

// Random draws: freqcap::Rng and freqcap::splitmix64 (core/random.hpp).

enum class Split { train = 0, val = 1, test = 2 };

inline const char* split_name(Split s) { return s == Split::train ? "train" : s == Split::val ? "val" : "test"; }

/// The seed of scene `index` of `split` under the set seed.
inline std::uint64_t scene_seed(std::uint64_t seed, Split split, std::int64_t index) {
  std::uint64_t st = seed;
  std::uint64_t h = splitmix64(st);
  st = h ^ (0x5ce7e5000000000ULL + static_cast<std::uint64_t>(split));
  h = splitmix64(st);
  st = h ^ static_cast<std::uint64_t>(index);
  return splitmix64(st);
}

/// The items a split may use: source indices and their labels (parallel lists).
struct ItemPool {
  std::vector<std::int64_t> indices;
  std::vector<int> labels;
};

/// The items [begin, end) of a loaded Fashion-MNIST split.
inline ItemPool make_pool(const FashionMnist& source, std::int64_t begin, std::int64_t end) {
  FREQCAP_CHECK(0 <= begin && begin < end && end <= source.labels.numel(), "make_pool: range [", begin, ", ", end,
                ") is not inside the split's ", source.labels.numel(), " items");
  ItemPool p;
  for (std::int64_t i = begin; i < end; ++i) {
    p.indices.push_back(i);
    p.labels.push_back(static_cast<int>(source.labels.data()[i]));
  }
  return p;
}

/// Samples one scene (draw order in docs/scenes.md): k uniform in {1, 2, 3};
/// k = 2 horizontal or vertical with equal odds; items drawn uniformly from the
/// pool, redrawn until their classes are distinct; colour uniform over 7; scale
/// uniform in [1.0, 1.5); positions: along the layout axis k offsets uniform in
/// [0, slack] sorted ascending, across it uniform over the whole canvas.
inline Scene sample_scene(Rng& rng, const ItemPool& pool) {
  FREQCAP_CHECK(!pool.indices.empty() && pool.indices.size() == pool.labels.size(),
                "sample_scene: empty or inconsistent item pool");
  std::array<bool, 10> present{};
  for (int l : pool.labels) {
    FREQCAP_CHECK(l >= 0 && l < 10, "sample_scene: label ", l, " is not in 0..9");
    present[static_cast<std::size_t>(l)] = true;
  }
  FREQCAP_CHECK(std::count(present.begin(), present.end(), true) >= 3,
                "sample_scene: the item pool holds fewer than 3 classes");
  Scene scene;
  const int k = 1 + static_cast<int>(rng.uniform_int(3));
  scene.layout = k == 1 ? Layout::single
                 : k == 3 ? Layout::row
                          : (rng.uniform_int(2) == 0 ? Layout::horizontal : Layout::vertical);
  std::array<bool, 10> used{};
  for (int i = 0; i < k; ++i) {
    SceneItem it;
    std::size_t j = 0;
    do j = static_cast<std::size_t>(rng.uniform_int(pool.indices.size()));
    while (used[static_cast<std::size_t>(pool.labels[j])]);
    used[static_cast<std::size_t>(pool.labels[j])] = true;
    it.source_index = pool.indices[j];
    it.label = pool.labels[j];
    it.colour = static_cast<int>(rng.uniform_int(colours().size()));
    it.scale = 1.0 + 0.5 * rng.uniform_real();
    it.size = scaled_size(it.scale);
    scene.items.push_back(it);
  }
  if (scene.layout == Layout::single) {
    SceneItem& it = scene.items[0];
    it.x = rng.uniform_int(0, kCanvasSize - it.size);
    it.y = rng.uniform_int(0, kCanvasSize - it.size);
    return scene;
  }
  const bool along_x = scene.layout != Layout::vertical;
  int slack = kCanvasSize;
  for (const auto& it : scene.items) slack -= it.size;
  std::vector<int> offsets;
  for (int i = 0; i < k; ++i) offsets.push_back(rng.uniform_int(0, slack));
  std::sort(offsets.begin(), offsets.end());
  int before = 0;
  for (int i = 0; i < k; ++i) {
    SceneItem& it = scene.items[static_cast<std::size_t>(i)];
    const int along = before + offsets[static_cast<std::size_t>(i)];
    const int across = rng.uniform_int(0, kCanvasSize - it.size);
    it.x = along_x ? along : across;
    it.y = along_x ? across : along;
    before += it.size;
  }
  return scene;
}

/// The five captions of a scene, templates 1..5 of its layout (SCENES.md).
inline std::vector<std::string> scene_captions(const Scene& s) {
  const auto& it = s.items;
  auto c = [&](std::size_t i) { return std::string(colours()[static_cast<std::size_t>(it[i].colour)].name); };
  auto n = [&](std::size_t i) { return c(i) + " " + class_words()[static_cast<std::size_t>(it[i].label)].noun; };
  auto m = [&](std::size_t i) { return c(i) + " " + class_words()[static_cast<std::size_t>(it[i].label)].synonym; };
  const std::size_t want = s.layout == Layout::single ? 1 : s.layout == Layout::row ? 3 : 2;
  FREQCAP_CHECK(it.size() == want, "scene_captions: a scene of this layout needs ", want, " items, got ",
                it.size());
  for (const auto& x : it)
    FREQCAP_CHECK(x.label >= 0 && x.label < 10 && x.colour >= 0 && x.colour < 7, "scene_captions: label ",
                  x.label, " or colour ", x.colour, " out of range");
  switch (s.layout) {
    case Layout::single:
      return {"a " + n(0), "a " + m(0) + " on a black background", "there is a " + n(0) + " in the picture",
              "a picture of a single " + m(0), "one " + n(0) + " alone"};
    case Layout::horizontal:
      return {"a " + n(0) + " to the left of a " + n(1), "a " + m(1) + " to the right of a " + m(0),
              "a " + n(0) + " next to a " + n(1), "two items a " + m(0) + " and a " + m(1),
              "a " + n(0) + " and a " + n(1) + " side by side"};
    case Layout::vertical:
      return {"a " + n(0) + " above a " + n(1), "a " + m(1) + " below a " + m(0),
              "a " + n(0) + " on top of a " + n(1), "two items a " + m(0) + " and a " + m(1),
              "a " + n(0) + " stacked over a " + n(1)};
    case Layout::row:
      return {"a " + n(0) + " a " + n(1) + " and a " + n(2),
              "three items a " + m(0) + " a " + m(1) + " and a " + m(2),
              "a " + n(0) + " to the left of a " + n(1) + " and a " + n(2),
              "a row of a " + m(0) + " a " + m(1) + " and a " + m(2),
              "a " + n(1) + " between a " + n(0) + " and a " + n(2)};
  }
  return {};
}

/// Image path of scene i of a split, relative to the set folder: "images/train_000000.png".
inline std::string scene_image_name(Split split, std::int64_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%06lld", static_cast<long long>(i));
  return std::string("images/") + split_name(split) + "_" + buf + ".png";
}

/// The scenes of one split: scene i samples from Rng(scene_seed(seed, split, i)).
inline std::vector<Scene> sample_split(std::uint64_t seed, Split split, std::int64_t count, const ItemPool& pool) {
  std::vector<Scene> out;
  out.reserve(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) {
    Rng rng(scene_seed(seed, split, i));
    out.push_back(sample_scene(rng, pool));
  }
  return out;
}

struct MakeScenesOptions {
  std::filesystem::path fashion_mnist_dir = fashion_mnist_default_dir;
  std::filesystem::path out_dir;
  std::int64_t train = 0, val = 0, test = 0;
  std::uint64_t seed = 0;
};

namespace detail {

/// Renders and writes one split (PNGs on all OpenMP threads, JSON last).
inline void write_split(const MakeScenesOptions& o, Split split, std::int64_t count, const FashionMnist& source,
                        std::int64_t begin, std::int64_t end) {
  const auto json_path = o.out_dir / (std::string(split_name(split)) + ".json");
  if (count == 0) {
    write_file_atomic(json_path, "{}\n");
    return;
  }
  const std::vector<Scene> scenes = sample_split(o.seed, split, count, make_pool(source, begin, end));
  std::exception_ptr error;
  std::mutex mu;
#pragma omp parallel for schedule(dynamic, 16)
  for (std::int64_t i = 0; i < count; ++i) {
    try {
      save_png(o.out_dir / scene_image_name(split, i), render_scene(scenes[static_cast<std::size_t>(i)], source));
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu);
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (std::int64_t i = 0; i < count; ++i)
    j[scene_image_name(split, i)] = scene_captions(scenes[static_cast<std::size_t>(i)]);
  write_file_atomic(json_path, j.dump(2) + "\n");
}

}  // namespace detail

/// Writes a Fashion Scenes set: out_dir/images/{train,val,test}_NNNNNN.png and
/// out_dir/{train,val,test}.json ({"images/train_000000.png": [5 captions]} in
/// file order). Train items come from Fashion-MNIST train indices < 55,000, val
/// items from train indices >= 55,000, test items from t10k. Every file is
/// written atomically. Errors (missing data, unwritable folder) raise freqcap::Error.
inline void make_scenes(const MakeScenesOptions& o) {
  namespace fs = std::filesystem;
  FREQCAP_CHECK(o.train >= 0 && o.val >= 0 && o.test >= 0, "make_scenes: counts must not be negative (train ",
                o.train, ", val ", o.val, ", test ", o.test, ")");
  FREQCAP_CHECK(!o.out_dir.empty(), "make_scenes: no output folder given");
  std::error_code ec;
  FREQCAP_CHECK(fs::is_directory(o.fashion_mnist_dir, ec), o.fashion_mnist_dir.string(),
                ": Fashion-MNIST folder not found (apt-get install dataset-fashion-mnist)");
  fs::create_directories(o.out_dir / "images", ec);
  FREQCAP_CHECK(!ec, o.out_dir.string(), ": cannot create output folder: ", ec.message());
  if (o.train > 0 || o.val > 0) {
    const FashionMnist train = load_fashion_mnist(o.fashion_mnist_dir, "train");
    FREQCAP_CHECK(train.labels.numel() == 60000, o.fashion_mnist_dir.string(), ": train split holds ",
                  train.labels.numel(), " items, expected 60000");
    detail::write_split(o, Split::train, o.train, train, 0, 55000);
    detail::write_split(o, Split::val, o.val, train, 55000, 60000);
  } else {
    detail::write_split(o, Split::train, 0, FashionMnist{}, 0, 0);
    detail::write_split(o, Split::val, 0, FashionMnist{}, 0, 0);
  }
  if (o.test > 0) {
    const FashionMnist test = load_fashion_mnist(o.fashion_mnist_dir, "test");
    detail::write_split(o, Split::test, o.test, test, 0, test.labels.numel());
  } else {
    detail::write_split(o, Split::test, 0, FashionMnist{}, 0, 0);
  }
}

}  // namespace freqcap::scenes
