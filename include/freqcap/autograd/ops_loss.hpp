// Classification losses over logits, numerically stable through a row-wise
// log-softmax: cross_entropy (PyTorch's, with ignore_index and
// label_smoothing, mean over the targets kept; or against class
// probabilities), distillation_loss (hard labels + a teacher's softened
// probabilities), masked_cross_entropy (the
// captioning loss: masked token losses summed and divided by the number of
// masked-in tokens) and masked_accuracy (a plain value, no graph).
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "freqcap/autograd/ops_reduce.hpp"
#include "freqcap/autograd/var.hpp"

namespace freqcap {

namespace detail {

/// Row-wise weighted cross-entropy over contiguous logits [R, V]: returns
/// sum_r w_r * loss_r / sum_r w_r and writes the gradient of that value with
/// respect to the logits into `grad` (when not null). loss_r = (1 - s) *
/// (-logp[t_r]) + s * mean_v(-logp[v]) for label smoothing s. Rows with w_r = 0
/// are not read beyond their weight.
template <class T>
T weighted_cross_entropy(const char* op, const T* logits, const std::int64_t* targets, const std::vector<T>& w,
                         std::int64_t R, std::int64_t V, T smoothing, T* grad) {
  T wsum = 0;
  for (std::int64_t r = 0; r < R; ++r) {
    if (w[r] == T(0)) continue;
    wsum += w[r];
    FREQCAP_CHECK(targets[r] >= 0 && targets[r] < V, op, ": target index ", targets[r], " at position ", r,
                  " is out of range for ", V, " classes");
  }
  FREQCAP_CHECK(wsum > T(0), op, ": no target tokens (every target is masked out or ignored)");
  const T inv = T(1) / wsum;
  double total = 0;
#pragma omp parallel for schedule(static) reduction(+ : total) if (R * V >= (std::int64_t{1} << 15))
  for (std::int64_t r = 0; r < R; ++r) {
    T* gr = grad ? grad + r * V : nullptr;
    if (w[r] == T(0)) {
      if (gr) std::fill(gr, gr + V, T(0));
      continue;
    }
    const T* x = logits + r * V;
    T m = x[0];
    for (std::int64_t v = 1; v < V; ++v) m = std::max(m, x[v]);
    T s = 0, sum_x = 0;
    for (std::int64_t v = 0; v < V; ++v) {
      s += std::exp(x[v] - m);
      sum_x += x[v];
    }
    const T lse = m + std::log(s);
    // -logp[t] = lse - x[t]; mean_v(-logp[v]) = lse - mean(x).
    const T loss = (T(1) - smoothing) * (lse - x[targets[r]]) + smoothing * (lse - sum_x / T(V));
    total += static_cast<double>(w[r] * loss);
    if (gr) {
      // d loss / d x[v] = softmax[v] - (1 - s) * [v == t] - s / V.
      const T k = w[r] * inv;
      for (std::int64_t v = 0; v < V; ++v) gr[v] = k * (std::exp(x[v] - lse) - smoothing / T(V));
      gr[targets[r]] -= k * (T(1) - smoothing);
    }
  }
  return static_cast<T>(total) * inv;
}

template <class T>
Var<T> cross_entropy_node(const char* op, const Var<T>& logits, const Tensor<std::int64_t>& targets,
                          std::vector<T> w, std::int64_t R, std::int64_t V, T smoothing) {
  const Tensor<T> xc = logits.value().contiguous();
  const Tensor<std::int64_t> tc = targets.contiguous();
  const bool need = grad_mode_enabled() && logits.requires_grad();
  Tensor<T> grad(need ? logits.shape() : Shape{0});
  const T loss = weighted_cross_entropy(op, xc.data(), tc.data(), w, R, V, smoothing, need ? grad.data() : nullptr);
  return Var<T>::make(Tensor<T>::scalar(loss), {logits}, op, [logits, grad](const Tensor<T>& g) {
    logits.accumulate(grad * g.item());
  });
}

}  // namespace detail

/// Mean cross-entropy: logits [N, C], targets [N] class indices -> scalar.
/// Targets equal to ignore_index are skipped (and not counted in the mean);
/// label_smoothing mixes the one-hot target with the uniform distribution.
template <class T>
Var<T> cross_entropy(const Var<T>& logits, const Tensor<std::int64_t>& targets, std::int64_t ignore_index = -100,
                     T label_smoothing = T(0)) {
  FREQCAP_CHECK(logits.ndim() == 2 && targets.shape() == Shape{logits.dim(0)}, "cross_entropy: logits ",
                shape_str(logits.shape()), " must be [N, C] with targets [N], got targets ",
                shape_str(targets.shape()));
  FREQCAP_CHECK(label_smoothing >= T(0) && label_smoothing <= T(1), "cross_entropy: label_smoothing ",
                label_smoothing, " must lie in [0, 1]");
  const std::int64_t N = logits.dim(0), C = logits.dim(1);
  const std::vector<std::int64_t> t = targets.to_vector();
  std::vector<T> w(static_cast<std::size_t>(N));
  for (std::int64_t i = 0; i < N; ++i) w[i] = t[i] == ignore_index ? T(0) : T(1);
  return detail::cross_entropy_node("cross_entropy", logits, targets, std::move(w), N, C, label_smoothing);
}

/// Mean cross-entropy against class probabilities, as PyTorch's
/// F.cross_entropy(logits, probs): logits [N, C], probs [N, C] ->
/// mean_r sum_c -probs[r, c] * log_softmax(logits)[r, c]. Rows of probs need not
/// sum to 1; the gradient is (softmax * rowsum(probs) - probs) / N.
template <class T>
Var<T> cross_entropy(const Var<T>& logits, const Tensor<T>& probs) {
  FREQCAP_CHECK(logits.ndim() == 2 && probs.shape() == logits.shape() && logits.dim(0) > 0, "cross_entropy: logits ",
                shape_str(logits.shape()), " and target probabilities ", shape_str(probs.shape()),
                " must both be [N, C] with N > 0");
  const Tensor<T> logp = log_softmax(logits.value(), 1);
  const T inv_n = T(1) / static_cast<T>(logits.dim(0));
  const T loss = -sum(probs * logp).item() * inv_n;
  return Var<T>::make(Tensor<T>::scalar(loss), {logits}, "cross_entropy", [logits, logp, probs, inv_n](const Tensor<T>& g) {
    const Tensor<T> p = map(logp, [](T v) { return std::exp(v); });
    logits.accumulate((p * sum(probs, {1}, true) - probs) * (g.item() * inv_n));
  });
}

/// Knowledge distillation (Hinton et al., 2015): (1 - weight) * CE(logits, labels)
/// + weight * T^2 * CE(logits / T, softmax(teacher_logits / T)), label
/// smoothing on the hard term only. The T^2 keeps the soft term's gradient on
/// the scale of the hard one as T grows.
template <class T>
Var<T> distillation_loss(const Var<T>& logits, const Tensor<T>& teacher_logits, const Tensor<std::int64_t>& labels,
                         T temperature, T weight, T label_smoothing = T(0)) {
  FREQCAP_CHECK(temperature > T(0) && weight >= T(0) && weight <= T(1), "distillation_loss: need temperature > 0 ",
                "and 0 <= weight <= 1 (got ", temperature, ", ", weight, ")");
  const T inv_t = T(1) / temperature;
  const Tensor<T> soft = softmax(teacher_logits * inv_t, 1);
  const auto hard = cross_entropy(logits, labels, -100, label_smoothing);
  return affine(hard, T(1) - weight) +
         affine(cross_entropy(affine(logits, inv_t), soft), weight * temperature * temperature);
}

/// Masked token cross-entropy: logits [N, T, V], targets [N, T], mask [N, T]
/// (1 = token counts, 0 = padding; any element type) -> sum(mask * loss) / sum(mask).
/// Targets under a zero mask are not read. Throws when the mask selects no token.
template <class T, class M>
Var<T> masked_cross_entropy(const Var<T>& logits, const Tensor<std::int64_t>& targets, const Tensor<M>& mask) {
  FREQCAP_CHECK(logits.ndim() == 3 && (targets.shape() == Shape{logits.dim(0), logits.dim(1)}) &&
                    mask.shape() == targets.shape(),
                "masked_cross_entropy: logits ", shape_str(logits.shape()), ", targets ", shape_str(targets.shape()),
                " and mask ", shape_str(mask.shape()), " must be [N, T, V], [N, T], [N, T]");
  const std::int64_t R = logits.dim(0) * logits.dim(1), V = logits.dim(2);
  const std::vector<M> m = mask.to_vector();
  std::vector<T> w(static_cast<std::size_t>(R));
  for (std::int64_t i = 0; i < R; ++i) w[i] = static_cast<T>(m[i]);
  return detail::cross_entropy_node("masked_cross_entropy", logits, targets, std::move(w), R, V, T(0));
}

/// Fraction of masked-in tokens whose argmax logit equals the target:
/// logits [N, T, V], targets [N, T], mask [N, T] (non-zero = counted).
template <class T, class M>
double masked_accuracy(const Tensor<T>& logits, const Tensor<std::int64_t>& targets, const Tensor<M>& mask) {
  FREQCAP_CHECK(logits.ndim() == 3 && (targets.shape() == Shape{logits.dim(0), logits.dim(1)}) &&
                    mask.shape() == targets.shape(),
                "masked_accuracy: logits ", shape_str(logits.shape()), ", targets ", shape_str(targets.shape()),
                " and mask ", shape_str(mask.shape()), " must be [N, T, V], [N, T], [N, T]");
  const Tensor<T> xc = logits.contiguous();
  const std::vector<std::int64_t> t = targets.to_vector();
  const std::vector<M> m = mask.to_vector();
  const std::int64_t R = logits.dim(0) * logits.dim(1), V = logits.dim(2);
  std::int64_t counted = 0, correct = 0;
  for (std::int64_t r = 0; r < R; ++r) {
    if (m[r] == M(0)) continue;
    ++counted;
    const T* x = xc.data() + r * V;
    const std::int64_t best = std::max_element(x, x + V) - x;  // first maximum on ties
    correct += best == t[r];
  }
  FREQCAP_CHECK(counted > 0, "masked_accuracy: no target tokens (the mask is all zero)");
  return static_cast<double>(correct) / static_cast<double>(counted);
}

template <class T, class M>
double masked_accuracy(const Var<T>& logits, const Tensor<std::int64_t>& targets, const Tensor<M>& mask) {
  return masked_accuracy(logits.value(), targets, mask);
}

}  // namespace freqcap
