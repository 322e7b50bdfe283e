// dct/: FFTW DCT-II/III against the direct O(n^2) sums (float and double, odd
// lengths, any axes, short rows through REDFT and long ones through the real
// FFT), round trips, the plan cache under threads, zigzag ranks
// written out by hand, keep-first masks against a brute-force sort, the
// truncation schedule's closed form, and the box-restricted separable path
// against FFTW.
#include <catch2/catch.hpp>

#include "support.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>

#include "freqcap/dct/dct.hpp"
#include "freqcap/dct/schedule.hpp"
#include "freqcap/dct/separable.hpp"
#include "freqcap/dct/zigzag.hpp"

namespace freqcap_test_dct {  // own scope: the unity build joins test files

using namespace freqcap;
using freqcap::dct::Kind;

using freqcap::testing::randn;
using freqcap::testing::max_abs_diff;

namespace {



// Brute force: every flat index of `shape`, sorted by (index sum, i0, i1, ...).
std::vector<dct::Index> sorted_indices(const Shape& shape) {
  std::vector<dct::Index> all;
  const std::int64_t n = numel_of(shape);
  const Strides st = contiguous_strides(shape);
  for (std::int64_t f = 0; f < n; ++f) {
    dct::Index idx(shape.size());
    std::int64_t r = f;
    for (std::size_t a = 0; a < shape.size(); ++a) idx[a] = r / st[a], r %= st[a];
    all.push_back(idx);
  }
  std::stable_sort(all.begin(), all.end(), [](const dct::Index& a, const dct::Index& b) {
    std::int64_t sa = 0, sb = 0;
    for (auto v : a) sa += v;
    for (auto v : b) sb += v;
    if (sa != sb) return sa < sb;
    return a < b;
  });
  return all;
}

}  // namespace

TEST_CASE("dct: FFTW DCT-II/III equal the direct sums (double, odd lengths, any axes)", "[dct]") {
  // Every row path: short rows through REDFT (n < 32) and long ones through
  // the real FFT (Makhoul), odd and even; inner axes as gathered column blocks
  // (inner >= 16: [2, 64, 20], [5, 3, 48], [40, 33, 3] axis 0) or swapped last.
  static_assert(dct::detail::makhoul_min_length == 32, "update the lengths below");
  for (const Shape& shape : {Shape{7}, Shape{1}, Shape{3, 5}, Shape{2, 1, 9}, Shape{5, 3, 11, 4}, Shape{40, 33, 3},
                             Shape{1, 127}, Shape{2, 64, 20}, Shape{5, 3, 48}, Shape{32, 31}}) {
    const auto x = randn<double>(shape, 11);
    std::vector<std::vector<std::int64_t>> axes_sets = {dct::detail::all_axes(shape.size()), {0}, {-1}};
    if (shape.size() >= 3) axes_sets.push_back({0, 2});
    for (const auto& axes : axes_sets) {
      INFO("shape " << shape_str(shape) << " axes " << axes.size());
      CHECK(max_abs_diff(dct::dct(x, axes), dct::dct_direct(x, axes, Kind::dct2)) < 1e-12);
      CHECK(max_abs_diff(dct::idct(x, axes), dct::dct_direct(x, axes, Kind::dct3)) < 1e-12);
    }
  }
}

TEST_CASE("dct: float transforms match the double reference within float rounding", "[dct]") {
  for (const Shape& shape : {Shape{13}, Shape{6, 7}, Shape{4, 3, 5, 5}, Shape{50, 3, 17}, Shape{2, 300}}) {
    const auto x = randn<float>(shape, 3);
    const auto all = dct::detail::all_axes(shape.size());
    // Entries are O(1); the error of an n-point float transform is ~ eps * log n * |x|.
    CHECK(max_abs_diff(dct::dct(x), dct::dct_direct(x, all, Kind::dct2)) < 2e-5);
    CHECK(max_abs_diff(dct::idct(x), dct::dct_direct(x, all, Kind::dct3)) < 2e-5);
    CHECK(max_abs_diff(dct::dct(x, {-1}), dct::dct_direct(x, {-1}, Kind::dct2)) < 2e-5);
  }
}

TEST_CASE("dct: known values, orthonormality and round trips", "[dct]") {
  // A constant vector has all its energy in the DC coefficient: sqrt(n) * c.
  const auto c = dct::dct(Tensor<double>(Shape{4}, 1.0));
  CHECK(c(0) == Approx(2.0).margin(1e-15));
  for (int k = 1; k < 4; ++k) CHECK(std::abs(c(k)) < 1e-15);
  // dct([1, 0]) = [1/sqrt2, 1/sqrt2]; the basis row k=1 of n=2 is [1/sqrt2, -1/sqrt2].
  const auto e = dct::dct(Tensor<double>::from({2}, {1.0, 0.0}));
  CHECK(e(0) == Approx(std::sqrt(0.5)));
  CHECK(e(1) == Approx(std::sqrt(0.5)));

  const auto x = randn<double>({6, 5, 3}, 5);
  CHECK(max_abs_diff(dct::idct(dct::dct(x)), x) < 1e-13);
  CHECK(max_abs_diff(dct::dct(dct::idct(x)), x) < 1e-13);
  CHECK(max_abs_diff(dct::idct(dct::dct(x, {0, 2}), {0, 2}), x) < 1e-13);
  double e0 = 0, e1 = 0;  // Parseval
  const auto X = dct::dct(x);
  for (std::int64_t i = 0; i < x.numel(); ++i) e0 += x.data()[i] * x.data()[i], e1 += X.data()[i] * X.data()[i];
  CHECK(e1 == Approx(e0).epsilon(1e-12));

  const auto xf = randn<float>({9, 10}, 6);
  CHECK(max_abs_diff(dct::idct(dct::dct(xf)), xf) < 1e-5);
}

TEST_CASE("dct: strided inputs and the basis matrix agree with the transform", "[dct]") {
  const auto x = randn<double>({5, 7}, 8);
  const auto xt = x.transpose(0, 1);  // a strided view [7, 5]
  CHECK(max_abs_diff(dct::dct(xt), dct::dct_direct(xt.contiguous(), {0, 1}, Kind::dct2)) < 1e-12);
  // dct over axis 1 is x D^T with D the basis.
  const auto d = dct::dct_basis<double>(7, 7);
  const auto ref = dct::dct(x, {1});
  for (std::int64_t i = 0; i < 5; ++i)
    for (std::int64_t k = 0; k < 7; ++k) {
      double acc = 0;
      for (std::int64_t m = 0; m < 7; ++m) acc += x(i, m) * d(k, m);
      CHECK(std::abs(acc - ref(i, k)) < 1e-12);
    }
}

TEST_CASE("dct: plans are cached once per shape and safe to use from threads", "[dct]") {
  const auto x = randn<float>({12, 17}, 9);
  const auto ref = dct::dct_direct(x, {0, 1}, Kind::dct2);
  (void)dct::dct(x);
  const std::size_t before = dct::cached_plan_count<float>();
  (void)dct::dct(x);
  (void)dct::dct(randn<float>({12, 17}, 10));
  CHECK(dct::cached_plan_count<float>() == before);

  std::vector<double> err(4, 1.0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      double worst = 0;
      for (int rep = 0; rep < 20; ++rep) {
        // New shapes from several threads at once exercise the planner lock.
        const Shape s{3 + t, 5 + rep % 4};
        const auto y = randn<float>(s, unsigned(100 * t + rep));
        worst = std::max(worst, max_abs_diff(dct::idct(dct::dct(y)), y));
        worst = std::max(worst, max_abs_diff(dct::dct(x), ref));
      }
      err[std::size_t(t)] = worst;
    });
  for (auto& th : threads) th.join();
  for (double e : err) CHECK(e < 2e-5);
}

