// The fp32 kernel of the network's hidden layers: Z = W H + b over a chunk's
// columns, with the weights packed once per pass and, for inference, the
// activation applied to the accumulators before they are stored.
//
// Why not Eigen's GEMM: a hidden layer of the reference network is a
// 128 x 128 by 128 x 128 product, too small for Eigen's general blocking.
// Eigen repacks both operands on every call (the weights never change while
// sampling), runs a 48 x 4 register tile that re-reads the packed activations
// for every 48 output rows, and leaves bias and activation to separate passes
// over the 64 KB result. Here W is packed once per network pass into panels
// of kPanelRows outputs, every (panel, kTileCols columns) tile is one set of
// register accumulators initialised with the bias, and SiLU runs on them.
//
// Determinism: every column is computed by the same instructions in the same
// order (no tail loops: the caller's column count is a multiple of
// kTileCols), so a sample's result does not depend on its column, how many
// columns there are, its batch or the thread that computes it.
#pragma once
#include <Eigen/Core>
#include <cstddef>

namespace sde::dense {

using Packet = Eigen::internal::packet_traits<float>::type;
inline constexpr int kPacket = Eigen::internal::packet_traits<float>::size;
// Two packets of outputs by kTileCols columns: 16 accumulators, which leaves
// registers for the weights and the broadcast inputs (32 vector registers
// with AVX-512; with 16, half the columns).
inline constexpr int kPanelRows = 2 * kPacket;
#if defined(__AVX512F__)
inline constexpr int kTileCols = 8;
#else
inline constexpr int kTileCols = 4;
#endif

// Column counts must be multiples of this (the register tile's width).
inline constexpr int kColumnMultiple = kTileCols;

// The outputs of a layer of `out` that run in panels; the rest (the output
// layer's d, a width's remainder) run through apply_rows().
inline int panel_rows(int out) { return out - out % kPanelRows; }

// Floats taken by the packed form of the panel rows of an out x in matrix.
inline std::size_t packed_size(int out, int in) { return std::size_t(panel_rows(out)) * std::size_t(in); }

// Packs the panel rows of the row-major out x in matrix W: panel p holds,
// for every input i, the weights W[p*kPanelRows + r][i] of its kPanelRows
// outputs side by side.
void pack(const float* W, int out, int in, float* packed);

// Packs the panel rows of P = A^T, where A is a row-major k x rows matrix
// with leading dimension lda (P[r][i] = A[i * lda + r]): backward's W^T
// (A = W), and a chunk's activations as the left factor of the weight
// gradient (A = the column-major activations).
void pack_transposed(const float* A, int rows, int k, int lda, float* packed);

enum class Epilogue {
  linear,  // Z = W H + b
  silu     // Z = silu(W H + b) (+ skip), rounded as the separate activation pass rounds it
};

// Z[:, c] = epilogue(W' H[:, c] + bias) for c < cols, for the panel rows of
// out: W' is the first `in` columns of the out x packed_in matrix that pack()
// wrote (the first layer's tangents and its time-folded form use only the x
// columns). H and Z are column-major with leading dimensions ldh (>= in) and
// ldz (>= out); bias may be null (zero); skip, with leading dimension ldz, is
// added after the activation when not null (residual blocks). cols must be a
// multiple of kColumnMultiple.
void apply(const float* packed, int out, int packed_in, int in, const float* bias, const float* H,
           int ldh, int cols, float* Z, int ldz, Epilogue epilogue, const float* skip = nullptr);

// The same, linear, for rows [first, out) of the row-major out x ldw matrix W
// (its first `in` columns): one dot product per output and column, for the
// few rows outside the panels. Any cols.
void apply_rows(const float* W, int first, int out, int ldw, int in, const float* bias,
                const float* H, int ldh, int cols, float* Z, int ldz);

}  // namespace sde::dense
