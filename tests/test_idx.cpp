// Tests for data/idx.hpp and data/fashion_mnist.hpp: the Debian Fashion-MNIST
// files checked against an independent inflate of the same bytes, plain idx
// files, and every damaged-input error (truncated gzip, bad CRC, wrong magic,
// short or long payload, bad labels), each naming the file.
#include "freqcap/data/fashion_mnist.hpp"
#include "freqcap/data/idx.hpp"

#include <catch2/catch.hpp>

#include "support.hpp"

#include <unistd.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace freqcap_test_idx {  // own scope: the unity build joins test files

namespace fs = std::filesystem;

namespace {

using freqcap::testing::TempDir;
using freqcap::testing::read_bytes;
using freqcap::testing::write_bytes;

/// Independent decompression: zlib's inflate API on the whole gzip member.
std::string inflate_gzip(const std::string& gz) {
  z_stream s{};
  REQUIRE(inflateInit2(&s, 16 + MAX_WBITS) == Z_OK);
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  s.avail_in = static_cast<uInt>(gz.size());
  std::string out;
  char buf[1 << 16];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    s.next_out = reinterpret_cast<Bytef*>(buf);
    s.avail_out = sizeof(buf);
    rc = inflate(&s, Z_NO_FLUSH);
    REQUIRE((rc == Z_OK || rc == Z_STREAM_END));
    out.append(buf, sizeof(buf) - s.avail_out);
  }
  inflateEnd(&s);
  return out;
}

/// Writes bytes gzip-compressed.
void write_gz(const fs::path& p, const std::string& bytes) {
  gzFile f = gzopen(p.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

std::string be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

std::string idx_file(std::uint32_t magic, const std::vector<std::uint32_t>& dims, const std::string& payload) {
  std::string out = be32(magic);
  for (auto d : dims) out += be32(d);
  return out + payload;
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const freqcap::Error& e) {
    return e.what();
  }
  return "<no error>";
}

const fs::path debian_dir = freqcap::fashion_mnist_default_dir;

}  // namespace

TEST_CASE("Fashion-MNIST test split matches an independent inflate of the Debian files", "[idx]") {
  REQUIRE(fs::exists(debian_dir / "t10k-images-idx3-ubyte.gz"));
  const auto ds = freqcap::load_fashion_mnist(debian_dir, "test");
  REQUIRE(ds.images.shape() == freqcap::Shape{10000, 28, 28});
  REQUIRE(ds.labels.shape() == freqcap::Shape{10000});

  const std::string img = inflate_gzip(read_bytes(debian_dir / "t10k-images-idx3-ubyte.gz"));
  const std::string lab = inflate_gzip(read_bytes(debian_dir / "t10k-labels-idx1-ubyte.gz"));
  REQUIRE(img.size() == 16 + 10000u * 28 * 28);
  REQUIRE(lab.size() == 8 + 10000u);
  CHECK(std::memcmp(ds.images.data(), img.data() + 16, 10000u * 28 * 28) == 0);
  CHECK(ds.labels.data()[0] == static_cast<unsigned char>(lab[8]));
  std::vector<int> counts(10, 0);
  for (std::int64_t i = 0; i < 10000; ++i) {
    REQUIRE(ds.labels.data()[i] == static_cast<unsigned char>(lab[8 + static_cast<std::size_t>(i)]));
    ++counts[static_cast<std::size_t>(ds.labels.data()[i])];
  }
  for (int c : counts) CHECK(c == 1000);  // the test split is balanced: 1,000 per class
}

TEST_CASE("Fashion-MNIST train split loads 60,000 labelled images", "[idx]") {
  const auto ds = freqcap::load_fashion_mnist(debian_dir, "train");
  CHECK(ds.images.shape() == freqcap::Shape{60000, 28, 28});
  CHECK(ds.labels.numel() == 60000);
  const std::string lab = inflate_gzip(read_bytes(debian_dir / "train-labels-idx1-ubyte.gz"));
  CHECK(ds.labels.data()[59999] == static_cast<unsigned char>(lab.back()));
  REQUIRE_THROWS_WITH(freqcap::load_fashion_mnist(debian_dir, "validation"), Catch::Contains("'validation'"));
}

