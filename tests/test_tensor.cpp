// Tensor<T>, its views and the value-level ops of core/: checked against
// hand-computed values and naive loops.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <random>

#include "freqcap/core/linalg.hpp"
#include "freqcap/core/memory.hpp"
#include "freqcap/core/tensor_ops.hpp"
#include "freqcap/core/threads.hpp"

namespace freqcap_test_tensor {  // own scope: the unity build joins test files

using namespace freqcap;

namespace {
Tensor<float> iota(Shape s) {
  Tensor<float> t(std::move(s));
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = static_cast<float>(i);
  return t;
}
template <class T>
Tensor<T> random(Shape s, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  Tensor<T> t(std::move(s));
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = static_cast<T>(u(rng));
  return t;
}
}  // namespace

TEST_CASE("tensors of every element type hold zero-filled aligned storage", "[tensor]") {
  auto check = [](auto tag) {
    using T = decltype(tag);
    Tensor<T> t({3, 5});
    REQUIRE(t.numel() == 15);
    REQUIRE(t.is_contiguous());
    REQUIRE(reinterpret_cast<std::uintptr_t>(t.data()) % 64 == 0);
    for (auto v : t.to_vector()) REQUIRE(v == T{0});
  };
  check(float{});
  check(double{});
  check(std::int32_t{});
  check(std::int64_t{});
  check(std::uint8_t{});
}

TEST_CASE("freed large blocks are reused once a program opts in (up to the cache limit)", "[tensor]") {
  auto& cache = detail::BlockCache::instance();
  constexpr std::size_t mib = std::size_t{1} << 20;
  const std::int64_t n = std::int64_t(3 * mib / sizeof(float));  // 3 MiB of floats: a 4 MiB block
  keep_freed_tensor_memory(0);  // off: every block goes back to malloc
  { Tensor<float> a(Shape{n}); }
  CHECK(cache.held_bytes() == 0);

  keep_freed_tensor_memory(8 * mib);  // room for two such blocks
  const float* first = nullptr;
  {
    Tensor<float> a(Shape{n}, 1.0f);
    first = a.data();
    CHECK(reinterpret_cast<std::uintptr_t>(first) % (2 * mib) == 0);
  }
  CHECK(cache.held_bytes() == 4 * mib);
  {
    Tensor<float> b(Shape{n});
    CHECK(b.data() == first);  // the same block, handed back ...
    CHECK(cache.held_bytes() == 0);
    const auto v = b.to_vector();
    CHECK(std::all_of(v.begin(), v.end(), [](float x) { return x == 0.0f; }));  // ... and zero-filled again
    Tensor<float> c(Shape{n}), d(Shape{n});
  }  // three blocks freed: the first one back is released to stay within 8 MiB
  CHECK(cache.held_bytes() == 8 * mib);
  {
    Tensor<float> other(Shape{2 * n});  // a 6 MiB block: not served from the 4 MiB ones
    CHECK(cache.held_bytes() == 8 * mib);
  }  // larger than what is left: evicts both 4 MiB blocks
  CHECK(cache.held_bytes() == 6 * mib);
  keep_freed_tensor_memory(0);
  CHECK(cache.held_bytes() == 0);
}

TEST_CASE("element access follows row-major strides", "[tensor]") {
  auto t = iota({2, 3, 4});
  REQUIRE(t.strides() == Strides{12, 4, 1});
  REQUIRE(t(1, 2, 3) == 23.0f);
  REQUIRE(t.at({0, 1, 2}) == 6.0f);
  REQUIRE_THROWS_AS(t(2, 0, 0), Error);
  REQUIRE_THROWS_AS(t(0, 0), Error);
}

TEST_CASE("reshape, permute, transpose, slice, select and expand are views", "[tensor]") {
  auto t = iota({2, 3, 4});
  auto r = t.reshape({4, -1});
  REQUIRE(r.shape() == Shape{4, 6});
  REQUIRE(r.shares_storage(t));
  REQUIRE_THROWS_WITH(t.reshape({5, -1}), Catch::Contains("[2, 3, 4]") && Catch::Contains("[5, -1]"));

  auto p = t.permute({2, 0, 1});
  REQUIRE(p.shape() == Shape{4, 2, 3});
  REQUIRE_FALSE(p.is_contiguous());
  REQUIRE(p.shares_storage(t));
  for (int a = 0; a < 2; ++a)
    for (int b = 0; b < 3; ++b)
      for (int c = 0; c < 4; ++c) REQUIRE(p(c, a, b) == t(a, b, c));

  auto tr = t.transpose(0, 2);
  REQUIRE(tr(3, 1, 0) == t(0, 1, 3));

  auto s = t.slice(2, 1, 4, 2);  // columns 1 and 3
  REQUIRE(s.shape() == Shape{2, 3, 2});
  REQUIRE(s(1, 2, 1) == t(1, 2, 3));
  REQUIRE(t.slice(1, -2, 100).shape() == Shape{2, 2, 4});

  auto sel = t.select(1, 2);
  REQUIRE(sel.shape() == Shape{2, 4});
  REQUIRE(sel(1, 1) == t(1, 2, 1));

  auto e = Tensor<float>::from({3, 1}, {1, 2, 3}).expand({3, 4});
  REQUIRE(e.strides()[1] == 0);
  REQUIRE(e(2, 3) == 3.0f);

  auto u = t.unsqueeze(1);
  REQUIRE(u.shape() == Shape{2, 1, 3, 4});
  REQUIRE(u(1, 0, 2, 3) == t(1, 2, 3));

  // writing through a view writes the original
  s.fill(-1.0f);
  REQUIRE(t(0, 0, 1) == -1.0f);
  REQUIRE(t(0, 0, 0) == 0.0f);
}

TEST_CASE("a non-contiguous tensor reshapes and clones through a copy", "[tensor]") {
  auto t = iota({2, 3});
  auto c = t.transpose(0, 1).reshape({6});
  REQUIRE_FALSE(c.shares_storage(t));
  REQUIRE(c.to_vector() == std::vector<float>{0, 3, 1, 4, 2, 5});
  auto k = t.clone();
  k(0, 0) = 42;
  REQUIRE(t(0, 0) == 0.0f);
}

TEST_CASE("broadcasting elementwise ops match explicit loops", "[tensor]") {
  auto a = random<double>({2, 3, 4}, 1);
  auto b = random<double>({3, 1}, 2);
  auto c = a * b + a;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) REQUIRE(c(i, j, k) == Approx(a(i, j, k) * b(j, 0) + a(i, j, k)).epsilon(1e-15));
  REQUIRE_THROWS_WITH(a + random<double>({2, 4, 4}, 3), Catch::Contains("[2, 3, 4]") && Catch::Contains("[2, 4, 4]"));
  // on strided inputs too
  auto at = a.transpose(0, 2);  // [4, 3, 2]
  auto d = at - at;
  for (auto v : d.to_vector()) REQUIRE(v == 0.0);
}

