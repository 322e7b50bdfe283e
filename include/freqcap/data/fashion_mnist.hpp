// Fashion-MNIST from Debian's dataset-fashion-mnist package: the four idx .gz
// files under /usr/share/datasets/fashion-mnist (or any directory holding
// them), loaded as uint8 images [N, 28, 28] and int64 labels [N] in 0..9.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "freqcap/core/error.hpp"
#include "freqcap/core/tensor.hpp"
#include "freqcap/data/idx.hpp"

namespace freqcap {

/// Where Debian's dataset-fashion-mnist package puts the files.
inline const char* const fashion_mnist_default_dir = "/usr/share/datasets/fashion-mnist";

/// One split: images [N, 28, 28] uint8 (0 = background), labels [N] in 0..9.
struct FashionMnist {
  Tensor<std::uint8_t> images;
  Tensor<std::int64_t> labels;
};

/// Loads split "train" (60,000 items: train-*-idx?-ubyte.gz) or "test"
/// (10,000 items: t10k-*). Checks that the counts agree and every label is < 10;
/// errors name the file.
inline FashionMnist load_fashion_mnist(const std::filesystem::path& dir = fashion_mnist_default_dir,
                                       const std::string& split = "train") {
  FREQCAP_CHECK(split == "train" || split == "test", "load_fashion_mnist: split must be 'train' or 'test', got '",
                split, "'");
  const std::string stem = split == "train" ? "train" : "t10k";
  const auto images_path = dir / (stem + "-images-idx3-ubyte.gz");
  const auto labels_path = dir / (stem + "-labels-idx1-ubyte.gz");
  FashionMnist out;
  out.images = read_idx_images(images_path);
  const Tensor<std::uint8_t> raw = read_idx_labels(labels_path);
  const Shape& s = out.images.shape();
  FREQCAP_CHECK(s[1] == 28 && s[2] == 28, images_path.string(), ": images are ", s[1], "x", s[2],
                ", Fashion-MNIST images are 28x28");
  FREQCAP_CHECK(raw.numel() == s[0], labels_path.string(), ": ", raw.numel(), " labels but ",
                images_path.string(), " holds ", s[0], " images");
  out.labels = Tensor<std::int64_t>({raw.numel()});
  for (std::int64_t i = 0; i < raw.numel(); ++i) {
    FREQCAP_CHECK(raw.data()[i] < 10, labels_path.string(), ": label ", int{raw.data()[i]}, " at index ", i,
                  " is not a class in 0..9");
    out.labels.data()[i] = raw.data()[i];
  }
  return out;
}

}  // namespace freqcap
