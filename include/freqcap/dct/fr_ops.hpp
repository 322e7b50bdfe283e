// Differentiable Frequency Regularization ops (float or double):
//  - fr_weight(C, mask): W = IDCT(C * M) over all axes, by FFTW over the whole
//    tensor or by the box-restricted separable path; backward
//    dC = M * DCT(dW) (the adjoint of an orthonormal IDCT is the DCT), so
//    masked coefficients get exactly zero gradient.
//  - fr_masked_box(C, mask): (C * M) restricted to the mask's box.
//  - fr_linear_factored(x, C, mask, bias): y = ((x B^T) Cbox^T) A + bias with
//    A, B the first rows of the DCT bases: an FR linear layer that never forms
//    its dense [out, in] weight.
//  - fr_linear_spectral(x, C, mask, bias): the same product with x B^T and
//    (.) A as fast row transforms: y = IDCT_out(pad(DCT_in(x)[:b1] Cbox^T)) +
//    bias, whose only GEMM is the box product.
#pragma once

#include <algorithm>
#include <memory>

#include "freqcap/autograd/ops_elementwise.hpp"
#include "freqcap/autograd/ops_linalg.hpp"
#include "freqcap/dct/dct.hpp"
#include "freqcap/dct/separable.hpp"
#include "freqcap/dct/zigzag.hpp"

