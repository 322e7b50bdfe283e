// BatchNorm1d ([N, C]) and BatchNorm2d ([N, C, H, W]) with PyTorch's names,
// buffers and semantics: weight [C] (1), bias [C] (0), running_mean [C] (0),
// running_var [C] (1) and the int64 num_batches_tracked [] buffer. Training
// normalises with batch statistics and updates the running ones (momentum, or
// a cumulative average when momentum is unset); eval uses the running
// statistics. The two differ only in the input rank they accept.
#pragma once

#include <cstdint>
#include <optional>

#include "freqcap/autograd/ops_norm.hpp"
#include "freqcap/nn/module.hpp"

namespace freqcap::nn {

/// `BatchNormOptions(C).eps(1e-3).momentum(0.01)`; momentum(std::nullopt)
/// gives PyTorch's cumulative moving average.
struct BatchNormOptions {
  BatchNormOptions(std::int64_t num_features) : num_features_(num_features) {}  // NOLINT
  FREQCAP_OPTION(std::int64_t, num_features);
  FREQCAP_OPTION(double, eps) = 1e-5;
  FREQCAP_OPTION(std::optional<double>, momentum) = 0.1;
  FREQCAP_OPTION(bool, affine) = true;
  FREQCAP_OPTION(bool, track_running_stats) = true;
};

using BatchNorm1dOptions = BatchNormOptions;
using BatchNorm2dOptions = BatchNormOptions;

namespace detail {

/// The module both BatchNorm1d and BatchNorm2d are: `rank` is the input rank
/// they accept (2 or 4).
class BatchNormBase : public UnaryModule {
 public:
  /// x [N, C] (rank 2) or [N, C, H, W] (rank 4), returned in the same shape.
  Var<float> forward(const Var<float>& x) override {
    FREQCAP_CHECK(x.ndim() == rank_ && x.dim(1) == options_.num_features(), type_name(), ": expected input [N, ",
                  options_.num_features(), rank_ == 4 ? ", H, W]" : "]", ", got ", shape_str(x.shape()));
    const bool track = options_.track_running_stats();
    const bool use_batch_stats = is_training() || !track;
    double factor = 0.0;
    if (is_training() && track) {
      num_batches_tracked.data()[0] += 1;
      factor = options_.momentum() ? *options_.momentum()
                                   : 1.0 / static_cast<double>(num_batches_tracked.data()[0]);
    }
    Tensor<float> untracked_mean, untracked_var;  // shape [0]: the op then tracks nothing
    Tensor<float>& rm = track ? running_mean : untracked_mean;
    Tensor<float>& rv = track ? running_var : untracked_var;
    return batch_norm(x, weight, bias, rm, rv, use_batch_stats, static_cast<float>(factor),
                      static_cast<float>(options_.eps()));
  }

  const BatchNormOptions& options() const { return options_; }

  Var<float> weight;                         ///< [C], undefined without affine
  Var<float> bias;                           ///< [C], undefined without affine
  Tensor<float> running_mean;                ///< [C]
  Tensor<float> running_var;                 ///< [C]
  Tensor<std::int64_t> num_batches_tracked;  ///< []

 protected:
  BatchNormBase(const char* name, std::size_t rank, const BatchNormOptions& options)
      : UnaryModule(name), options_(options), rank_(rank) {
    const std::int64_t C = options.num_features();
    FREQCAP_CHECK(C > 0, name, ": num_features must be positive, got ", C);
    if (options.affine()) {
      weight = register_parameter("weight", Tensor<float>(Shape{C}, 1.0f));
      bias = register_parameter("bias", Tensor<float>(Shape{C}, 0.0f));
    }
    if (options.track_running_stats()) {
      running_mean = register_buffer("running_mean", Tensor<float>(Shape{C}, 0.0f));
      running_var = register_buffer("running_var", Tensor<float>(Shape{C}, 1.0f));
      num_batches_tracked = register_buffer("num_batches_tracked", Tensor<std::int64_t>(Shape{}, 0));
    }
  }

 private:
  BatchNormOptions options_;
  std::size_t rank_;
};

}  // namespace detail

/// Batch norm over the features of [N, C] inputs (PyTorch's 3-D [N, C, L]
/// form is not supported).
class BatchNorm1d : public detail::BatchNormBase {
 public:
  explicit BatchNorm1d(const BatchNormOptions& options) : BatchNormBase("BatchNorm1d", 2, options) {}
  explicit BatchNorm1d(std::int64_t num_features) : BatchNorm1d(BatchNormOptions(num_features)) {}
};

/// Batch norm over the channels of [N, C, H, W] inputs.
class BatchNorm2d : public detail::BatchNormBase {
 public:
  explicit BatchNorm2d(const BatchNormOptions& options) : BatchNormBase("BatchNorm2d", 4, options) {}
  explicit BatchNorm2d(std::int64_t num_features) : BatchNorm2d(BatchNormOptions(num_features)) {}
};

}  // namespace freqcap::nn
