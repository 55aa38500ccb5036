// The fp32 layer kernels against a plain double evaluation of
// act(W' h + b) (+ skip), for every shape parameter the network passes: any
// input count (the time-folded first layer has 2), a packed matrix of which
// only the first columns are used (tangents of the first layer), leading
// dimensions larger than the data, no bias, residual skips, outputs outside
// the panels (the output layer, odd widths) through apply_rows. Then the
// property the network's determinism rests on: a column's result does not
// depend on where it sits among the columns or how many there are, nor on
// the instruction set that computes it. Each case runs under every
// instruction set this build and CPU can run.
//
// Tolerance: each output is a sum of `in` fp32 products rounded in some
// order, so |error| <= ~in * 2^-24 * (sum |w h| + |b|); the check allows
// 4 * in * 2^-24 of that scale (SiLU adds a few ulps, well inside).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "dense.hpp"
#include "error.hpp"
#include "rng.hpp"

namespace dense = sde::dense;

namespace {

// Runs body under every instruction set this build and CPU can run, then
// restores the best one.
template <class Body>
void for_each_isa(Body body) {
  for (const auto& [isa, name] : dense::kIsaNames) {
    if (!dense::supported(isa)) continue;
    CAPTURE(name);
    dense::select_isa(isa);
    body();
  }
  dense::select_isa(dense::best_isa());
}

std::vector<float> normals(std::size_t n, std::uint64_t seed) {
  sde::Stream rng(seed, sde::Purpose::noise, 0);
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>(rng.normal());
  return v;
}

struct Shape {
  int out, packed_in, in, ldh, cols;
  bool bias, skip;
  dense::Epilogue epilogue;
};

// The largest |kernel - exact| over the scale bound above, for one shape.
double worst_error(const Shape& s) {
  const int ldz = s.out + 3;  // a leading dimension larger than out
  const std::vector<float> W = normals(std::size_t(s.out) * s.packed_in, 1);
  const std::vector<float> b = normals(std::size_t(s.out), 2);
  const std::vector<float> H = normals(std::size_t(s.ldh) * s.cols, 3);
  const std::vector<float> skip = normals(std::size_t(ldz) * s.cols, 4);
  std::vector<float> packed(dense::packed_size(s.out, s.packed_in));
  dense::pack(W.data(), s.out, s.packed_in, packed.data());
  std::vector<float> Z(std::size_t(ldz) * s.cols, -7.0f);
  const float* bias = s.bias ? b.data() : nullptr;
  dense::apply(packed.data(), s.out, s.packed_in, s.in, bias, H.data(), s.ldh, s.cols, Z.data(), ldz,
               s.epilogue, s.skip ? skip.data() : nullptr);
  dense::apply_rows(W.data(), dense::panel_rows(s.out), s.out, s.packed_in, s.in, bias, H.data(),
                    s.ldh, s.cols, Z.data(), ldz);
  double worst = 0;
  for (int c = 0; c < s.cols; ++c) {
    for (int o = 0; o < s.out; ++o) {
      double z = s.bias ? b[o] : 0, scale = std::abs(z);
      for (int i = 0; i < s.in; ++i) {
        const double p = double(W[std::size_t(o) * s.packed_in + i]) * H[std::size_t(c) * s.ldh + i];
        z += p;
        scale += std::abs(p);
      }
      if (s.epilogue == dense::Epilogue::silu) z = z / (1 + std::exp(-z));
      const std::size_t at = std::size_t(c) * ldz + o;
      if (s.skip) z += skip[at];
      worst = std::max(worst, std::abs(Z[at] - z) / ((scale + 1) * s.in * 0x1p-24));
    }
    for (int o = s.out; o < ldz; ++o)  // rows past out are not written
      if (Z[std::size_t(c) * ldz + o] != -7.0f) return 1e9;
  }
  return worst;
}

}  // namespace

TEST_CASE("the kernel computes act(W h + b) (+ skip) for every shape the network uses") {
  // N odd and prime to every tile width: whole tiles and a partial one.
  const int P = dense::kPanelRows, N = 7;
  using E = dense::Epilogue;
  const Shape shapes[] = {
      {4 * P, 128, 128, 128, 16 * N, true, false, E::linear},  // a hidden layer's GEMM
      {4 * P, 128, 128, 128, 16 * N, true, false, E::silu},    // ... fused with SiLU
      {4 * P, 128, 128, 128, 2 * N, true, true, E::silu},      // a residual block
      {P, 66, 66, 66, N, true, false, E::silu},                // first layer, per-row times
      {2 * P, 66, 2, 66, 3 * N, true, false, E::silu},         // first layer, time folded in b
      {2 * P, 66, 2, 2, 3 * N, false, false, E::linear},       // first layer's tangents
      {P, 5, 1, 7, N, false, false, E::linear},                // one input
      {3 * P, 300, 300, 301, N, true, false, E::linear},       // wide input
      {2, 128, 128, 128, 16 * N, true, false, E::linear},      // the output layer (d = 2)
      {7, 37, 37, 40, 5, true, false, E::linear},              // rows only, odd sizes
      {P + 3, 66, 2, 66, 2 * N, true, false, E::linear},       // a panel and 3 rows
  };
  for_each_isa([&] {
    for (const Shape& s : shapes) {
      CAPTURE(s.out);
      CAPTURE(s.in);
      CAPTURE(s.cols);
      REQUIRE((s.epilogue == E::linear || dense::panel_rows(s.out) == s.out));
      CHECK(worst_error(s) < 4);
    }
  });
}