TEST_CASE("dct: zigzag ranks of a 2-D shape, written out by hand", "[dct]") {
  // (3, 4): sum 0: (0,0); 1: (0,1) (1,0); 2: (0,2) (1,1) (2,0); 3: (0,3) (1,2) (2,1); 4: (1,3) (2,2); 5: (2,3)
  const std::int64_t expected[3][4] = {{0, 1, 3, 6}, {2, 4, 7, 9}, {5, 8, 10, 11}};
  for (std::int64_t i = 0; i < 3; ++i)
    for (std::int64_t j = 0; j < 4; ++j) {
      CHECK(dct::zigzag_rank({3, 4}, {i, j}) == expected[i][j]);
      CHECK(dct::zigzag_index({3, 4}, expected[i][j]) == dct::Index{i, j});
    }
  std::vector<std::int64_t> offs;
  dct::for_each_in_zigzag_order({3, 4}, 12, [&](std::int64_t off) { offs.push_back(off); });
  CHECK(offs == std::vector<std::int64_t>{0, 1, 4, 2, 5, 8, 3, 6, 9, 7, 10, 11});
}

TEST_CASE("dct: zigzag ranks of 4-D shapes, written out by hand", "[dct]") {
  // (2, 2, 2, 2) by index sum, then lexicographically.
  const std::vector<dct::Index> order = {
      {0, 0, 0, 0},                                                                           // sum 0
      {0, 0, 0, 1}, {0, 0, 1, 0}, {0, 1, 0, 0}, {1, 0, 0, 0},                                 // sum 1
      {0, 0, 1, 1}, {0, 1, 0, 1}, {0, 1, 1, 0}, {1, 0, 0, 1}, {1, 0, 1, 0}, {1, 1, 0, 0},     // sum 2
      {0, 1, 1, 1}, {1, 0, 1, 1}, {1, 1, 0, 1}, {1, 1, 1, 0},                                 // sum 3
      {1, 1, 1, 1}};                                                                          // sum 4
  for (std::size_t r = 0; r < order.size(); ++r) {
    CHECK(dct::zigzag_rank({2, 2, 2, 2}, order[r]) == std::int64_t(r));
    CHECK(dct::zigzag_index({2, 2, 2, 2}, std::int64_t(r)) == order[r]);
  }
  // A conv-like (out=3, in=2, kh=1, kw=2): sum 0: 0000; 1: 0001 0100 1000; 2: 0101 1001 1100 2000;
  // 3: 1101 2001 2100; 4: 2101.
  const std::vector<dct::Index> conv = {{0, 0, 0, 0}, {0, 0, 0, 1}, {0, 1, 0, 0}, {1, 0, 0, 0},
                                        {0, 1, 0, 1}, {1, 0, 0, 1}, {1, 1, 0, 0}, {2, 0, 0, 0},
                                        {1, 1, 0, 1}, {2, 0, 0, 1}, {2, 1, 0, 0}, {2, 1, 0, 1}};
  for (std::size_t r = 0; r < conv.size(); ++r) CHECK(dct::zigzag_rank({3, 2, 1, 2}, conv[r]) == std::int64_t(r));
}

