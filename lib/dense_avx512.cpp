// The kernel for AVX-512 (x86-64-v4): 16 outputs in one zmm register by 12
// columns, each FMA taking its column's input as an embedded broadcast.
// Compiled with -march=x86-64-v4 flags whatever the build's target
// (lib/CMakeLists.txt); runs only where the CPU has AVX-512F.
#include <immintrin.h>

#include "dense_kernel.hpp"

namespace sde::dense {
namespace avx512 {

struct V {
  using type = __m512;
  static constexpr int lanes = 16, tile_cols = 12;
  static type zero() { return _mm512_setzero_ps(); }
  static type set(float x) { return _mm512_set1_ps(x); }
  static type load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, type v) { _mm512_storeu_ps(p, v); }
  static type broadcast(const float* p) { return _mm512_set1_ps(*p); }
  static type add(type a, type b) { return _mm512_add_ps(a, b); }
  static type sub(type a, type b) { return _mm512_sub_ps(a, b); }
  static type mul(type a, type b) { return _mm512_mul_ps(a, b); }
  static type div(type a, type b) { return _mm512_div_ps(a, b); }
  static type fma(type a, type b, type c) { return _mm512_fmadd_ps(a, b, c); }
  static type min(type a, type b) { return _mm512_min_ps(a, b); }
  static type max(type a, type b) { return _mm512_max_ps(a, b); }
  static type floor(type a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC); }
  static type pow2(type m) {
    const __m512i e = _mm512_add_epi32(_mm512_cvttps_epi32(m), _mm512_set1_epi32(127));
    return _mm512_castsi512_ps(_mm512_slli_epi32(e, 23));
  }
};

}  // namespace avx512

const detail::Kernels detail::kAvx512Kernels = detail::Kernel<avx512::V>::kernels;

}  // namespace sde::dense
