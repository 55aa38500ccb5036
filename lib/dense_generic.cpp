// The kernel in scalar code, for CPUs without AVX2 (compiled with the
// build's own flags): 16 outputs by one column. With FMA in the build it
// rounds as the vector kernels do; without, a b + c rounds twice. Also
// apply_rows, which every kernel shares.
#include "dense_kernel.hpp"

namespace sde::dense {
namespace generic {

struct V {
  using type = float;
  static constexpr int lanes = 1, tile_cols = 1;
  static type zero() { return 0.0f; }
  static type set(float x) { return x; }
  static type load(const float* p) { return *p; }
  static void store(float* p, type v) { *p = v; }
  static type broadcast(const float* p) { return *p; }
  static type add(type a, type b) { return a + b; }
  static type sub(type a, type b) { return a - b; }
  static type mul(type a, type b) { return a * b; }
  static type div(type a, type b) { return a / b; }
#if defined(__FMA__)
  static type fma(type a, type b, type c) { return __builtin_fmaf(a, b, c); }
#else
  static type fma(type a, type b, type c) { return a * b + c; }
#endif
  static type min(type a, type b) { return a < b ? a : b; }  // minps: b when either is NaN
  static type max(type a, type b) { return a > b ? a : b; }
  static type floor(type a) { return __builtin_floorf(a); }
  static type pow2(type m) { return __builtin_bit_cast(float, (int(m) + 127) << 23); }
};

}  // namespace generic

const detail::Kernels detail::kGenericKernels = detail::Kernel<generic::V>::kernels;

// The rows outside the panels, whatever kernel runs: a handful of dot
// products (the output layer's d), in scalar code with the generic FMA.
void apply_rows(const float* W, int first, int out, int ldw, int in, const float* bias,
                const float* H, int ldh, int cols, float* Z, int ldz) {
  // Eight partial sums over i mod 8, added pairwise: the same order in every
  // build (the compiler may run the eight as one vector; the rounding is the
  // same), unlike a reduction over the CPU's vector width.
  constexpr int kLanes = 8;
  const int whole = in - in % kLanes;
  for (int c = 0; c < cols; ++c) {
    const float* h = H + std::size_t(c) * ldh;
    for (int o = first; o < out; ++o) {
      const float* w = W + std::size_t(o) * ldw;
      float acc[kLanes] = {};
      for (int i = 0; i < whole; i += kLanes)
        for (int k = 0; k < kLanes; ++k) acc[k] = generic::V::fma(w[i + k], h[i + k], acc[k]);
      float z = ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
      for (int i = whole; i < in; ++i) z = generic::V::fma(w[i], h[i], z);
      Z[std::size_t(c) * ldz + o] = z + (bias ? bias[o] : 0.0f);
    }
  }
}

}  // namespace sde::dense
