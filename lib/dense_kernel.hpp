// The kernel body of dense.hpp, written once over a vector type V and
// compiled once per instruction set: dense_generic.cpp, dense_avx2.cpp and
// dense_avx512.cpp each define their V in a namespace of their own and
// instantiate Kernel<V>. Included by those files only.
//
// Everything here is a template on V, and V's members are the instruction
// set's intrinsics: no inline function of another header is instantiated
// under an ISA's compiler flags (the linker keeps one copy of such a
// function for the whole program, and could pick the AVX-512 one for a CPU
// without AVX-512).
//
// V provides: type, lanes, tile_cols (columns per register tile), zero(),
// set(float), load/store (unaligned), broadcast(const float*), add, mul,
// sub, div, fma(a, b, c) = a b + c rounded once, min/max as minps/maxps (the
// second operand when either is NaN), floor, and pow2(m) = 2^m for an
// integral m in [-126, 127].
#pragma once
#include <cstddef>

#include "dense.hpp"

namespace sde::dense::detail {

using ApplyFn = void (*)(const float* packed, int out, int packed_in, int in, const float* bias,
                         const float* H, int ldh, int cols, float* Z, int ldz, Epilogue epilogue,
                         const float* skip, float* slope);
using SigmoidFn = void (*)(const float* z, float* s, std::size_t n);

// One instruction set's kernels.
struct Kernels {
  ApplyFn apply;
  SigmoidFn sigmoid;
};

extern const Kernels kGenericKernels;
extern const Kernels kAvx2Kernels;    // defined only where the build has them
extern const Kernels kAvx512Kernels;

template <class V>
struct Kernel {
  using P = typename V::type;
  static constexpr int kRowVectors = kPanelRows / V::lanes;
  static_assert(kRowVectors * V::lanes == kPanelRows);

  // e^x, Cephes' single-precision polynomial (as Eigen's pexp_float), for x
  // clamped to [-87, 88] so that 2^m stays a normal float: sigmoid needs no
  // more (1 / (1 + e^88) is below 2^-126 and e^-87 vanishes against 1). x
  // second in min and max, so that NaN stays NaN.
  static P exp(P x) {
    x = V::min(V::set(88.0f), V::max(V::set(-87.0f), x));
    const P m = V::floor(V::fma(x, V::set(1.44269504088896341f), V::set(0.5f)));
    P r = V::fma(m, V::set(-0.693359375f), x);
    r = V::fma(m, V::set(2.12194440e-4f), r);
    const P r2 = V::mul(r, r), r3 = V::mul(r2, r);
    P y = V::fma(V::set(1.9875691500e-4f), r, V::set(1.3981999507e-3f));
    P y1 = V::fma(V::set(4.1665795894e-2f), r, V::set(1.6666665459e-1f));
    const P y2 = V::add(r, V::set(1.0f));
    y = V::fma(y, r, V::set(8.3334519073e-3f));
    y1 = V::fma(y1, r, V::set(5.0000001201e-1f));
    y = V::fma(y, r3, y1);
    y = V::fma(y, r2, y2);
    return V::mul(y, V::pow2(m));
  }

  static P sigmoid(P z) {
    const P one = V::set(1.0f);
    return V::div(one, V::add(one, exp(V::sub(V::zero(), z))));
  }

  static void sigmoid_all(const float* z, float* s, std::size_t n) {
    std::size_t i = 0;
    for (; i + V::lanes <= n; i += V::lanes) V::store(s + i, sigmoid(V::load(z + i)));
    if (i == n) return;
    // The tail through one whole vector, so it rounds as the rest does.
    float buffer[V::lanes] = {};
    for (std::size_t k = i; k < n; ++k) buffer[k - i] = z[k];
    V::store(buffer, sigmoid(V::load(buffer)));
    for (std::size_t k = i; k < n; ++k) s[k] = buffer[k - i];
  }