TEST_CASE("dct: keep_first masks match a brute-force sort; box, gather and scatter", "[dct]") {
  // [7, 5, 1, 1] and [6, 4, 3, 1]: trailing axes of size 1, as 1x1 and
  // depthwise convolutions have; runs then go along the axis before them.
  for (const Shape& shape :
       {Shape{5, 7}, Shape{4, 3, 3, 3}, Shape{6, 1, 5, 2}, Shape{9}, Shape{7, 5, 1, 1}, Shape{6, 4, 3, 1}}) {
    const auto sorted = sorted_indices(shape);
    const std::int64_t n = numel_of(shape);
    for (std::int64_t r = 0; r < n; ++r) REQUIRE(dct::zigzag_rank(shape, sorted[std::size_t(r)]) == r);
    const auto c = randn<double>(shape, 21);
    for (std::int64_t k : {std::int64_t(1), n / 3, n / 2 + 1, n - 1, n}) {
      INFO("shape " << shape_str(shape) << " K " << k);
      const auto m = dct::ZigzagMask::keep_first(shape, k);
      const auto t = m.to_tensor<double>();
      Tensor<double> expect(shape, 0.0);
      for (std::int64_t r = 0; r < k; ++r) expect.at(sorted[std::size_t(r)]) = 1.0;
      CHECK(max_abs_diff(t, expect) == 0.0);
      for (std::int64_t r = 0; r < n; ++r) {
        const auto& idx = sorted[std::size_t(r)];
        CHECK(m.contains(idx) == (r < k));
        if (r < k)
          for (std::size_t a = 0; a < shape.size(); ++a) CHECK(idx[a] < m.box()[a]);
      }
      CHECK(max_abs_diff(m.apply(c), c * expect) == 0.0);
      CHECK(max_abs_diff(m.scatter_box(m.masked_box(c)), c * expect) == 0.0);
      const auto kept = m.gather_kept(c);
      REQUIRE(kept.numel() == k);
      for (std::int64_t r = 0; r < k; ++r) CHECK(kept(r) == c.at(sorted[std::size_t(r)]));
      CHECK(max_abs_diff(m.scatter_kept(kept), c * expect) == 0.0);
      std::vector<double> rowmajor;
      for (std::int64_t i = 0; i < n; ++i)
        if (expect.data()[i] != 0.0) rowmajor.push_back(c.data()[i]);
      CHECK(m.gather_kept_rowmajor(c).to_vector() == rowmajor);
      // Runs go along the last axis that is not 1: at most one per row of
      // the box over the axes before it (one per kept coefficient before).
      std::int64_t runs = 0, rows = 1;
      std::size_t last = shape.size();
      while (last > 1 && shape[last - 1] == 1) --last;
      for (std::size_t a = 0; a + 1 < last; ++a) rows *= m.box()[a];
      m.for_each_kept_run([&](std::int64_t, std::int64_t, std::int64_t) { ++runs; });
      CHECK(runs <= rows);
    }
  }
}

