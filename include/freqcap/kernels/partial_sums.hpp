// Sums kept in eight interleaved partial sums: one accumulator per add chains
// every element on the add's latency; eight let the adds overlap. combine8
// adds the eight pairwise, in a fixed order, so results do not depend on the
// caller. Used by batch_norm's channel statistics, pooling windows and the
// depthwise weight gradient's tap dot products.
#pragma once

namespace freqcap::kernels {

/// ((p0 + p1) + (p2 + p3)) + ((p4 + p5) + (p6 + p7)).
template <class T>
T combine8(const T (&p)[8]) {
  return ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
}

}  // namespace freqcap::kernels