namespace freqcap::dct {

/// How an FR layer reconstructs its weight. automatic picks the cheaper of
/// fftw and box (and, for FRLinear, the factored or spectral product when it
/// beats a dense weight); the others force one path (tests, benchmarks).
enum class FRPath : std::uint8_t { automatic, fftw, box, factored, spectral };

/// fftw or box for a mask, resolving automatic by estimated cost.
inline FRPath resolve_reconstruction_path(FRPath p, const ZigzagMask& mask) {
  if (p == FRPath::fftw || p == FRPath::box) return p;
  return box_cost(mask.box(), mask.shape()) < fftw_cost(mask.shape()) ? FRPath::box : FRPath::fftw;
}

/// IDCT(C * M) over all axes, no graph.
template <class T>
Tensor<T> fr_reconstruct(const Tensor<T>& c, const ZigzagMask& mask, FRPath path, BasisCache<T>& bases) {
  if (resolve_reconstruction_path(path, mask) == FRPath::box) return box_idct(mask.masked_box(c), mask.shape(), bases);
  Tensor<T> w = mask.apply(c);  // a fresh contiguous copy
  idct_(w);
  return w;
}

/// W = IDCT(C * M) over all axes of C; `value`, when given, is that result
/// already computed (an eval-mode cache) and is used as is.
template <class T>
Var<T> fr_weight(const Var<T>& c, const ZigzagMask& mask, FRPath path = FRPath::automatic,
                 std::shared_ptr<BasisCache<T>> bases = nullptr, const Tensor<T>* value = nullptr) {
  FREQCAP_CHECK(c.shape() == mask.shape(), "fr_weight: coefficients ", shape_str(c.shape()), " for a mask of ",
                shape_str(mask.shape()));
  if (!bases) bases = std::make_shared<BasisCache<T>>();
  const FRPath p = resolve_reconstruction_path(path, mask);
  Tensor<T> w = value ? *value : fr_reconstruct(c.value(), mask, p, *bases);
  return Var<T>::make(std::move(w), {c}, "fr_weight", [c, mask, p, bases](const Tensor<T>& g) {
    if (p == FRPath::box) c.accumulate(mask.scatter_box(box_dct(g, mask.box(), *bases)));
    else {
      Tensor<T> gc = dct(g);
      c.accumulate(mask.full() ? gc : mask.apply(gc));
    }
  });
}

/// (C * M) restricted to mask.box(): [box]; backward scatters the kept entries.
template <class T>
Var<T> fr_masked_box(const Var<T>& c, const ZigzagMask& mask, const Tensor<T>* value = nullptr) {
  Tensor<T> v = value ? *value : mask.masked_box(c.value());
  return Var<T>::make(std::move(v), {c}, "fr_masked_box",
                      [c, mask](const Tensor<T>& g) { c.accumulate(mask.scatter_box(g)); });
}

namespace detail {

/// Orthonormal DCT-II over the last axis of x [..., n], first `keep` frequencies: [..., keep].
template <class T>
Tensor<T> dct_last_keep(const Tensor<T>& x, std::int64_t keep) {
  Tensor<T> t = dct(x, {-1});
  return keep == t.dim(-1) ? t : t.slice(t.ndim() - 1, 0, keep).contiguous();
}

/// x [..., k] zero-padded to [..., n], then the orthonormal DCT-III over the last axis.
template <class T>
Tensor<T> idct_last_padded(const Tensor<T>& x_in, std::int64_t n) {
  const Tensor<T> x = x_in.contiguous();
  const std::int64_t k = x.dim(-1), rows = k > 0 ? x.numel() / k : 0;
  Shape s = x.shape();
  s.back() = n;
  Tensor<T> y(s);
  for (std::int64_t r = 0; r < rows; ++r) std::copy_n(x.data() + r * k, k, y.data() + r * n);
  transform_inplace(y, {-1}, Kind::dct3);
  return y;
}

}  // namespace detail

/// DCT-II over the last axis (n points), truncated to the first `keep`
/// frequencies: [..., n] -> [..., keep]. Its adjoint is idct_last_padded.
template <class T>
Var<T> dct_last_keep(const Var<T>& x, std::int64_t keep) {
  const std::int64_t n = x.dim(-1);
  FREQCAP_CHECK(keep >= 1 && keep <= n, "dct_last_keep: ", keep, " of ", n, " frequencies");
  return Var<T>::make(detail::dct_last_keep(x.value(), keep), {x}, "dct_last_keep",
                      [x, n](const Tensor<T>& g) { x.accumulate(detail::idct_last_padded(g, n)); });
}

/// The last axis (k values) zero-padded to n, then DCT-III: [..., k] -> [..., n].
/// Its adjoint is dct_last_keep.
template <class T>
Var<T> idct_last_padded(const Var<T>& x, std::int64_t n) {
  const std::int64_t k = x.dim(-1);
  FREQCAP_CHECK(k >= 1 && k <= n, "idct_last_padded: ", k, " frequencies padded to ", n);
  return Var<T>::make(detail::idct_last_padded(x.value(), n), {x}, "idct_last_padded",
                      [x, k](const Tensor<T>& g) { x.accumulate(detail::dct_last_keep(g, k)); });
}

/// Multiply-adds per input row of the factored FR linear product.
inline double factored_linear_cost(const ZigzagMask& mask) {
  const Shape& f = mask.shape();
  const Shape& b = mask.box();
  return double(f[1]) * double(b[1]) + double(b[1]) * double(b[0]) + double(b[0]) * double(f[0]);
}

/// The whole-tensor DCT (dct/fftw_rows.hpp), per fftw_cost unit, against one
/// GEMM multiply-add: about 3x slower on AVX-512 (AlexNet's 4096 x 9216
/// classifier coefficients, one thread; it was 6x with FFTW's r2r codelets
/// and transposes). Only steers path choices.
inline constexpr double fftw_cost_weight = 3.0;

/// Estimated GEMM-equivalent multiply-adds of reconstructing W once (or of
/// its adjoint) by the path resolve_reconstruction_path picks.
inline double reconstruction_cost(const ZigzagMask& mask) {
  if (resolve_reconstruction_path(FRPath::automatic, mask) == FRPath::box) return box_cost(mask.box(), mask.shape());
  return fftw_cost_weight * fftw_cost(mask.shape());
}

/// GEMM-equivalent multiply-adds of the spectral FR linear product per input
/// row and GEMM pass: the box product plus the row transforms of the input
/// (in points) and the output (out points), two per pass in eval and four
/// over a training step's three passes.
inline double spectral_linear_cost(const ZigzagMask& mask, bool training) {
  const Shape& f = mask.shape();
  const Shape& b = mask.box();
  const double rows = fftw_cost_weight * (fftw_cost(Shape{f[0]}) + fftw_cost(Shape{f[1]}));
  return double(b[0]) * double(b[1]) + (training ? 2.0 / 3.0 : 1.0) * rows;
}

/// How an FR linear layer multiplies: through the dense weight W, or one of
/// the two products that never form it.
enum class LinearProduct : std::uint8_t { weight, factored, spectral };

/// The cheapest product for `rows` input rows. In eval the dense weight is
/// cached, so only the per-row products compare; a training step also
/// reconstructs W and applies the adjoint to dW, which the others never do.
inline LinearProduct cheapest_linear_product(const ZigzagMask& mask, double rows, bool training) {
  const Shape& f = mask.shape();
  double weight = double(f[0]) * double(f[1]);
  if (training) weight += 2.0 * reconstruction_cost(mask) / std::max(rows, 1.0) / 3.0;  // 3: forward + 2 backward GEMMs
  const double factored = factored_linear_cost(mask), spectral = spectral_linear_cost(mask, training);
  if (weight <= factored && weight <= spectral) return LinearProduct::weight;
  return factored < spectral ? LinearProduct::factored : LinearProduct::spectral;
}

/// Shapes of the box products: x [..., in], C and the mask [out, in].
template <class T>
void check_fr_linear_args(const char* op, const Var<T>& x, const Var<T>& c, const ZigzagMask& mask) {
  FREQCAP_CHECK(c.ndim() == 2 && c.shape() == mask.shape() && x.ndim() >= 1 && x.dim(-1) == c.dim(1), op,
                ": input ", shape_str(x.shape()), ", coefficients ", shape_str(c.shape()), ", mask ",
                shape_str(mask.shape()));
}

/// y = x W^T + bias with W = IDCT(C * M), C [out, in], computed as
/// ((x B^T) Cbox^T) A: B [b1, in] and A [b0, out] the first DCT basis rows.
/// x [..., in] -> [..., out]. `box_value`, when given, is mask.masked_box(C).
template <class T>
Var<T> fr_linear_factored(const Var<T>& x, const Var<T>& c, const ZigzagMask& mask, const Var<T>& bias,
                          BasisCache<T>& bases, const Tensor<T>* box_value = nullptr) {
  check_fr_linear_args("fr_linear_factored", x, c, mask);
  const Shape& box = mask.box();
  const Var<T> b(bases.rows(1, c.dim(1), box[1]));                   // [b1, in]
  const Var<T> at(bases.rows(0, c.dim(0), box[0]).transpose(0, 1));  // [out, b0] = A^T
  const Var<T> cbox = fr_masked_box(c, mask, box_value);             // [b0, b1]
  return linear(linear(linear(x, b), cbox), at, bias);
}

/// The factored product with fast transforms for the bases:
/// y = IDCT_out(pad(DCT_in(x)[..., :b1] Cbox^T)) + bias. x [..., in] -> [..., out].
/// `box_value`, when given, is mask.masked_box(C).
template <class T>
Var<T> fr_linear_spectral(const Var<T>& x, const Var<T>& c, const ZigzagMask& mask, const Var<T>& bias,
                          const Tensor<T>* box_value = nullptr) {
  check_fr_linear_args("fr_linear_spectral", x, c, mask);
  const Shape& box = mask.box();
  const Var<T> z = linear(dct_last_keep(x, box[1]), fr_masked_box(c, mask, box_value));  // [..., b0]
  const Var<T> y = idct_last_padded(z, c.dim(0));
  return bias.defined() ? add(y, bias) : y;
}

}  // namespace freqcap::dct