TEST_CASE("idx reader reads plain files and rejects damaged ones naming the file", "[idx]") {
  TempDir dir("idx");
  const std::string gz = read_bytes(debian_dir / "t10k-labels-idx1-ubyte.gz");
  const std::string plain = inflate_gzip(gz);

  SECTION("a plain (uncompressed) idx file") {
    write_bytes(dir / "labels-plain", plain);
    const auto t = freqcap::read_idx_labels(dir / "labels-plain");
    REQUIRE(t.numel() == 10000);
    CHECK(std::memcmp(t.data(), plain.data() + 8, 10000) == 0);
  }
  SECTION("a truncated .gz") {
    for (std::size_t keep : {gz.size() / 2, gz.size() - 4, gz.size() - 1}) {
      const fs::path p = dir / ("cut-" + std::to_string(keep) + ".gz");
      write_bytes(p, gz.substr(0, keep));
      const std::string msg = error_of([&] { (void)freqcap::read_idx_labels(p); });
      INFO(msg);
      CHECK(msg.find(p.string()) != std::string::npos);
      CHECK(msg.find("truncated") != std::string::npos);
    }
  }
  SECTION("a .gz whose CRC does not match") {
    std::string bad = gz;
    bad[bad.size() - 6] = static_cast<char>(bad[bad.size() - 6] ^ 0x5a);  // inside the CRC32 trailer
    const fs::path p = dir / "badcrc.gz";
    write_bytes(p, bad);
    const std::string msg = error_of([&] { (void)freqcap::read_idx_labels(p); });
    INFO(msg);
    CHECK(msg.find(p.string()) != std::string::npos);
    CHECK(msg.find("damaged") != std::string::npos);
  }
  SECTION("wrong magic") {
    const fs::path p = debian_dir / "t10k-labels-idx1-ubyte.gz";
    const std::string msg = error_of([&] { (void)freqcap::read_idx_images(p); });
    CHECK(msg.find(p.string()) != std::string::npos);
    CHECK(msg.find("magic 0x00000801, expected 0x00000803") != std::string::npos);
    write_bytes(dir / "junk", "PK\x03\x04 not an idx file");
    CHECK(error_of([&] { (void)freqcap::read_idx_labels(dir / "junk"); }).find("magic 0x504b0304") != std::string::npos);
  }
  SECTION("payload shorter or longer than the header says") {
    write_bytes(dir / "short", idx_file(0x803, {3, 2, 2}, std::string(10, '\x07')));
    const std::string msg = error_of([&] { (void)freqcap::read_idx_images(dir / "short"); });
    CHECK(msg.find((dir / "short").string()) != std::string::npos);
    CHECK(msg.find("[3, 2, 2] = 12 bytes") != std::string::npos);
    CHECK(msg.find("only 10") != std::string::npos);
    write_gz(dir / "short.gz", idx_file(0x803, {3, 2, 2}, std::string(11, '\x07')));
    CHECK(error_of([&] { (void)freqcap::read_idx_images(dir / "short.gz"); }).find("only 11") != std::string::npos);
    write_bytes(dir / "long", idx_file(0x801, {4}, "abcdefg"));
    CHECK(error_of([&] { (void)freqcap::read_idx_labels(dir / "long"); }).find("3 more bytes") != std::string::npos);
    write_bytes(dir / "header", be32(0x803) + be32(5));
    CHECK(error_of([&] { (void)freqcap::read_idx_images(dir / "header"); }).find("inside the idx header") !=
          std::string::npos);
    write_bytes(dir / "tiny", "ab");
    CHECK(error_of([&] { (void)freqcap::read_idx_images(dir / "tiny"); }).find("too short") != std::string::npos);
    // and an exact one reads back
    write_gz(dir / "ok.gz", idx_file(0x803, {3, 2, 2}, "abcdefghijkl"));
    const auto t = freqcap::read_idx_images(dir / "ok.gz");
    CHECK(t.shape() == freqcap::Shape{3, 2, 2});
    CHECK(t(2, 1, 1) == 'l');
  }
  SECTION("missing file") {
    CHECK(error_of([&] { (void)freqcap::read_idx_images(dir / "absent.gz"); }).find("absent.gz: cannot open") !=
          std::string::npos);
  }
}

TEST_CASE("load_fashion_mnist checks label count and range", "[idx]") {
  TempDir dir("idx");
  const std::string images = idx_file(0x803, {2, 28, 28}, std::string(2 * 28 * 28, '\x80'));
  write_gz(dir / "t10k-images-idx3-ubyte.gz", images);
  SECTION("count mismatch") {
    write_gz(dir / "t10k-labels-idx1-ubyte.gz", idx_file(0x801, {3}, std::string("\x01\x02\x03", 3)));
    const std::string msg = error_of([&] { (void)freqcap::load_fashion_mnist(dir.path, "test"); });
    CHECK(msg.find("t10k-labels-idx1-ubyte.gz: 3 labels") != std::string::npos);
    CHECK(msg.find("2 images") != std::string::npos);
  }
  SECTION("label out of range") {
    write_gz(dir / "t10k-labels-idx1-ubyte.gz", idx_file(0x801, {2}, std::string("\x04\x0a", 2)));
    const std::string msg = error_of([&] { (void)freqcap::load_fashion_mnist(dir.path, "test"); });
    CHECK(msg.find("label 10 at index 1") != std::string::npos);
  }
  SECTION("valid small split") {
    write_gz(dir / "t10k-labels-idx1-ubyte.gz", idx_file(0x801, {2}, std::string("\x04\x09", 2)));
    const auto ds = freqcap::load_fashion_mnist(dir.path, "test");
    CHECK(ds.labels.to_vector() == std::vector<std::int64_t>{4, 9});
    CHECK(ds.images(1, 27, 27) == 0x80);
  }
  SECTION("missing split files") {
    CHECK(error_of([&] { (void)freqcap::load_fashion_mnist(dir.path, "train"); }).find("train-images-idx3-ubyte.gz") !=
          std::string::npos);
  }
}

}  // namespace freqcap_test_idx
