// The decoder's incremental-decoding state: per decoder block, the
// self-attention keys/values of the tokens fed so far ([rows, H, capacity, Dk],
// filled up to `length`) and the cross-attention keys/values of the encoder
// output ([rows, H, S, Dk], computed once). reorder() gathers rows (beam
// search keeps, drops and duplicates hypotheses) in every cache at once.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "freqcap/core/tensor.hpp"

namespace freqcap::transformer {

struct LayerKV {
  Tensor<float> self_k, self_v;    ///< [rows, H, capacity, Dk]
  Tensor<float> cross_k, cross_v;  ///< [rows, H, S, Dk]
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
}  // namespace detail

/// Keeps/duplicates rows of every cache: new row i = old row rows[i].
inline void reorder(DecoderState& st, const std::vector<std::int64_t>& rows) {
  for (auto& l : st.layers)
    for (Tensor<float>* t : {&l.self_k, &l.self_v, &l.cross_k, &l.cross_v}) *t = detail::gather_rows(*t, rows);
  st.rows = static_cast<std::int64_t>(rows.size());
}

}  // namespace freqcap::transformer