TEST_CASE("a column's result does not depend on its position or the column count") {
  // A linear layer (panels and rows), and a residual block: the fused SiLU
  // with its input as the skip (in = out), which moves with the column.
  for_each_isa([] {
  for (const bool residual : {false, true}) {
    CAPTURE(residual);
    const int out = residual ? 2 * dense::kPanelRows : 2 * dense::kPanelRows + 2;
    const int in = residual ? out : 70, cols = 29, batch = 13;  // whole and partial tiles
    const std::vector<float> W = normals(std::size_t(out) * in, 5), b = normals(out, 6),
                             H = normals(std::size_t(in) * cols, 7);
    std::vector<float> packed(dense::packed_size(out, in));
    dense::pack(W.data(), out, in, packed.data());
    auto layer = [&](const float* h, int n, float* z) {
      if (residual) {
        dense::apply(packed.data(), out, in, in, b.data(), h, in, n, z, out, dense::Epilogue::silu, h);
        return;
      }
      dense::apply(packed.data(), out, in, in, b.data(), h, in, n, z, out, dense::Epilogue::linear);
      dense::apply_rows(W.data(), dense::panel_rows(out), out, in, in, b.data(), h, in, n, z, out);
    };
    std::vector<float> all(std::size_t(out) * cols);
    layer(H.data(), cols, all.data());
    // Every column moved to every slot of a batch of copies of another column.
    for (int c = 0; c < cols; ++c) {
      for (int slot = 0; slot < batch; ++slot) {
        std::vector<float> h(std::size_t(in) * batch);
        for (int j = 0; j < batch; ++j)
          std::copy_n(H.begin() + std::ptrdiff_t(in) * (j == slot ? c : (c + 1) % cols), in,
                      h.begin() + std::ptrdiff_t(in) * j);
        std::vector<float> z(std::size_t(out) * batch);
        layer(h.data(), batch, z.data());
        CHECK(std::equal(z.begin() + std::ptrdiff_t(out) * slot,
                         z.begin() + std::ptrdiff_t(out) * (slot + 1), all.begin() + std::ptrdiff_t(out) * c));
      }
    }
  }
});
}

TEST_CASE("pack_transposed packs A^T: backward's W^T and the activations of the weight gradient") {
  // A is row-major k x rows (lda > rows); the kernel then gives Z = A^T H.
  const int rows = 2 * dense::kPanelRows, k = 37, lda = rows + 5, cols = 17;
  const std::vector<float> A = normals(std::size_t(k) * lda, 8), H = normals(std::size_t(k) * cols, 9);
  std::vector<float> packed(dense::packed_size(rows, k)), Z(std::size_t(rows) * cols);
  dense::pack_transposed(A.data(), rows, k, lda, packed.data());
  dense::apply(packed.data(), rows, k, k, nullptr, H.data(), k, cols, Z.data(), rows, dense::Epilogue::linear);
  double worst = 0;
  for (int c = 0; c < cols; ++c)
    for (int r = 0; r < rows; ++r) {
      double z = 0, scale = 0;
      for (int i = 0; i < k; ++i) {
        const double p = double(A[std::size_t(i) * lda + r]) * H[std::size_t(c) * k + i];
        z += p;
        scale += std::abs(p);
      }
      worst = std::max(worst, std::abs(Z[std::size_t(c) * rows + r] - z) / ((scale + 1) * k * 0x1p-24));
    }
  CHECK(worst < 4);  // the bound of the first test case
}

// The promise of one binary: a model trained or a sample drawn on an AVX2
// CPU equals the one from an AVX-512 CPU. Each kernel entry point on the
// same inputs gives the same bytes under every instruction set here (on an
// AVX2-only CPU this compares generic with AVX2; see also test_net).
TEST_CASE("every instruction set computes the same bits") {
  const int out = 3 * dense::kPanelRows, in = 131, cols = 41;
  const std::vector<float> W = normals(std::size_t(out) * in, 11), b = normals(out, 12),
                           H = normals(std::size_t(in) * cols, 13);
  std::vector<float> packed(dense::packed_size(out, in));
  dense::pack(W.data(), out, in, packed.data());
  // Sigmoid inputs: normals at several scales, both clamps, infinities, NaN.
  std::vector<float> z = normals(1003, 14);
  for (std::size_t i = 0; i < z.size(); ++i) z[i] *= float(1 << (i % 8));
  for (float special : {0.0f, -0.0f, 87.0f, -87.0f, 88.5f, -88.5f, 1e30f, -1e30f,
                        std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()})
    z.push_back(special);
  struct Result {
    std::vector<float> linear, silu, s;
  };
  std::vector<Result> results;  // of the kernels that round alike
  for_each_isa([&] {
    if (!dense::rounds_as_vector_kernels(dense::active_isa())) return;
    Result r{std::vector<float>(std::size_t(out) * cols), std::vector<float>(std::size_t(out) * cols),
             std::vector<float>(z.size())};
    dense::apply(packed.data(), out, in, in, b.data(), H.data(), in, cols, r.linear.data(), out,
                 dense::Epilogue::linear);
    dense::apply(packed.data(), out, in, in, b.data(), H.data(), in, cols, r.silu.data(), out,
                 dense::Epilogue::silu);
    dense::sigmoid(z.data(), r.s.data(), z.size());
    results.push_back(std::move(r));
  });
  REQUIRE(!results.empty());
  for (const Result& r : results) {
    CHECK(r.linear == results[0].linear);
    CHECK(r.silu == results[0].silu);
    CHECK(std::memcmp(r.s.data(), results[0].s.data(), z.size() * sizeof(float)) == 0);
  }
}

