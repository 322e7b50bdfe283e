// data/prefetch.hpp: Prefetcher delivers the serial loop's batches in order
// whatever the workers' timing, keeps at most `depth` batches ahead of the
// consumer (counted by the producer itself), rethrows a producer's
// freqcap::Error at that batch's position, and joins cleanly when destroyed
// early (run this file under -fsanitize=address or thread to check for
// leaks and races).
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "freqcap/data/prefetch.hpp"

namespace freqcap_test_prefetch {  // own scope: the unity build joins test files

using namespace freqcap;
using namespace std::chrono_literals;

namespace {

// A deterministic "batch" for index i and a pseudo-random delay of 0..max_us.
std::vector<std::int64_t> make_batch(std::int64_t i) { return {i, i * i, 7 * i + 3}; }

void jitter(std::int64_t i, int max_us) {
  std::uint64_t x = std::uint64_t(i) * 0x9E3779B97F4A7C15ull;
  x ^= x >> 29;
  std::this_thread::sleep_for(std::chrono::microseconds(x % std::uint64_t(max_us + 1)));
}

}  // namespace

TEST_CASE("Prefetcher: in order and equal to a serial loop, with random producer delays", "[prefetch]") {
  const std::int64_t n = 40;
  std::vector<std::vector<std::int64_t>> serial;
  for (std::int64_t i = 0; i < n; ++i) serial.push_back(make_batch(i));
  for (int workers : {1, 2, 4})
    for (int depth : {1, 2, 5}) {
      Prefetcher<std::vector<std::int64_t>> p(
          [](std::int64_t i) {
            jitter(i, 3000);
            return make_batch(i);
          },
          n, workers, depth);
      std::vector<std::vector<std::int64_t>> got;
      while (p.has_next()) {
        CHECK(p.position() == std::int64_t(got.size()));
        got.push_back(p.next());
      }
      INFO("workers " << workers << " depth " << depth);
      CHECK(got == serial);
      CHECK_THROWS_AS(p.next(), Error);
    }
}

TEST_CASE("Prefetcher: never more than depth batches beyond the consumer's", "[prefetch]") {
  for (int workers : {1, 3})
    for (int depth : {1, 2, 3}) {
      std::atomic<int> live{0}, max_live{0};
      Prefetcher<std::int64_t> p(
          [&](std::int64_t i) {
            const int now = ++live;  // started and not yet finished with by the consumer
            int m = max_live.load();
            while (now > m && !max_live.compare_exchange_weak(m, now)) {
            }
            return i;
          },
          12, workers, depth);
      while (p.has_next()) {
        p.next();
        std::this_thread::sleep_for(15ms);  // a slow training step: the workers fill up
        --live;
      }
      INFO("workers " << workers << " depth " << depth);
      // The batch being consumed plus `depth` prefetched ones, and the bound is reached.
      CHECK(max_live.load() == depth + 1);
    }
}

TEST_CASE("Prefetcher: a producer's Error is rethrown intact at its batch", "[prefetch]") {
  for (int workers : {1, 3}) {
    Prefetcher<std::int64_t> p(
        [](std::int64_t i) -> std::int64_t {
          jitter(i, 2000);
          FREQCAP_CHECK(i != 3, "images/broken.png: cannot decode image (batch ", i, ")");
          return 10 * i;
        },
        6, workers, 2);
    CHECK(p.next() == 0);
    CHECK(p.next() == 10);
    CHECK(p.next() == 20);
    std::string message;
    try {
      p.next();
    } catch (const Error& e) {
      message = e.what();
    }
    CHECK(message == "images/broken.png: cannot decode image (batch 3)");
    CHECK(p.position() == 4);  // the consumer may go on past a bad batch
    CHECK(p.next() == 40);
    CHECK(p.next() == 50);
    CHECK_FALSE(p.has_next());
  }
}

TEST_CASE("Prefetcher: early destruction joins busy and idle workers", "[prefetch]") {
  std::atomic<int> started{0}, finished{0};
  const auto t0 = std::chrono::steady_clock::now();
  {
    Prefetcher<std::unique_ptr<std::vector<float>>> p(
        [&](std::int64_t) {
          ++started;
          std::this_thread::sleep_for(30ms);  // mid-batch when the destructor runs
          ++finished;
          return std::make_unique<std::vector<float>>(1000, 1.0f);
        },
        1000, 2, 2);
    CHECK(p.next()->size() == 1000);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(started.load() == finished.load());  // every started batch ran to completion, then stopped
  CHECK(started.load() <= 1 + 2);            // the batch taken + depth; never more
  CHECK(secs < 5.0);
  { Prefetcher<int> idle([](std::int64_t i) { return int(i); }, 5, 3, 1); }  // never consumed
  {
    Prefetcher<int> none([](std::int64_t i) { return int(i); }, 0);
    CHECK_FALSE(none.has_next());
    CHECK_THROWS_WITH(none.next(), Catch::Contains("already delivered"));
  }
  CHECK_THROWS_AS(Prefetcher<int>([](std::int64_t i) { return int(i); }, 3, 0), Error);
  CHECK_THROWS_AS(Prefetcher<int>([](std::int64_t i) { return int(i); }, 3, 1, 0), Error);
}

}  // namespace freqcap_test_prefetch
