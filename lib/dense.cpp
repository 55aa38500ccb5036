#include "dense.hpp"

#include <algorithm>
#include <cassert>

namespace sde::dense {

namespace {

namespace ei = Eigen::internal;

// silu(z) = z / (1 + e^-z), with the packet operations (and so the rounding)
// of the activation pass in net.cpp: s = (1 + exp(-z)).inverse(), h = z s.
inline Packet silu(const Packet& z) {
  const Packet one = ei::pset1<Packet>(1.0f);
  return ei::pmul(z, ei::pdiv(one, ei::padd(one, ei::pexp(ei::pnegate(z)))));
}

// One register tile: kPanelRows outputs (the packed panel Wp) for kTileCols
// columns starting at H and Z.
template <Epilogue kEpilogue>
inline void tile(const float* Wp, int in, const float* bias, const float* H, int ldh, float* Z,
                 int ldz, const float* skip) {
  // Every loop over the tile is unrolled so that acc lives in registers
  // (at -O2 GCC would keep it in memory and load-add-store every FMA).
  Packet acc[kTileCols][2];
#pragma GCC unroll 16
  for (auto& column : acc) column[0] = column[1] = ei::pset1<Packet>(0.0f);
  for (int i = 0; i < in; ++i) {
    const Packet w0 = ei::ploadu<Packet>(Wp + std::size_t(i) * kPanelRows);
    const Packet w1 = ei::ploadu<Packet>(Wp + std::size_t(i) * kPanelRows + kPacket);
#pragma GCC unroll 16
    for (int j = 0; j < kTileCols; ++j) {
      const Packet h = ei::pset1<Packet>(H[std::size_t(j) * ldh + i]);
      acc[j][0] = ei::pmadd(w0, h, acc[j][0]);
      acc[j][1] = ei::pmadd(w1, h, acc[j][1]);
    }
  }
  // Rounded as (W h) + b, like the GEMM-then-bias of the unpacked path.
  const Packet b[2] = {bias ? ei::ploadu<Packet>(bias) : ei::pset1<Packet>(0.0f),
                       bias ? ei::ploadu<Packet>(bias + kPacket) : ei::pset1<Packet>(0.0f)};
#pragma GCC unroll 16
  for (int j = 0; j < kTileCols; ++j) {
#pragma GCC unroll 2
    for (int k = 0; k < 2; ++k) {
      Packet z = ei::padd(acc[j][k], b[k]);
      if constexpr (kEpilogue == Epilogue::silu) z = silu(z);
      const std::size_t at = std::size_t(j) * ldz + std::size_t(k) * kPacket;
      if (skip) z = ei::padd(z, ei::ploadu<Packet>(skip + at));
      ei::pstoreu(Z + at, z);
    }
  }
}

template <Epilogue kEpilogue>
void apply_all(const float* packed, int out, int packed_in, int in, const float* bias,
               const float* H, int ldh, int cols, float* Z, int ldz, const float* skip) {
  // Panels outside, columns inside: a panel's weights (in x kPanelRows
  // floats, 16 KB at in = 128) stay in L1 while the columns stream past.
  for (int p = 0; p < panel_rows(out); p += kPanelRows) {
    const float* Wp = packed + std::size_t(p) * packed_in;
    const float* b = bias ? bias + p : nullptr;
    for (int c = 0; c < cols; c += kTileCols) {
      const std::size_t z_at = std::size_t(c) * ldz + p;
      tile<kEpilogue>(Wp, in, b, H + std::size_t(c) * ldh, ldh, Z + z_at, ldz,
                      skip ? skip + z_at : nullptr);
    }
  }
}

}  // namespace

void pack(const float* W, int out, int in, float* packed) {
  for (int p = 0; p < panel_rows(out); p += kPanelRows)
    for (int i = 0; i < in; ++i)
      for (int r = 0; r < kPanelRows; ++r)
        *packed++ = W[std::size_t(p + r) * in + i];
}

void pack_transposed(const float* A, int rows, int k, int lda, float* packed) {
  for (int p = 0; p < panel_rows(rows); p += kPanelRows)
    for (int i = 0; i < k; ++i, packed += kPanelRows)
      std::copy_n(A + std::size_t(i) * lda + p, kPanelRows, packed);
}

void apply(const float* packed, int out, int packed_in, int in, const float* bias, const float* H,
           int ldh, int cols, float* Z, int ldz, Epilogue epilogue, const float* skip) {
  assert(cols % kTileCols == 0);  // no tail loop: a partial tile would run past H and Z
  if (epilogue == Epilogue::silu)
    apply_all<Epilogue::silu>(packed, out, packed_in, in, bias, H, ldh, cols, Z, ldz, skip);
  else
    apply_all<Epilogue::linear>(packed, out, packed_in, in, bias, H, ldh, cols, Z, ldz, skip);
}

void apply_rows(const float* W, int first, int out, int ldw, int in, const float* bias,
                const float* H, int ldh, int cols, float* Z, int ldz) {
  const int whole = in - in % kPacket;
  for (int c = 0; c < cols; ++c) {
    const float* h = H + std::size_t(c) * ldh;
    for (int o = first; o < out; ++o) {
      const float* w = W + std::size_t(o) * ldw;
      Packet acc = ei::pset1<Packet>(0.0f);
      for (int i = 0; i < whole; i += kPacket)
        acc = ei::pmadd(ei::ploadu<Packet>(w + i), ei::ploadu<Packet>(h + i), acc);
      float z = ei::predux(acc);
      for (int i = whole; i < in; ++i) z += w[i] * h[i];
      Z[std::size_t(c) * ldz + o] = z + (bias ? bias[o] : 0.0f);
    }
  }
}

}  // namespace sde::dense