// The exp polynomial's error is the Cephes one, ~2 ulp of exp over the
// range; 1 / (1 + e) adds two roundings: 8 ulp (of the result, 2^-23
// relative) is a margin that still catches a wrong constant, which costs
// 1e-4 or more. Beyond the clamps: exactly 1 for large z, ~0 for very
// negative z, NaN stays NaN.
TEST_CASE("sigmoid is 1 / (1 + e^-z) to a few ulp, saturating cleanly") {
  for_each_isa([] {
    std::vector<float> z;
    for (float v = -90.0f; v <= 90.0f; v += 0.0137f) z.push_back(v);
    std::vector<float> s(z.size());
    dense::sigmoid(z.data(), s.data(), z.size());
    double worst = 0;
    for (std::size_t i = 0; i < z.size(); ++i) {
      const double exact = 1 / (1 + std::exp(-double(z[i])));
      if (z[i] > -86) worst = std::max(worst, std::abs(s[i] - exact) / exact / 0x1p-23);
      CHECK(s[i] >= 0.0f);
      CHECK(s[i] <= 1.0f);
    }
    CHECK(worst < 8);
    const float special[] = {100.0f, -100.0f, std::numeric_limits<float>::infinity(),
                             -std::numeric_limits<float>::infinity(), std::nanf("")};
    float got[5];
    dense::sigmoid(special, got, 5);
    CHECK(got[0] == 1.0f);
    CHECK(got[1] < 1e-37f);
    CHECK(got[2] == 1.0f);
    CHECK(got[3] < 1e-37f);
    CHECK(std::isnan(got[4]));
  });
}

TEST_CASE("instruction sets: the best is supported, an unsupported one is refused") {
#if defined(__x86_64__)
  // Built on any x86-64 machine (an AVX2-only one too), the binary carries
  // the AVX-512 kernel for the nodes that have it.
  CHECK(dense::in_build(dense::Isa::avx2));
  CHECK(dense::in_build(dense::Isa::avx512));
#endif
  CHECK(dense::supported(dense::Isa::generic));
  CHECK(dense::supported(dense::best_isa()));
  CHECK(dense::active_isa() == dense::best_isa());
  for (const auto& [isa, name] : dense::kIsaNames) {
    CAPTURE(name);
    if (dense::supported(isa))
      CHECK_NOTHROW(dense::select_isa(isa));
    else
      CHECK_THROWS_AS(dense::select_isa(isa), sde::Error);
  }
  dense::select_isa(dense::best_isa());
}

// The fused epilogues round as the separate activation pass of net.cpp does
// (the linear kernel, sigmoid(), then h = z s (+ skip) and silu'(z) =
// s (1 + z (1 - s)) in plain fp32), so a taped pass and inference give
// the same bits, fused or not.
TEST_CASE("the fused SiLU epilogues equal the linear kernel then the activation pass") {
  for_each_isa([] {
    const int out = 2 * dense::kPanelRows, in = out, cols = 19;
    const std::vector<float> W = normals(std::size_t(out) * in, 21), b = normals(out, 22),
                             H = normals(std::size_t(in) * cols, 23), skip = normals(std::size_t(out) * cols, 24);
    std::vector<float> packed(dense::packed_size(out, in));
    dense::pack(W.data(), out, in, packed.data());
    const std::size_t n = std::size_t(out) * cols;
    std::vector<float> z(n), s(n), silu(n), fused(n), slope(n);
    dense::apply(packed.data(), out, in, in, b.data(), H.data(), in, cols, z.data(), out, dense::Epilogue::linear);
    dense::sigmoid(z.data(), s.data(), n);
    dense::apply(packed.data(), out, in, in, b.data(), H.data(), in, cols, silu.data(), out,
                 dense::Epilogue::silu, skip.data());
    dense::apply(packed.data(), out, in, in, b.data(), H.data(), in, cols, fused.data(), out,
                 dense::Epilogue::silu_slope, skip.data(), slope.data());
    int differing = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const float h = z[i] * s[i] + skip[i], derivative = s[i] * (1.0f + z[i] * (1.0f - s[i]));
      differing += silu[i] != h || fused[i] != h || slope[i] != derivative;
    }
    CHECK(differing == 0);
  });
}
