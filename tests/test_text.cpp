// Tests for text/vocabulary.hpp: frequency order and ties, size limit, unknown
// words, special tokens, encode/encode_pair with padding and truncation,
// decode, and the JSON round trip with its errors.
#include <catch2/catch.hpp>

#include "freqcap/text/vocabulary.hpp"

namespace freqcap_test_text {  // own scope: the unity build joins test files

using freqcap::Vocabulary;

namespace {
const std::vector<std::string> kCaptions = {
    "A dog runs.",            // a dog runs
    "The dog sleeps",         // the dog sleeps
    "a Cat, a dog!",          // a cat a dog
    "<start> the cat <end>",  // the cat
};
// counts: a 3, dog 3, the 2, cat 2, runs 1, sleeps 1; first appearance:
// a, dog, runs, the, sleeps, cat
}  // namespace

TEST_CASE("vocabulary orders words by frequency, ties by first appearance", "[text]") {
  const auto v = Vocabulary::build(kCaptions, 100);
  const std::vector<std::string> expect = {"",  "[UNK]", "<start>", "<end>", "a",
                                           "dog", "the", "cat", "runs", "sleeps"};
  CHECK(v.words() == expect);
  CHECK(v.size() == 10);
  CHECK(v.pad_id() == 0);
  CHECK(v.unk_id() == 1);
  CHECK(v.start_id() == 2);
  CHECK(v.end_id() == 3);
  CHECK(v.id("<start>") == 2);
  CHECK(v.id("<end>") == 3);
  CHECK(v.id("cat") == 7);
  CHECK(v.word(5) == "dog");
  CHECK_THROWS_AS(v.word(10), freqcap::Error);
  CHECK_THROWS_AS(v.word(-1), freqcap::Error);
}

TEST_CASE("vocabulary max size keeps the most frequent words; the rest are unknown", "[text]") {
  const auto v = Vocabulary::build(kCaptions, 7);
  CHECK(v.size() == 7);
  CHECK(v.words().back() == "the");
  CHECK(v.id("cat") == v.unk_id());
  CHECK(v.id("zebra") == v.unk_id());
  CHECK(Vocabulary::build(kCaptions, 4).size() == 4);
  CHECK_THROWS_AS(Vocabulary::build(kCaptions, 3), freqcap::Error);
  CHECK(Vocabulary::build({}, 50).size() == 4);
}

TEST_CASE("vocabulary encode wraps words in markers, pads and flags truncation", "[text]") {
  const auto v = Vocabulary::build(kCaptions, 100);
  // "A zebra, the DOG." -> a [UNK] the dog
  auto e = v.encode("A zebra, the DOG.", 8);
  CHECK(e.ids == std::vector<std::int64_t>{2, 4, 1, 6, 5, 3, 0, 0, 0});
  CHECK_FALSE(e.truncated);
  // exactly fits: start + 4 words + end = 6 = seq_len + 1
  e = v.encode("a zebra the dog", 5);
  CHECK(e.ids == std::vector<std::int64_t>{2, 4, 1, 6, 5, 3});
  CHECK_FALSE(e.truncated);
  // one short: <end> is dropped
  e = v.encode("a zebra the dog", 4);
  CHECK(e.ids == std::vector<std::int64_t>{2, 4, 1, 6, 5});
  CHECK(e.truncated);
  // markers already in the caption are not doubled
  CHECK(v.encode("sos the cat eos", 4).ids == std::vector<std::int64_t>{2, 6, 7, 3, 0});
  CHECK_THROWS_AS(v.encode("a", 0), freqcap::Error);

  const auto p = v.encode_pair("the cat", 5);
  CHECK(p.input == std::vector<std::int64_t>{2, 6, 7, 3, 0});
  CHECK(p.target == std::vector<std::int64_t>{6, 7, 3, 0, 0});
  CHECK(p.mask == std::vector<float>{1, 1, 1, 0, 0});
  CHECK_FALSE(p.truncated);
  const auto q = v.encode_pair("a dog the cat runs", 3);
  CHECK(q.input == std::vector<std::int64_t>{2, 4, 5});
  CHECK(q.target == std::vector<std::int64_t>{4, 5, 6});
  CHECK(q.mask == std::vector<float>{1, 1, 1});
  CHECK(q.truncated);
}

TEST_CASE("vocabulary decode stops at end and skips start and padding", "[text]") {
  const auto v = Vocabulary::build(kCaptions, 100);
  CHECK(v.decode({2, 4, 1, 6, 5, 3, 7, 0}) == "a [UNK] the dog");
  CHECK(v.decode({0, 4, 0, 5}) == "a dog");
  CHECK(v.decode({}) == "");
  CHECK(v.decode(v.encode("The cat sleeps.", 10).ids) == "the cat sleeps");
  CHECK_THROWS_AS(v.decode({4, 99}), freqcap::Error);
}

TEST_CASE("vocabulary JSON round trip and errors", "[text]") {
  const auto v = Vocabulary::build(kCaptions, 100);
  const auto j = v.to_json();
  CHECK(j == R"(["","[UNK]","<start>","<end>","a","dog","the","cat","runs","sleeps"])");
  const auto w = Vocabulary::from_json(j, "model.safetensors");
  CHECK(w.words() == v.words());
  CHECK(w.encode("a cat runs", 6).ids == v.encode("a cat runs", 6).ids);

  const auto fails_with = [](const std::string& text, const std::string& part) {
    try {
      Vocabulary::from_json(text, "m.safetensors");
    } catch (const freqcap::Error& e) {
      const std::string msg = e.what();
      INFO(msg);
      CHECK(msg.find("m.safetensors") != std::string::npos);
      CHECK(msg.find(part) != std::string::npos);
      return;
    }
    FAIL("no error for " << text);
  };
  fails_with(R"(["","[UNK]","<start>")", "not valid JSON");
  fails_with(R"({"a": 1})", "expected a list");
  fails_with(R"(["","[UNK]","<start>","<end>",3])", "entry 4");
  fails_with(R"(["","[UNK]","<start>","<end>","a","b","a"])", "\"a\" appears twice");
  fails_with(R"(["","<start>","[UNK]","<end>"])", "entry 1");
  fails_with(R"(["",""])", "at least");
}

}  // namespace freqcap_test_text
