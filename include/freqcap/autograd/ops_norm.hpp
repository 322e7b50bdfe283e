// Differentiable normalisation layers with PyTorch's semantics: layer_norm
// over the last axis (optional elementwise weight and bias) and batch_norm
// over [N, C] or [N, C, H, W] (batch statistics and a running-average update
// in training, running statistics in eval). Both use the biased variance to
// normalise, as PyTorch does. layer_norm runs on kernels/layer_norm.hpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "freqcap/autograd/var.hpp"
#include "freqcap/kernels/layer_norm.hpp"
#include "freqcap/kernels/partial_sums.hpp"

namespace freqcap {

namespace detail {

// [N, C] or [N, C, H, W] -> (N, C, S = H*W or 1).
inline void bn_dims(const Shape& s, std::int64_t& N, std::int64_t& C, std::int64_t& S) {
  FREQCAP_CHECK(s.size() == 2 || s.size() == 4, "batch_norm: input ", shape_str(s),
                " must be [N, C] or [N, C, H, W]");
  N = s[0];
  C = s[1];
  S = s.size() == 4 ? s[2] * s[3] : 1;
}

/// Visits the values of channel c of an [N, C, S] array, k = (n * C + c) * S + i
/// in order, calling add(j, k) with j cycling over eight partial sums, so a
/// channel sum is eight dependency chains instead of one.
template <class Add>
void for_channel_partials(std::int64_t N, std::int64_t C, std::int64_t S, std::int64_t c, Add&& add) {
  if (S >= 8) {
    for (std::int64_t n = 0; n < N; ++n) {
      const std::int64_t base = (n * C + c) * S;
      std::int64_t i = 0;
      for (; i + 8 <= S; i += 8)
        for (int j = 0; j < 8; ++j) add(j, base + i + j);
      for (; i < S; ++i) add(0, base + i);
    }
    return;
  }
  int j = 0;
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t i = 0; i < S; ++i, j = (j + 1) & 7) add(j, (n * C + c) * S + i);
}

/// 1 / sqrt(running_var + eps): BatchNorm's eval scale before gamma, the one
/// rounding batch_norm and the folded convolutions (backbones/conv_norm_act.hpp) share.
template <class T> T eval_rstd(T running_var, T eps) { return T(1) / std::sqrt(running_var + eps); }

}  // namespace detail

/// Layer norm over the last axis: x [..., D], weight [D] or undefined (1),
/// bias [D] or undefined (0) -> [..., D].
template <class T>
Var<T> layer_norm(const Var<T>& x, const Var<T>& weight = Var<T>(), const Var<T>& bias = Var<T>(),
                  T eps = T(1e-5)) {
  FREQCAP_CHECK(x.ndim() >= 1, "layer_norm: input must have at least one dimension");
  const std::int64_t D = x.dim(-1), rows = D == 0 ? 0 : x.value().numel() / D;
  for (const Var<T>* p : {&weight, &bias})
    if (p->defined())
      FREQCAP_CHECK(p->shape() == Shape{D}, "layer_norm: weight/bias ", shape_str(p->shape()),
                    " does not match the last axis of input ", shape_str(x.shape()));
  const Tensor<T> xc = x.value().contiguous();
  const Tensor<T> wc = weight.defined() ? weight.value().contiguous() : Tensor<T>();
  const Tensor<T> bc = bias.defined() ? bias.value().contiguous() : Tensor<T>();
  Tensor<T> y(x.shape()), mean(Shape{rows}), rstd(Shape{rows});
  kernels::layer_norm(xc.data(), weight.defined() ? wc.data() : nullptr, bias.defined() ? bc.data() : nullptr, y.data(),
                      mean.data(), rstd.data(), std::size_t(rows), std::size_t(D), eps);
  return Var<T>::make(std::move(y), {x, weight, bias}, "layer_norm",
                      [x, weight, bias, xc, wc, mean, rstd, rows, D](const Tensor<T>& g) {
                        const Tensor<T> gc = g.contiguous();
                        const bool nx = x.requires_grad();
                        const bool nw = weight.defined() && weight.requires_grad();
                        const bool nb = bias.defined() && bias.requires_grad();
                        Tensor<T> dx(x.shape()), dw(Shape{nw ? D : 0}), db(Shape{nb ? D : 0});
                        kernels::layer_norm_backward(gc.data(), xc.data(), weight.defined() ? wc.data() : nullptr,
                                                     mean.data(), rstd.data(), dx.data(), nw ? dw.data() : nullptr,
                                                     nb ? db.data() : nullptr, std::size_t(rows), std::size_t(D));
                        if (nx) x.accumulate(dx);
                        if (nw) weight.accumulate(dw);
                        if (nb) bias.accumulate(db);
                      });
}

