// The kernel in scalar code, for CPUs without AVX2 (compiled with the
// build's own flags): 16 outputs by one column. With FMA in the build it
// rounds as the vector kernels do; without, a b + c rounds twice.
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

}  // namespace sde::dense
