// Tests for data/coco.hpp: a hand-made COCO captions file with images of 4, 5
// and 6 captions; which images are kept, their order (by id), relative paths,
// caption trimming, the test split, atomic outputs and malformed inputs.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "freqcap/data/coco.hpp"
#include "support.hpp"

namespace freqcap_test_coco {  // own scope: the unity build joins test files

using namespace freqcap;
using freqcap::testing::TempDir;
using freqcap::testing::read_bytes;
using freqcap::testing::write_bytes;

namespace {

/// Images 30 (5 captions), 7 (4), 12 (5), 99 (6), 5 (5), 40 (0), 8 (5),
/// listed out of id order; annotations interleaved.
nlohmann::json sample_coco() {
  nlohmann::json j;
  j["info"] = {{"year", 2014}};
  const std::vector<std::pair<int, int>> imgs = {{30, 5}, {7, 4}, {12, 5}, {99, 6}, {5, 5}, {40, 0}, {8, 5}};
  for (const auto& [id, n] : imgs)
    j["images"].push_back({{"id", id}, {"file_name", "COCO_train2014_" + std::to_string(id) + ".jpg"},
                           {"height", 480}, {"width", 640}});
  int ann = 1000;
  for (int c = 0; c < 6; ++c)
    for (const auto& [id, n] : imgs)
      if (c < n)
        j["annotations"].push_back(
            {{"id", ann++}, {"image_id", id}, {"caption", "  Caption " + std::to_string(c) + " of " + std::to_string(id) + ".\n"}});
  return j;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("coco parse keeps every image sorted by id with trimmed captions", "[coco]") {
  const auto images = parse_coco_captions(sample_coco().dump(), "captions.json");
  std::vector<std::int64_t> ids;
  for (const auto& im : images) ids.push_back(im.id);
  CHECK(ids == std::vector<std::int64_t>{5, 7, 8, 12, 30, 40, 99});
  CHECK(images[0].file_name == "COCO_train2014_5.jpg");
  CHECK(images[0].captions == std::vector<std::string>{"Caption 0 of 5.", "Caption 1 of 5.", "Caption 2 of 5.",
                                                       "Caption 3 of 5.", "Caption 4 of 5."});
  CHECK(images[1].captions.size() == 4);
  CHECK(images[5].captions.empty());
  CHECK(images[6].captions.size() == 6);
}

TEST_CASE("coco prepare writes the five-caption images with relative paths and a test split", "[coco]") {
  TempDir dir("coco");
  std::filesystem::create_directories(dir.path / "coco" / "train2014");
  std::filesystem::create_directories(dir.path / "sets");
  write_bytes(dir / "captions.json", sample_coco().dump());

  CocoPrepareOptions o;
  o.annotations = (dir / "captions.json").string();
  o.images_dir = (dir.path / "coco" / "train2014").string();
  o.out = (dir.path / "sets" / "train.json").string();
  o.test_out = (dir / "test.json").string();
  o.test_count = 1;
  const auto r = prepare_coco(o);
  CHECK(r.images == 7);
  CHECK(r.annotations == 4 + 5 * 4 + 6);
  CHECK(r.kept == 4);
  CHECK(r.written == 3);
  CHECK(r.test == 1);

  const auto train = nlohmann::ordered_json::parse(read_bytes(dir.path / "sets" / "train.json"));
  std::vector<std::string> keys;
  for (const auto& [k, v] : train.items()) keys.push_back(k);
  CHECK(keys == std::vector<std::string>{"../coco/train2014/COCO_train2014_5.jpg",
                                         "../coco/train2014/COCO_train2014_8.jpg",
                                         "../coco/train2014/COCO_train2014_12.jpg"});
  CHECK(train["../coco/train2014/COCO_train2014_8.jpg"][4] == "Caption 4 of 8.");
  // the seed-format reader reads it back
  const auto set = read_reference_captions((dir.path / "sets" / "train.json").string());
  REQUIRE(set.size() == 3);
  CHECK(set[2].captions.size() == 5);

  const auto test = nlohmann::ordered_json::parse(read_bytes(dir / "test.json"));
  REQUIRE(test.size() == 1);
  CHECK(test.begin().key() == "coco/train2014/COCO_train2014_30.jpg");
  CHECK(test.begin().value()[0] == "Caption 0 of 30.");
  CHECK(dir.count() == 4);  // captions.json, coco, sets, test.json: no temp files

  // no test split: everything goes to out
  o.test_count = 0;
  o.test_out.clear();
  CHECK(prepare_coco(o).written == 4);
  CHECK(nlohmann::json::parse(read_bytes(dir.path / "sets" / "train.json")).size() == 4);
  // all kept images as test
  o.test_count = 4;
  o.test_out = (dir / "all_test.json").string();
  CHECK(prepare_coco(o).test == 4);
  CHECK(nlohmann::json::parse(read_bytes(dir.path / "sets" / "train.json")).empty());
}

TEST_CASE("coco image paths are relative to the output folder", "[coco]") {
  CHECK(coco_image_path("/data/coco/val2014", "a.jpg", "/data/out/val.json") == "../coco/val2014/a.jpg");
  CHECK(coco_image_path("/data/coco/val2014/", "a.jpg", "/data/coco/val.json") == "val2014/a.jpg");
  CHECK(coco_image_path("/x/./y/../img", "b.jpg", "/x/z/w/o.json") == "../../img/b.jpg");
}

TEST_CASE("coco prepare rejects malformed input and writes nothing", "[coco]") {
  TempDir dir("coco_bad");
  CocoPrepareOptions o;
  o.annotations = (dir / "c.json").string();
  o.images_dir = dir.path.string();
  o.out = (dir / "train.json").string();
  const auto fails = [&](const std::string& text, const std::string& part, std::size_t per_image = 5) {
    o.captions_per_image = per_image;
    write_bytes(dir / "c.json", text);
    const auto msg = error_of([&] { prepare_coco(o); });
    INFO(msg);
    CHECK(msg.find("c.json") != std::string::npos);
    CHECK(msg.find(part) != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir / "train.json"));
    CHECK(dir.count() == 1);
  };
  fails("{\"images\": [", "malformed JSON");
  fails("[1, 2]", "top level is a array");
  fails(R"({"annotations": []})", "no \"images\"");
  fails(R"({"images": []})", "no \"annotations\"");
  fails(R"({"images": {}, "annotations": []})", "\"images\" is a object");
  fails(R"({"images": [{"file_name": "a.jpg"}], "annotations": []})", "images[0] has no \"id\"");
  fails(R"({"images": [{"id": "1", "file_name": "a.jpg"}], "annotations": []})", "images[0].id is a string");
  fails(R"({"images": [{"id": 1}], "annotations": []})", "no \"file_name\"");
  fails(R"({"images": [{"id": 1, "file_name": "a"}, {"id": 1, "file_name": "b"}], "annotations": []})",
        "image id 1 appears twice");
  fails(R"({"images": [{"id": 1, "file_name": "a"}], "annotations": [{"image_id": 2, "caption": "x"}]})",
        "annotations[0] refers to image id 2");
  fails(R"({"images": [{"id": 1, "file_name": "a"}], "annotations": [{"image_id": 1}]})",
        "annotations[0] has no \"caption\"");
  fails(R"({"images": [{"id": 1, "file_name": "a"}], "annotations": [{"image_id": 1, "caption": 3}]})",
        "annotations[0].caption is a number");

  fails(R"({"images": [{"id": 1, "file_name": "a"}, {"id": 2, "file_name": "a"}],
             "annotations": [{"image_id": 1, "caption": "x"}, {"image_id": 2, "caption": "y"}]})",
        "file_name \"a\" appears twice", 1);
  o.test_count = 5;
  o.test_out = (dir / "test.json").string();
  fails(sample_coco().dump(), "test count 5 is larger than the 4 images");
  o.test_out.clear();
  o.test_count = 1;
  fails(sample_coco().dump(), "needs a test output file");

  std::filesystem::remove(dir / "c.json");
  CHECK(error_of([&] { prepare_coco(o); }).find("c.json") != std::string::npos);
}

}  // namespace freqcap_test_coco