TEST_CASE("dct: truncation schedule follows its closed form and only shrinks", "[dct]") {
  dct::TruncationSchedule s;
  s.min_rate = 0.2;
  s.drop_rate = 0.01;
  s.min_count = 50;
  const std::int64_t n = 10000;
  std::int64_t prev = n;
  for (std::int64_t t : {0, 1, 10, 100, 1000, 5000}) {
    const double keep = 0.2 + 0.8 * std::pow(0.99, double(t));
    CHECK(s.keep_fraction(n, t) == Approx(keep).epsilon(1e-14));
    const std::int64_t k = s.kept_at(n, t);
    CHECK(k == std::max<std::int64_t>(50, std::int64_t(std::floor(keep * n + 1e-9 * n))));
    CHECK(k <= prev);
    prev = k;
  }
  CHECK(s.kept_at(n, 0) == n);
  CHECK(s.kept_at(n, 100000) == 2000);
  // The floor on the count: 0.2 * 100 = 20 < 50.
  CHECK(s.kept_at(100, 100000) == 50);
  CHECK(s.kept_at(30, 100000) == 30);  // never more than N
  // A fixed count replaces the ratio; dynamic = false starts at the final mask.
  s.keep_count = 300;
  CHECK(s.kept_at(n, 100000) == 300);
  s.dynamic = false;
  CHECK(s.kept_at(n, 0) == 300);
  s.keep_count = -1;
  CHECK(s.kept_at(n, 0) == 2000);
  dct::TruncationSchedule bad;
  bad.min_rate = 1.5;
  CHECK_THROWS_AS(bad.validate(), Error);
}

TEST_CASE("dct: mode products on every branch equal the direct sum", "[dct]") {
  const auto x = randn<double>({3, 70, 2}, 31);
  const auto mat = randn<double>({4, 70}, 32);
  for (std::size_t axis : {std::size_t(1)}) {
    const auto y = dct::mode_product(x, axis, mat, false);
    REQUIRE(y.shape() == Shape{3, 4, 2});
    for (std::int64_t i = 0; i < 3; ++i)
      for (std::int64_t j = 0; j < 4; ++j)
        for (std::int64_t k = 0; k < 2; ++k) {
          double acc = 0;
          for (std::int64_t m = 0; m < 70; ++m) acc += mat(j, m) * x(i, m, k);
          CHECK(std::abs(acc - y(i, j, k)) < 1e-12);
        }
  }
  // Last axis (inner == 1), transposed matrix; first axis with a large inner extent (inner >= 64).
  const auto x2 = randn<float>({2, 80}, 33);
  const auto mt = randn<float>({80, 5}, 34);
  const auto y2 = dct::mode_product(x2, 1, mt, true);
  const auto y3 = dct::mode_product(x2, 0, randn<float>({3, 2}, 35), false);
  const auto m3 = randn<float>({3, 2}, 35);
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t j = 0; j < 5; ++j) {
      double acc = 0;
      for (std::int64_t m = 0; m < 80; ++m) acc += double(mt(m, j)) * x2(i, m);
      CHECK(std::abs(acc - y2(i, j)) < 1e-4);
    }
  for (std::int64_t j = 0; j < 3; ++j)
    for (std::int64_t c = 0; c < 80; ++c)
      CHECK(std::abs(double(m3(j, 0)) * x2(0, c) + double(m3(j, 1)) * x2(1, c) - y3(j, c)) < 1e-5);
}

TEST_CASE("dct: the box-restricted separable path agrees with FFTW", "[dct]") {
  for (const Shape& shape : {Shape{6, 4, 3, 3}, Shape{40, 33}, Shape{16, 8, 5, 5}, Shape{12, 3, 1, 1}}) {
    const auto c = randn<double>(shape, 41);
    const std::int64_t n = numel_of(shape);
    for (std::int64_t k : {std::int64_t(1), n / 10 + 1, n / 2, n}) {
      INFO("shape " << shape_str(shape) << " K " << k);
      const auto m = dct::ZigzagMask::keep_first(shape, k);
      dct::BasisCache<double> bases;
      const auto w_fftw = dct::idct(m.apply(c));
      const auto w_box = dct::box_idct(m.masked_box(c), shape, bases);
      CHECK(max_abs_diff(w_fftw, w_box) < 1e-12);
      // Adjoint: the truncated DCT-II equals the full one restricted to the box.
      const auto g = randn<double>(shape, 42);
      const auto full = dct::dct(g);
      const auto boxed = dct::box_dct(g, m.box(), bases);
      Tensor<double> ref = full;
      for (std::size_t a = 0; a < shape.size(); ++a) ref = ref.slice(std::int64_t(a), 0, m.box()[a]);
      CHECK(max_abs_diff(boxed, ref.contiguous()) < 1e-12);
    }
    const auto cf = randn<float>(shape, 43);
    const auto mf = dct::ZigzagMask::keep_first(shape, n / 4 + 1);
    dct::BasisCache<float> bf;
    CHECK(max_abs_diff(dct::idct(mf.apply(cf)), dct::box_idct(mf.masked_box(cf), shape, bf)) < 1e-5);
  }
}

}  // namespace freqcap_test_dct
