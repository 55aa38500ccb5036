// The kernel for AVX2 + FMA (x86-64-v3): 16 outputs in two ymm registers by
// 6 columns, 12 accumulators of the 16 registers. Compiled with -mavx2 -mfma
// whatever the build's target (lib/CMakeLists.txt).
#include <immintrin.h>

#include "dense_kernel.hpp"

namespace sde::dense {
namespace avx2 {

struct V {
  using type = __m256;
  static constexpr int lanes = 8, tile_cols = 6;
  static type zero() { return _mm256_setzero_ps(); }
  static type set(float x) { return _mm256_set1_ps(x); }
  static type load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, type v) { _mm256_storeu_ps(p, v); }
  static type broadcast(const float* p) { return _mm256_broadcast_ss(p); }
  static type add(type a, type b) { return _mm256_add_ps(a, b); }
  static type sub(type a, type b) { return _mm256_sub_ps(a, b); }
  static type mul(type a, type b) { return _mm256_mul_ps(a, b); }
  static type div(type a, type b) { return _mm256_div_ps(a, b); }
  static type fma(type a, type b, type c) { return _mm256_fmadd_ps(a, b, c); }
  static type min(type a, type b) { return _mm256_min_ps(a, b); }
  static type max(type a, type b) { return _mm256_max_ps(a, b); }
  static type floor(type a) { return _mm256_floor_ps(a); }
  static type pow2(type m) {
    const __m256i e = _mm256_add_epi32(_mm256_cvttps_epi32(m), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
  }
};

}  // namespace avx2

const detail::Kernels detail::kAvx2Kernels = detail::Kernel<avx2::V>::kernels;

}  // namespace sde::dense
