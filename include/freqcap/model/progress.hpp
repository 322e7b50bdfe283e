// Training progress: a one-line bar per epoch (images/s, ETA, running loss
// and accuracy) redrawn in place on a terminal and printed once at the end of
// the epoch otherwise, and the per-epoch CSV log written next to the model.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "freqcap/core/error.hpp"

namespace freqcap::model {

class ProgressBar {
 public:
  ProgressBar(std::string label, std::int64_t total, std::FILE* out = stderr)
      : label_(std::move(label)), total_(total), out_(out), tty_(isatty(fileno(out)) != 0),
        start_(std::chrono::steady_clock::now()), last_(start_) {}

  /// `done` of `total` images seen; loss and accuracy are running means.
  void update(std::int64_t done, double loss, double acc) {
    done_ = done;
    loss_ = loss;
    acc_ = acc;
    const auto now = std::chrono::steady_clock::now();
    if (tty_ && (now - last_ > std::chrono::milliseconds(200) || done == total_)) {
      last_ = now;
      std::fprintf(out_, "\r%s\033[K", line().c_str());
      std::fflush(out_);
    }
  }

  /// Ends the line (a terminal keeps the bar; a log gets the final one).
  void finish(const std::string& suffix = "") {
    std::fprintf(out_, "%s%s%s\n", tty_ ? "\r" : "", line().c_str(), suffix.c_str());
    std::fflush(out_);
  }

  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::string line() const {
    constexpr int width = 24;
    const double frac = total_ > 0 ? static_cast<double>(done_) / static_cast<double>(total_) : 1.0;
    std::string bar(static_cast<std::size_t>(width), '.');
    for (int i = 0; i < static_cast<int>(frac * width); ++i) bar[static_cast<std::size_t>(i)] = '=';
    const double secs = seconds();
    const double rate = secs > 0 ? static_cast<double>(done_) / secs : 0.0;
    const double eta = rate > 0 ? static_cast<double>(total_ - done_) / rate : 0.0;
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s [%s] %lld/%lld  %.0f img/s  %s %d:%02d  loss %.4f  acc %.4f", label_.c_str(),
                  bar.c_str(), static_cast<long long>(done_), static_cast<long long>(total_), rate,
                  done_ < total_ ? "ETA" : "took", static_cast<int>((done_ < total_ ? eta : secs) / 60),
                  static_cast<int>(done_ < total_ ? eta : secs) % 60, loss_, acc_);
    return buf;
  }

  std::string label_;
  std::int64_t total_, done_ = 0;
  double loss_ = 0, acc_ = 0;
  std::FILE* out_;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_;
};

/// One row of the per-epoch log.
struct EpochRecord {
  int epoch = 0;
  double train_loss = 0, train_acc = 0, val_loss = -1, val_acc = -1, val_bleu4 = -1, lr = 0, seconds = 0;
};

/// Appends `r` to the CSV at `path`, writing the header first when the file is new or `fresh`.
inline void append_epoch_csv(const std::filesystem::path& path, const EpochRecord& r, bool fresh) {
  const bool header = fresh || !std::filesystem::exists(path);
  std::ofstream out(path, header ? std::ios::trunc : std::ios::app);
  FREQCAP_CHECK(out.good(), path.string(), ": cannot write the training log");
  if (header) out << "epoch,train_loss,train_acc,val_loss,val_acc,val_bleu4,lr,seconds\n";
  char buf[256];
  std::snprintf(buf, sizeof buf, "%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.6g,%.1f\n", r.epoch, r.train_loss, r.train_acc,
                r.val_loss, r.val_acc, r.val_bleu4, r.lr, r.seconds);
  out << buf;
  FREQCAP_CHECK(out.good(), path.string(), ": write failed");
}

}  // namespace freqcap::model
