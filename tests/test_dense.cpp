// The fp32 layer kernels against a plain double evaluation of
// act(W' h + b) (+ skip), for every shape parameter the network passes: any
// input count (the time-folded first layer has 2), a packed matrix of which
// only the first columns are used (tangents of the first layer), leading
// dimensions larger than the data, no bias, residual skips, outputs outside
// the panels (the output layer, odd widths) through apply_rows. Then the
// property the network's determinism rests on: a column's result does not
// depend on where it sits among the columns or how many there are.
//
// Tolerance: each output is a sum of `in` fp32 products rounded in some
// order, so |error| <= ~in * 2^-24 * (sum |w h| + |b|); the check allows
// 4 * in * 2^-24 of that scale (SiLU adds a few ulps, well inside).
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "dense.hpp"
#include "rng.hpp"

namespace dense = sde::dense;

namespace {

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
  const int P = dense::kPanelRows, N = dense::kTileCols;
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
  for (const Shape& s : shapes) {
    CAPTURE(s.out);
    CAPTURE(s.in);
    CAPTURE(s.cols);
    REQUIRE((s.epilogue == E::linear || dense::panel_rows(s.out) == s.out));
    CHECK(worst_error(s) < 4);
  }
}

TEST_CASE("a column's result does not depend on its position or the column count") {
  // A linear layer (panels and rows), and a residual block: the fused SiLU
  // with its input as the skip (in = out), which moves with the column.
  for (const bool residual : {false, true}) {
    CAPTURE(residual);
    const int out = residual ? 2 * dense::kPanelRows : 2 * dense::kPanelRows + 2;
    const int in = residual ? out : 70, cols = 4 * dense::kTileCols;
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
    // Every column moved to every slot of a one-tile batch of copies of another column.
    for (int c = 0; c < cols; ++c) {
      for (int slot = 0; slot < dense::kTileCols; ++slot) {
        std::vector<float> h(std::size_t(in) * dense::kTileCols);
        for (int j = 0; j < dense::kTileCols; ++j)
          std::copy_n(H.begin() + std::ptrdiff_t(in) * (j == slot ? c : (c + 1) % cols), in,
                      h.begin() + std::ptrdiff_t(in) * j);
        std::vector<float> z(std::size_t(out) * dense::kTileCols);
        layer(h.data(), dense::kTileCols, z.data());
        CHECK(std::equal(z.begin() + std::ptrdiff_t(out) * slot,
                         z.begin() + std::ptrdiff_t(out) * (slot + 1), all.begin() + std::ptrdiff_t(out) * c));
      }
    }
  }
}

TEST_CASE("pack_transposed packs A^T: backward's W^T and the activations of the weight gradient") {
  // A is row-major k x rows (lda > rows); the kernel then gives Z = A^T H.
  const int rows = 2 * dense::kPanelRows, k = 37, lda = rows + 5, cols = 2 * dense::kTileCols;
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