TEST_CASE("reductions over axes", "[tensor]") {
  auto t = iota({2, 3, 4});
  auto s1 = sum(t, {1});
  REQUIRE(s1.shape() == Shape{2, 4});
  REQUIRE(s1(1, 2) == 14.0f + 18 + 22);
  auto s02 = sum(t, {0, 2}, true);
  REQUIRE(s02.shape() == Shape{1, 3, 1});
  REQUIRE(s02(0, 1, 0) == (4 + 5 + 6 + 7) + (16 + 17 + 18 + 19));
  REQUIRE(sum(t).item() == 276.0f);
  REQUIRE(mean(t, {-1})(0, 0) == 1.5f);
  REQUIRE(max(t, {0})(2, 3) == 23.0f);
  auto am = argmax(t.transpose(0, 2), 1);  // [4, 2]: along the original axis 1
  REQUIRE(am.shape() == Shape{4, 2});
  for (auto v : am.to_vector()) REQUIRE(v == 2);
  REQUIRE_THROWS_AS(sum(t, {3}), Error);
}

TEST_CASE("sum_to reduces a broadcast gradient to its shape", "[tensor]") {
  auto g = Tensor<float>(Shape{2, 3, 4}, 1.0f);
  auto r = sum_to(g, {3, 1});
  REQUIRE(r.shape() == Shape{3, 1});
  for (auto v : r.to_vector()) REQUIRE(v == 8.0f);
  REQUIRE_THROWS_AS(sum_to(g, {5}), Error);
}

TEST_CASE("concat joins along an axis and checks the others", "[tensor]") {
  auto a = iota({2, 2}), b = iota({2, 3});
  auto c = concat<float>({a, b}, 1);
  REQUIRE(c.shape() == Shape{2, 5});
  REQUIRE(c(1, 4) == b(1, 2));
  REQUIRE(c(1, 1) == a(1, 1));
  REQUIRE_THROWS_AS(concat<float>({a, b}, 0), Error);
}

TEST_CASE("batched matmul through Eigen::Map agrees with a naive product, on views too", "[tensor]") {
  auto a = random<double>({3, 5, 7}, 4);
  auto b = random<double>({7, 2}, 5);  // broadcast over the batch
  auto c = matmul(a, b);
  REQUIRE(c.shape() == Shape{3, 5, 2});
  for (int n = 0; n < 3; ++n)
    for (int i = 0; i < 5; ++i)
      for (int j = 0; j < 2; ++j) {
        double ref = 0;
        for (int k = 0; k < 7; ++k) ref += a(n, i, k) * b(k, j);
        REQUIRE(c(n, i, j) == Approx(ref).epsilon(1e-12));
      }
  // a transposed view multiplies without a copy and gives the same numbers
  auto bt = random<double>({2, 7}, 6);
  auto c2 = matmul(a, bt.transpose(0, 1));
  auto c3 = matmul(a, bt.transpose(0, 1).contiguous());
  REQUIRE(max_abs_diff(c2, c3) < 1e-14);
  REQUIRE_THROWS_WITH(matmul(a, random<double>({6, 2}, 7)), Catch::Contains("[3, 5, 7]") && Catch::Contains("[6, 2]"));
}

TEST_CASE("xt() adapts the same memory for xtensor algorithms", "[tensor]") {
  auto t = iota({2, 3});
  auto v = t.transpose(0, 1).xt();
  REQUIRE(v(2, 1) == 5.0f);
  v(0, 1) = 100.0f;
  REQUIRE(t(1, 0) == 100.0f);
}

TEST_CASE("thread counts parse strictly", "[tensor]") {
  REQUIRE(parse_thread_count("3", "--threads") == 3);
  REQUIRE_THROWS_WITH(parse_thread_count("0", "--threads"), Catch::Contains("--threads"));
  REQUIRE_THROWS_AS(parse_thread_count("2x", "FREQCAP_NUM_THREADS"), Error);
}

}  // namespace freqcap_test_tensor
