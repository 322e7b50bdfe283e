// The decoder's incremental-decoding state: per decoder block, the
// self-attention keys/values of the tokens fed so far (filled up to `length`)
// and the cross-attention keys/values of the encoder output (computed once).
// Keys are stored transposed ([rows, H, Dk, T]) so a query's scores are
// axpys over contiguous rows; values stay [rows, H, T, Dk]. reorder() gathers rows (beam
// search keeps, drops and duplicates hypotheses) in every cache at once.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "freqcap/core/tensor.hpp"
#include "freqcap/kernels/elementwise.hpp"
#include "freqcap/kernels/softmax.hpp"

namespace freqcap::transformer {

struct LayerKV {
  Tensor<float> self_k;   ///< keys^T [rows, H, Dk, capacity]
  Tensor<float> self_v;   ///< [rows, H, capacity, Dk]
  Tensor<float> cross_k;  ///< keys^T [rows, H, Dk, S]
  Tensor<float> cross_v;  ///< [rows, H, S, Dk]
};

struct DecoderState {
  std::int64_t length = 0;  ///< tokens fed so far (the next token's position)
  std::int64_t rows = 0;    ///< hypotheses decoded side by side
  std::vector<LayerKV> layers;
};

namespace detail {
/// Rows `rows` (may repeat) of a contiguous [N, ...] tensor -> [rows.size(), ...].
inline Tensor<float> gather_rows(const Tensor<float>& t, const std::vector<std::int64_t>& rows) {
  FREQCAP_CHECK(t.is_contiguous() && t.ndim() >= 1, "gather_rows: expects a contiguous tensor");
  const std::int64_t n = t.dim(0), inner = n == 0 ? 0 : t.numel() / n;
  Shape s = t.shape();
  s[0] = static_cast<std::int64_t>(rows.size());
  Tensor<float> out = Tensor<float>::empty(s);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    FREQCAP_CHECK(rows[i] >= 0 && rows[i] < n, "TransformerDecoder::reorder: row ", rows[i], " out of range for ", n,
                  " rows");
    std::copy(t.data() + rows[i] * inner, t.data() + (rows[i] + 1) * inner,
              out.data() + static_cast<std::int64_t>(i) * inner);
  }
  return out;
}

/// One query per row against the first n cached keys/values: q [R, H*Dk]
/// (contiguous), keys kt [R, H, Dk, capacity] (stored transposed), values
/// v [R, H, capacity, Dk], both contiguous -> [R, H*Dk], the heads'
/// softmax(q k^T / sqrt(Dk)) v side by side. Built on kernels::axpy over
/// contiguous rows: at one query per head a GEMM call costs more than it computes.
inline Tensor<float> attend_cached(const Tensor<float>& q, const Tensor<float>& kt, const Tensor<float>& v,
                                   std::int64_t n) {
  FREQCAP_CHECK(kt.ndim() == 4 && v.ndim() == 4 && kt.dim(0) == v.dim(0) && kt.dim(1) == v.dim(1) &&
                    kt.dim(2) == v.dim(3) && kt.dim(3) == v.dim(2) && kt.is_contiguous() && v.is_contiguous() &&
                    q.is_contiguous() && (q.shape() == Shape{kt.dim(0), kt.dim(1) * kt.dim(2)}) && n >= 1 &&
                    n <= kt.dim(3),
                "attend_cached: query ", shape_str(q.shape()), ", keys^T ", shape_str(kt.shape()), ", values ",
                shape_str(v.shape()), ", length ", n);
  const std::int64_t R = kt.dim(0), H = kt.dim(1), Dk = kt.dim(2), cap = kt.dim(3);
  const float scale = 1.0f / std::sqrt(float(Dk));
  Tensor<float> out(q.shape());
  const float *pq = q.data(), *pk = kt.data(), *pv = v.data();
  float* po = out.data();
#pragma omp parallel for schedule(static) if (R * H * n * Dk >= (std::int64_t{1} << 16))
  for (std::int64_t rh = 0; rh < R * H; ++rh) {
    std::vector<float> s(static_cast<std::size_t>(n), 0.0f);
    const float* qr = pq + rh * Dk;  // row r, head h of [R, H*Dk]
    const float *kr = pk + rh * Dk * cap, *vr = pv + rh * cap * Dk;
    for (std::int64_t c = 0; c < Dk; ++c) kernels::axpy<float>(qr[c] * scale, kr + c * cap, s.data(), std::size_t(n));
    kernels::softmax(s.data(), s.data(), 1, std::size_t(n));
    for (std::int64_t j = 0; j < n; ++j) kernels::axpy<float>(s[j], vr + j * Dk, po + rh * Dk, std::size_t(Dk));
  }
  return out;
}
}  // namespace detail

/// Keeps/duplicates rows of every cache: new row i = old row rows[i].
inline void reorder(DecoderState& st, const std::vector<std::int64_t>& rows) {
  for (std::int64_t r : rows)  // checked before any cache moves
    FREQCAP_CHECK(r >= 0 && r < st.rows, "TransformerDecoder::reorder: row ", r, " out of range for ", st.rows, " rows");
  for (auto& l : st.layers)
    for (Tensor<float>* t : {&l.self_k, &l.self_v, &l.cross_k, &l.cross_v}) *t = detail::gather_rows(*t, rows);
  st.rows = static_cast<std::int64_t>(rows.size());
}

}  // namespace freqcap::transformer