/// Batch norm: x [N, C] or [N, C, H, W]; weight, bias [C] or undefined;
/// running_mean, running_var [C]. Training normalises with the batch mean and
/// biased variance and updates running = (1 - momentum) * running + momentum *
/// batch (unbiased variance) in place; running stats of shape [0] (a default
/// Tensor) are not tracked. Eval normalises with the running statistics.
template <class T>
Var<T> batch_norm(const Var<T>& x, const Var<T>& weight, const Var<T>& bias, Tensor<T>& running_mean,
                  Tensor<T>& running_var, bool training, T momentum = T(0.1), T eps = T(1e-5)) {
  std::int64_t N, C, S;
  detail::bn_dims(x.shape(), N, C, S);
  const bool track = running_mean.numel() != 0 || running_var.numel() != 0;
  for (const Var<T>* p : {&weight, &bias})
    if (p->defined())
      FREQCAP_CHECK(p->shape() == Shape{C}, "batch_norm: weight/bias ", shape_str(p->shape()), " for ", C,
                    " channels of input ", shape_str(x.shape()));
  if (track || !training)
    FREQCAP_CHECK(running_mean.shape() == Shape{C} && running_var.shape() == Shape{C} &&
                      running_mean.is_contiguous() && running_var.is_contiguous(),
                  "batch_norm: running_mean ", shape_str(running_mean.shape()), " and running_var ",
                  shape_str(running_var.shape()), " must be contiguous [", C, "] for input ", shape_str(x.shape()));
  const std::int64_t M = N * S;
  if (training) FREQCAP_CHECK(M > 1, "batch_norm: training needs more than one value per channel, input ",
                              shape_str(x.shape()));
  const Tensor<T> xc = x.value().contiguous();
  const T* px = xc.data();
  Tensor<T> mean(Shape{C}), rstd(Shape{C});
  T *pm = mean.data(), *pr = rstd.data();
#pragma omp parallel for schedule(static) if (N * C * S >= (std::int64_t{1} << 15))
  for (std::int64_t c = 0; c < C; ++c) {
    if (!training) {
      pm[c] = running_mean.data()[c];
      pr[c] = detail::eval_rstd(running_var.data()[c], eps);
      continue;
    }
    // Statistics accumulate in double: a channel may hold 10^5+ values.
    double ps[8] = {}, pv[8] = {};
    detail::for_channel_partials(N, C, S, c, [&](int j, std::int64_t k) { ps[j] += double(px[k]); });
    const double mu = kernels::combine8(ps) / double(M);
    detail::for_channel_partials(N, C, S, c, [&](int j, std::int64_t k) {
      const double d = double(px[k]) - mu;
      pv[j] += d * d;
    });
    const double v = kernels::combine8(pv);
    pm[c] = T(mu);
    pr[c] = T(1.0 / std::sqrt(v / double(M) + double(eps)));
    if (track) {
      running_mean.data()[c] = (T(1) - momentum) * running_mean.data()[c] + momentum * T(mu);
      running_var.data()[c] = (T(1) - momentum) * running_var.data()[c] + momentum * T(v / double(M - 1));
    }
  }
  // y = xhat * w + b, folded into one scale and shift per channel.
  const Tensor<T> wc = weight.defined() ? weight.value().contiguous() : Tensor<T>(Shape{C}, T(1));
  const Tensor<T> bc = bias.defined() ? bias.value().contiguous() : Tensor<T>(Shape{C}, T(0));
  auto y = Tensor<T>::empty(x.shape());  // every element written below
  T* py = y.data();
#pragma omp parallel for schedule(static) if (N * C * S >= (std::int64_t{1} << 15))
  for (std::int64_t nc = 0; nc < N * C; ++nc) {
    const std::int64_t c = nc % C;
    const T a = pr[c] * wc.data()[c], b = bc.data()[c] - pm[c] * a;
    for (std::int64_t i = 0; i < S; ++i) py[nc * S + i] = px[nc * S + i] * a + b;
  }
  return Var<T>::make(std::move(y), {x, weight, bias}, "batch_norm",
                      [x, weight, bias, xc, wc, mean, rstd, training, N, C, S](const Tensor<T>& g) {
                        const Tensor<T> gc = g.contiguous();
                        const T *pg = gc.data(), *px = xc.data(), *pm = mean.data(), *pr = rstd.data();
                        const T* pw = wc.data();
                        // Per channel: sum(g) and sum(g * xhat).
                        Tensor<T> sg(Shape{C}), sgh(Shape{C});
#pragma omp parallel for schedule(static) if (N * C * S >= (std::int64_t{1} << 15))
                        for (std::int64_t c = 0; c < C; ++c) {
                          double pa[8] = {}, pb[8] = {};
                          detail::for_channel_partials(N, C, S, c, [&](int j, std::int64_t k) {
                            pa[j] += double(pg[k]);
                            pb[j] += double(pg[k] * (px[k] - pm[c]));
                          });
                          sg.data()[c] = T(kernels::combine8(pa));
                          sgh.data()[c] = T(kernels::combine8(pb)) * pr[c];
                        }
                        if (weight.defined() && weight.requires_grad()) weight.accumulate(sgh);
                        if (bias.defined() && bias.requires_grad()) bias.accumulate(sg);
                        if (!x.requires_grad()) return;
                        auto dx = Tensor<T>::empty(x.shape());  // every element written below
                        T* pd = dx.data();
                        const T inv_m = T(1) / T(N * S);
#pragma omp parallel for schedule(static) if (N * C * S >= (std::int64_t{1} << 15))
                        for (std::int64_t nc = 0; nc < N * C; ++nc) {
                          const std::int64_t c = nc % C;
                          const T k = pw[c] * pr[c];
                          const T mg = sg.data()[c] * inv_m, mgh = sgh.data()[c] * inv_m;
                          for (std::int64_t i = 0; i < S; ++i) {
                            const std::int64_t e = nc * S + i;
                            // ref: dx = w * rstd * (g - mean(g) - xhat * mean(g * xhat)) in training;
                            // eval statistics are constants, so dx = w * rstd * g.
                            pd[e] = training ? k * (pg[e] - mg - (px[e] - pm[c]) * pr[c] * mgh) : k * pg[e];
                          }
                        }
                        x.accumulate(dx);
                      });
}

}  // namespace freqcap
