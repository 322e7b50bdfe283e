// Prefetcher<Batch>: builds batches 0, 1, ..., count-1 on background
// std::threads ahead of the training loop and hands them to the consumer IN
// ORDER, whichever worker finishes first. At most `depth` batches are ever
// produced or in production beyond the one the consumer last took, so memory
// stays bounded. An exception thrown by the producer for batch i is rethrown
// (the same object, e.g. a freqcap::Error with its message) by the consumer's
// next() at batch i's position. Destroying a Prefetcher early wakes the idle
// workers, lets busy ones finish their current batch and joins them all.
//
// Threads: OpenMP kernels run on the consumer thread; producers must not open
// OpenMP parallel regions themselves (they would oversubscribe the cores the
// kernels use). data/augment.hpp and image loading are OpenMP-free. For a
// reproducible augmented stream with several workers, give each batch its own
// Augmenter seeded from its index (derive_seed(seed, {epoch, batch_index}) of
// core/random.hpp); never share one Augmenter between workers.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "freqcap/core/error.hpp"

namespace freqcap {

template <class Batch>
class Prefetcher {
 public:
  using Producer = std::function<Batch(std::int64_t batch_index)>;

  /// Starts `workers` threads producing batches [0, count) at most `depth`
  /// ahead of the consumer. One consumer thread calls next().
  Prefetcher(Producer produce, std::int64_t count, int workers = 1, int depth = 2)
      : produce_(std::move(produce)), count_(count), depth_(depth) {
    FREQCAP_CHECK(produce_ != nullptr, "Prefetcher: the producer is empty");
    FREQCAP_CHECK(count >= 0 && workers >= 1 && depth >= 1, "Prefetcher: need count >= 0, workers >= 1 and depth >= 1; got count=",
                  count, " workers=", workers, " depth=", depth);
    try {
      for (int w = 0; w < workers; ++w) threads_.emplace_back([this] { work(); });
    } catch (...) {
      shutdown();
      throw;
    }
  }

  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;
  ~Prefetcher() { shutdown(); }

  /// Whether next() has batches left to deliver.
  bool has_next() const { return next_take_ < count_; }
  std::int64_t count() const { return count_; }
  /// Index of the batch next() will return.
  std::int64_t position() const { return next_take_; }

  /// Waits for batch position() and returns it, or rethrows its producer's
  /// exception; either way the position advances.
  Batch next() {
    FREQCAP_CHECK(has_next(), "Prefetcher::next: all ", count_, " batches were already delivered");
    std::unique_lock lk(mu_);
    ready_cv_.wait(lk, [&] { return done_.count(next_take_) != 0; });
    auto node = done_.extract(next_take_);
    ++next_take_;
    lk.unlock();
    work_cv_.notify_all();  // one more batch may start now
    Slot& s = node.mapped();
    if (s.error) std::rethrow_exception(s.error);
    return std::move(*s.value);
  }

 private:
  struct Slot {
    std::optional<Batch> value;
    std::exception_ptr error;
  };

  void work() {
    for (;;) {
      std::int64_t i = 0;
      {
        std::unique_lock lk(mu_);
        // Batch i may start once the consumer has taken batch i - depth: then
        // at most `depth` batches lie beyond the last one it took.
        work_cv_.wait(lk, [&] { return stop_ || next_claim_ >= count_ || next_claim_ < next_take_ + depth_; });
        if (stop_ || next_claim_ >= count_) return;
        i = next_claim_++;
      }
      Slot s;
      try {
        s.value.emplace(produce_(i));
      } catch (...) {
        s.error = std::current_exception();
      }
      {
        std::lock_guard lk(mu_);
        done_.emplace(i, std::move(s));
      }
      ready_cv_.notify_one();
    }
  }

  void shutdown() {
    {
      std::lock_guard lk(mu_);
      stop_ = true;
    }
    work_cv_.notify_all();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    threads_.clear();
  }

  Producer produce_;
  const std::int64_t count_;
  const std::int64_t depth_;
  std::mutex mu_;
  std::condition_variable work_cv_, ready_cv_;
  std::map<std::int64_t, Slot> done_;  // finished batches not yet taken, by index
  std::int64_t next_claim_ = 0;        // next index a worker starts (under mu_)
  std::int64_t next_take_ = 0;         // next index the consumer takes (written under mu_)
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace freqcap