  // One register tile: the kPanelRows outputs of panel Wp for N columns
  // starting at H and Z. Every loop over the tile is unrolled so that acc
  // lives in registers (at -O2 GCC would keep it in memory otherwise).
  template <int N, Epilogue kEpilogue>
  static void tile(const float* Wp, int in, const float* bias, const float* H, int ldh, float* Z,
                   int ldz, const float* skip, float* slope) {
    P acc[N][kRowVectors];
#pragma GCC unroll 16
    for (int j = 0; j < N; ++j)
#pragma GCC unroll 16
      for (int r = 0; r < kRowVectors; ++r) acc[j][r] = V::zero();
    for (int i = 0; i < in; ++i) {
      P w[kRowVectors];
#pragma GCC unroll 16
      for (int r = 0; r < kRowVectors; ++r) w[r] = V::load(Wp + std::size_t(i) * kPanelRows + r * V::lanes);
#pragma GCC unroll 16
      for (int j = 0; j < N; ++j) {
        const P h = V::broadcast(H + std::size_t(j) * ldh + i);
#pragma GCC unroll 16
        for (int r = 0; r < kRowVectors; ++r) acc[j][r] = V::fma(w[r], h, acc[j][r]);
      }
    }
    // Rounded as (W h) + b, like the GEMM-then-bias of the unfused path.
    P b[kRowVectors];
#pragma GCC unroll 16
    for (int r = 0; r < kRowVectors; ++r) b[r] = bias ? V::load(bias + r * V::lanes) : V::zero();
#pragma GCC unroll 16
    for (int j = 0; j < N; ++j) {
#pragma GCC unroll 16
      for (int r = 0; r < kRowVectors; ++r) {
        P z = V::add(acc[j][r], b[r]);
        const std::size_t at = std::size_t(j) * ldz + std::size_t(r) * V::lanes;
        if constexpr (kEpilogue == Epilogue::silu) {
          z = V::mul(z, sigmoid(z));
        } else if constexpr (kEpilogue == Epilogue::silu_slope) {
          // As the activation pass: h = z s, silu'(z) = s (1 + z (1 - s)).
          const P s = sigmoid(z), one = V::set(1.0f);
          V::store(slope + at, V::mul(s, V::add(one, V::mul(z, V::sub(one, s)))));
          z = V::mul(z, s);
        }
        if (skip) z = V::add(z, V::load(skip + at));
        V::store(Z + at, z);
      }
    }
  }

  // A tile of exactly `cols` <= N columns (a column's operations do not
  // depend on the tile's width).
  template <int N, Epilogue kEpilogue>
  static void partial_tile(int cols, const float* Wp, int in, const float* bias, const float* H,
                           int ldh, float* Z, int ldz, const float* skip, float* slope) {
    if constexpr (N > 0) {
      if (cols == N) return tile<N, kEpilogue>(Wp, in, bias, H, ldh, Z, ldz, skip, slope);
      partial_tile<N - 1, kEpilogue>(cols, Wp, in, bias, H, ldh, Z, ldz, skip, slope);
    }
  }

  template <Epilogue kEpilogue>
  static void apply_all(const float* packed, int out, int packed_in, int in, const float* bias,
                        const float* H, int ldh, int cols, float* Z, int ldz, const float* skip,
                        float* slope) {
    constexpr int T = V::tile_cols;
    // Panels outside, columns inside: a panel's weights (in x kPanelRows
    // floats, 8 KB at in = 128) stay in L1 while the columns stream past.
    for (int p = 0; p < panel_rows(out); p += kPanelRows) {
      const float* Wp = packed + std::size_t(p) * packed_in;
      const float* b = bias ? bias + p : nullptr;
      // Whole tiles, then the rest in at most two narrower ones of about
      // equal width: a narrow tile has too few accumulators to hide the FMA
      // latency (128 columns in tiles of 6 leave 2; 6 + 2 run as 4 + 4).
      const int whole = cols / T, rest = cols % T;
      const int wide = rest > 0 && rest < T / 2 && whole > 0 ? whole - 1 : whole;
      const int left = cols - wide * T;
      const int first_part = left > T ? (left + 1) / 2 : left;
      for (int c = 0; c < wide * T; c += T) {
        const std::size_t z_at = std::size_t(c) * ldz + p;
        tile<T, kEpilogue>(Wp, in, b, H + std::size_t(c) * ldh, ldh, Z + z_at, ldz,
                           skip ? skip + z_at : nullptr, slope ? slope + z_at : nullptr);
      }
      for (int c = wide * T, part = first_part; part > 0; c += part, part = cols - c) {
        const std::size_t z_at = std::size_t(c) * ldz + p;
        partial_tile<T, kEpilogue>(part, Wp, in, b, H + std::size_t(c) * ldh, ldh, Z + z_at, ldz,
                                   skip ? skip + z_at : nullptr, slope ? slope + z_at : nullptr);
      }
    }
  }

  static void apply(const float* packed, int out, int packed_in, int in, const float* bias,
                    const float* H, int ldh, int cols, float* Z, int ldz, Epilogue epilogue,
                    const float* skip, float* slope) {
    switch (epilogue) {
      case Epilogue::linear:
        return apply_all<Epilogue::linear>(packed, out, packed_in, in, bias, H, ldh, cols, Z, ldz, skip, slope);
      case Epilogue::silu:
        return apply_all<Epilogue::silu>(packed, out, packed_in, in, bias, H, ldh, cols, Z, ldz, skip, slope);
      case Epilogue::silu_slope:
        return apply_all<Epilogue::silu_slope>(packed, out, packed_in, in, bias, H, ldh, cols, Z, ldz, skip,
                                               slope);
    }
  }

  static constexpr Kernels kernels{&apply, &sigmoid_all};
};

}  // namespace sde::dense::detail
