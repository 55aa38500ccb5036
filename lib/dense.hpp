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
// of kPanelRows outputs, every (panel, tile of columns) is one set of
// register accumulators, and SiLU runs on them.
//
// One binary, every x86-64 CPU. The kernel is compiled for several
// instruction sets (Isa) and the best one the CPU has runs, unless
// select_isa() names another. The result does not depend on which: every
// output is the same chain of fp32 FMAs over the inputs in input order, then
// + bias, then SiLU from one exp polynomial, whatever the vector width or
// tile shape. So a column's result does not depend on its position, the
// column count, the thread, or the CPU (see rounds_as_vector_kernels()).
#pragma once
#include <cstddef>
#include <utility>

namespace sde::dense {

// Outputs per packed panel: one AVX-512 register, two AVX2 ones. Fixed for
// every instruction set, so packed weights are the same bytes everywhere.
inline constexpr int kPanelRows = 16;

enum class Isa { generic, avx2, avx512 };
inline constexpr std::pair<Isa, const char*> kIsaNames[] = {
    {Isa::generic, "generic"}, {Isa::avx2, "avx2"}, {Isa::avx512, "avx512"}};

// Whether this build has the kernel for `isa`: on x86-64 every build has
// all three, whatever CPU built it.
bool in_build(Isa isa);
// Whether this build has the kernel for `isa` and this CPU can run it.
bool supported(Isa isa);
// The best supported instruction set.
Isa best_isa();
// The kernel in use: best_isa() until select_isa() picks another. Select
// before any network runs (not thread-safe against running kernels).
Isa active_isa();
// Throws sde::Error when `isa` is not supported().
void select_isa(Isa isa);
// Whether `isa` gives the bits the AVX2 and AVX-512 kernels give: they
// always agree; the generic one agrees where the build has FMA (x86-64-v3
// or native), not in a build for CPUs without it.
bool rounds_as_vector_kernels(Isa isa);

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
  linear,     // Z = W H + b
  silu,       // Z = silu(W H + b) (+ skip), rounded as sigmoid() and z * s round it
  silu_slope  // the same, and slope = silu'(W H + b) = s (1 + z (1 - s)): a taped pass
};

// Z[:, c] = epilogue(W' H[:, c] + bias) for c < cols, for the panel rows of
// out: W' is the first `in` columns of the out x packed_in matrix that pack()
// wrote (the first layer's tangents and its time-folded form use only the x
// columns). H and Z are column-major with leading dimensions ldh (>= in) and
// ldz (>= out); bias may be null (zero); skip, with leading dimension ldz, is
// added after the activation when not null (residual blocks); slope, with
// leading dimension ldz, receives silu' for Epilogue::silu_slope. Any cols.
void apply(const float* packed, int out, int packed_in, int in, const float* bias, const float* H,
           int ldh, int cols, float* Z, int ldz, Epilogue epilogue, const float* skip = nullptr,
           float* slope = nullptr);

// The same, linear, for rows [first, out) of the row-major out x ldw matrix W
// (its first `in` columns): one dot product per output and column, for the
// few rows outside the panels, summed in a fixed order. Any cols.
void apply_rows(const float* W, int first, int out, int ldw, int in, const float* bias,
                const float* H, int ldh, int cols, float* Z, int ldz);

// s[i] = 1 / (1 + exp(-z[i])) with the kernel's exp, so that the separate
// activation pass rounds as the fused epilogue does. Any n; s may be z.
void sigmoid(const float* z, float* s, std::size_t n);

}  // namespace sde::dense
