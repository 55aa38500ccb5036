#include "dense.hpp"

#include <cassert>
#include <cstring>
#include <fmt/format.h>

#include "dense_kernel.hpp"
#include "enum_names.hpp"
#include "error.hpp"

namespace sde::dense {

namespace {

const detail::Kernels* kernels_of(Isa isa) {
  switch (isa) {
    case Isa::generic: return &detail::kGenericKernels;
#if defined(SDE_AVX2_KERNEL)
    case Isa::avx2: return &detail::kAvx2Kernels;
#endif
#if defined(SDE_AVX512_KERNEL)
    case Isa::avx512: return &detail::kAvx512Kernels;
#endif
    default: return nullptr;
  }
}

bool cpu_has(Isa isa) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  switch (isa) {
    case Isa::generic: return true;
    case Isa::avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::avx512:  // what -march=x86-64-v4 lets the compiler use
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512cd");
  }
  return false;
#else
  return isa == Isa::generic;
#endif
}

struct Selection {
  Isa isa;
  const detail::Kernels* kernels;
};

Selection& selection() {
  static Selection s{best_isa(), kernels_of(best_isa())};
  return s;
}

}  // namespace

bool in_build(Isa isa) { return kernels_of(isa) != nullptr; }

bool supported(Isa isa) { return in_build(isa) && cpu_has(isa); }

Isa best_isa() {
  for (Isa isa : {Isa::avx512, Isa::avx2})
    if (supported(isa)) return isa;
  return Isa::generic;
}

Isa active_isa() { return selection().isa; }

void select_isa(Isa isa) {
  if (!supported(isa))
    throw Error(fmt::format("the {} kernel cannot run here ({})", name_of(kIsaNames, isa),
                            in_build(isa) ? "this CPU lacks it" : "not in this build"));
  selection() = {isa, kernels_of(isa)};
}

bool rounds_as_vector_kernels([[maybe_unused]] Isa isa) {
#if defined(__FMA__)
  return true;  // dense_generic.cpp is compiled with these flags: its fma is one
#else
  return isa != Isa::generic;
#endif
}

void pack(const float* W, int out, int in, float* packed) {
  for (int p = 0; p < panel_rows(out); p += kPanelRows)
    for (int i = 0; i < in; ++i)
      for (int r = 0; r < kPanelRows; ++r)
        *packed++ = W[std::size_t(p + r) * in + i];
}

void pack_transposed(const float* A, int rows, int k, int lda, float* packed) {
  // memcpy of a constant 64 bytes, which the compiler inlines as two vector
  // moves (std::copy_n became a memmove call per panel row: 5% of training).
  for (int p = 0; p < panel_rows(rows); p += kPanelRows)
    for (int i = 0; i < k; ++i, packed += kPanelRows)
      std::memcpy(packed, A + std::size_t(i) * lda + p, sizeof(float) * kPanelRows);
}

void apply(const float* packed, int out, int packed_in, int in, const float* bias, const float* H,
           int ldh, int cols, float* Z, int ldz, Epilogue epilogue, const float* skip, float* slope) {
  selection().kernels->apply(packed, out, packed_in, in, bias, H, ldh, cols, Z, ldz, epilogue, skip, slope);
}

void sigmoid(const float* z, float* s, std::size_t n) { selection().kernels->sigmoid(z, s, n); }

}  // namespace sde::dense
