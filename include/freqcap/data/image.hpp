// Image files <-> tensors: load_image() decodes PNG/JPEG/BMP/... with
// stb_image into an RGB float tensor [3, H, W] in [0, 1] (what
// torchvision's ToTensor gives), and save_png() writes [C, H, W] (C = 1, 3
// or 4) in [0, 1] back, rounding to 8 bits, atomically. Every failure is a
// freqcap::Error naming the file and stb's reason.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "freqcap/core/tensor.hpp"
#include "freqcap/data/stb_impl.hpp"
#include "freqcap/io/atomic_file.hpp"

namespace freqcap {

/// Decodes an encoded image held in memory; `what` names it in errors.
/// -> [3, H, W] float RGB in [0, 1] (grey and alpha images are converted).
inline Tensor<float> decode_image(const std::vector<unsigned char>& bytes, const std::string& what) {
  FREQCAP_CHECK(!bytes.empty(), what, ": cannot decode image: the file is empty");
  FREQCAP_CHECK(bytes.size() <= static_cast<std::size_t>(INT32_MAX), what, ": image file too large");
  int w = 0, h = 0, c = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> px(
      stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &c, 3), stbi_image_free);
  FREQCAP_CHECK(px != nullptr, what, ": cannot decode image (", stbi_failure_reason(),
                "); expected PNG, JPEG, BMP, GIF, TGA, PSD, PIC or PNM");
  FREQCAP_CHECK(w > 0 && h > 0, what, ": image has no pixels");
  Tensor<float> out = Tensor<float>::empty(Shape{3, h, w});
  const std::int64_t hw = std::int64_t(h) * w;
  float* o = out.data();
  const stbi_uc* p = px.get();
  for (std::int64_t i = 0; i < hw; ++i)
    for (int k = 0; k < 3; ++k) o[k * hw + i] = static_cast<float>(p[i * 3 + k]) / 255.0f;
  return out;
}

/// Reads and decodes the image file at `path` -> [3, H, W] float RGB in [0, 1].
inline Tensor<float> load_image(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  FREQCAP_CHECK(in.good(), path.string(), ": cannot open image file");
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  FREQCAP_CHECK(!in.bad(), path.string(), ": read error");
  return decode_image(bytes, path.string());
}

/// Encodes img [C, H, W] uint8 (C = 1, 3 or 4) as PNG bytes with
/// stb_image_write (deterministic: the same pixels give the same bytes).
inline std::vector<unsigned char> encode_png(const Tensor<std::uint8_t>& img) {
  FREQCAP_CHECK(img.ndim() == 3 && (img.dim(0) == 1 || img.dim(0) == 3 || img.dim(0) == 4) && img.dim(1) > 0 &&
                    img.dim(2) > 0,
                "PNG: expected an image [C, H, W] with C = 1, 3 or 4, got ", shape_str(img.shape()));
  const Tensor<std::uint8_t> x = img.contiguous();
  const std::int64_t C = x.dim(0), H = x.dim(1), W = x.dim(2), hw = H * W;
  std::vector<unsigned char> px(static_cast<std::size_t>(C * hw));
  for (std::int64_t i = 0; i < hw; ++i)
    for (std::int64_t k = 0; k < C; ++k) px[static_cast<std::size_t>(i * C + k)] = x.data()[k * hw + i];
  std::vector<unsigned char> encoded;
  auto sink = [](void* ctx, void* data, int size) {
    auto* v = static_cast<std::vector<unsigned char>*>(ctx);
    v->insert(v->end(), static_cast<unsigned char*>(data), static_cast<unsigned char*>(data) + size);
  };
  const int ok = stbi_write_png_to_func(sink, &encoded, static_cast<int>(W), static_cast<int>(H),
                                        static_cast<int>(C), px.data(), static_cast<int>(W * C));
  FREQCAP_CHECK(ok != 0 && !encoded.empty(), "PNG encoding failed");
  return encoded;
}

/// Writes img [C, H, W] uint8 (C = 1, 3 or 4) as a PNG file, via a temporary file and rename.
inline void save_png(const std::filesystem::path& path, const Tensor<std::uint8_t>& img) {
  std::vector<unsigned char> bytes;
  try {
    bytes = encode_png(img);
  } catch (const Error& e) {
    throw Error(path.string() + ": " + e.what());
  }
  write_file_atomic(path, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

/// Writes img [C, H, W] (C = 1, 3 or 4; values in [0, 1], clamped, rounded to
/// 8 bits) as a PNG file, via a temporary file and rename.
inline void save_png(const std::filesystem::path& path, const Tensor<float>& img) {
  FREQCAP_CHECK(img.ndim() == 3, path.string(), ": save_png expects an image [C, H, W] with C = 1, 3 or 4, got ",
                shape_str(img.shape()));
  const Tensor<float> x = img.contiguous();
  Tensor<std::uint8_t> q = Tensor<std::uint8_t>::empty(x.shape());
  for (std::int64_t i = 0; i < x.numel(); ++i)
    q.data()[i] = static_cast<std::uint8_t>(std::lround(std::clamp(x.data()[i], 0.0f, 1.0f) * 255.0f));
  save_png(path, q);
}

}  // namespace freqcap
